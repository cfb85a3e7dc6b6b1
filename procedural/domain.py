"""The procedural dynamics domain: random scenes, random actions on them, and actions in progress.

Pure: every draw comes from the numpy Generator passed in, so the same seed gives the same scenes
and actions. The scene, action and grammar types are re-exported here as the domain's one face.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from procedural.actions import (CLASSES, DIRECTIONS, KINDS, Action, action_class, action_text,
                                inverse, inverse_text, vocabulary)
from procedural.render import render
from procedural.scene import (BACKGROUND_STYLES, COLOURS, PALETTE, SHAPES, Background, Object,
                              MARGIN, Scene, inside, overlaps)
from procedural.visibility import keeps_pair, keeps_scene

__all__ = ["Action", "Background", "CLASSES", "COLOURS", "KINDS", "Object", "PALETTE", "SHAPES",
           "Scene", "action_class", "action_text", "apply", "distinct_actions", "inverse",
           "inverse_text", "random_action", "random_episode", "random_scene", "visible",
           "vocabulary"]

OBJECT_COUNT = (2, 4)  # objects in a scene, before and after any action
RADIUS = (0.10, 0.15)  # at the 64 px model input an object is still 13 px or more across
MOVE_DISTANCE = (0.25, 0.45)
# Measured to give about half moves and a sixth each of the rest: add and remove are possible in
# only two scenes of three (by object count) and more often too faint to keep, so they are drawn
# more often than recolour, which every scene allows.
KIND_WEIGHTS = {"move": 0.43, "add": 0.24, "remove": 0.21, "recolour": 0.12}
TRIES = 40  # draws of one kind of action before trying another kind
CHECK_SIZE = 128  # actions are checked at this render size, so the draw does not depend on size
# Positions, sizes and distances sit on a grid of 1/GRID of the side (finer than any pixel): sums
# of such numbers are exact in floating point, so an action followed by its inverse gives back
# exactly the scene it started from.
GRID = 1024


def random_scene(rng: np.random.Generator) -> Scene:
    """2-4 non-overlapping objects, no two of the same shape and colour, on a background sharp
    and bright enough for the pipeline's blurry and dark filters."""
    while True:
        scene = Scene(_random_background(rng), _random_objects(rng))
        if keeps_scene(_check_render(scene)):
            return scene


def random_action(scene: Scene, rng: np.random.Generator) -> Optional[Action]:
    """A valid action the pipeline's filters will keep; None when the scene allows none."""
    kinds = [kind for kind in KINDS if _possible(kind, scene)]
    while kinds:
        weights = np.asarray([KIND_WEIGHTS[kind] for kind in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        for action in _CANDIDATES[kind](scene, rng):
            if visible(scene, action):
                return action
        kinds.remove(kind)
    return None


def random_episode(rng: np.random.Generator) -> Tuple[Scene, Action]:
    """A scene and an action on it, drawing a new scene when one allows no action."""
    while True:
        scene = random_scene(rng)
        action = random_action(scene, rng)
        if action is not None:
            return scene, action


def distinct_actions(scene: Scene, rng: np.random.Generator, count: int,
                     exclude: Sequence[str] = ()) -> List[Action]:
    """Up to `count` random actions whose texts differ from each other and from `exclude`; fewer
    only on a scene that allows fewer."""
    texts, actions = set(exclude), []
    for _ in range(TRIES * count):
        action = random_action(scene, rng)
        if action is not None and action_text(action) not in texts:
            texts.add(action_text(action))
            actions.append(action)
            if len(actions) == count:
                break
    return actions


def apply(scene: Scene, action: Action, progress: float) -> Scene:
    """The scene `progress` (0..1) of the way through the action: moves interpolate the position,
    adds and removes fade the opacity, recolours blend the colour, so frames change smoothly."""
    progress = float(np.clip(progress, 0.0, 1.0))
    objects = list(scene.objects)
    target = action.target
    if action.kind == "add":
        if progress > 0:
            objects.insert(action.index, dataclasses.replace(target, opacity=progress))
        return dataclasses.replace(scene, objects=tuple(objects))
    if objects[action.index] != target:
        raise ValueError(f"{action_text(action)!r}: object {action.index} is not its target")
    if action.kind == "move":
        step_x, step_y = DIRECTIONS[action.direction]
        travel = action.distance * progress
        objects[action.index] = dataclasses.replace(target, x=target.x + step_x * travel,
                                                    y=target.y + step_y * travel)
    elif action.kind == "remove":
        if progress >= 1:
            del objects[action.index]
        else:
            objects[action.index] = dataclasses.replace(target, opacity=1.0 - progress)
    elif action.kind == "recolour":
        if progress >= 1:
            objects[action.index] = dataclasses.replace(target, colour=action.new_colour)
        elif progress > 0:
            objects[action.index] = dataclasses.replace(target, blend_to=action.new_colour,
                                                        blend=progress)
    else:
        raise ValueError(f"unknown action kind {action.kind!r}")
    return dataclasses.replace(scene, objects=tuple(objects))


def visible(scene: Scene, action: Action) -> bool:
    """Whether the pipeline's default filters keep the rendered before/after pair, with a margin:
    mostly whether it changes enough (small objects in a colour close to the background's do
    not), now and then whether a large recolour reads as a scene cut."""
    return keeps_pair(_check_render(scene), render(apply(scene, action, 1.0), CHECK_SIZE))


@functools.lru_cache(maxsize=4)
def _check_render(scene: Scene) -> np.ndarray:
    """The before image, rendered once for the several actions tried on one scene."""
    image = render(scene, CHECK_SIZE)
    image.flags.writeable = False
    return image


def _random_background(rng: np.random.Generator) -> Background:
    return Background(
        style=BACKGROUND_STYLES[int(rng.integers(len(BACKGROUND_STYLES)))],
        tone=_dark_tone(rng), tone2=_dark_tone(rng),
        period=float(rng.uniform(0.06, 0.14)), vertical=bool(rng.integers(2)),
        seed=int(rng.integers(2 ** 31)))


def _random_objects(rng: np.random.Generator) -> Tuple[Object, ...]:
    count = int(rng.integers(OBJECT_COUNT[0], OBJECT_COUNT[1] + 1))
    while True:
        objects: List[Object] = []
        for _ in range(TRIES * count):
            candidate = _random_object(rng, {obj.name for obj in objects})
            if not any(overlaps(candidate, obj) for obj in objects):
                objects.append(candidate)
                if len(objects) == count:
                    return tuple(objects)


def _dark_tone(rng: np.random.Generator) -> Tuple[int, int, int]:
    """A mid-dark, muted colour: a grey level with a small tint, so every palette colour and its
    saturation stand out against it."""
    grey = rng.uniform(30, 60)
    tint = rng.uniform(-18, 18, 3)
    return tuple(int(round(v)) for v in np.clip(grey + tint - tint.mean(), 0, 255))


def _random_object(rng: np.random.Generator, taken) -> Object:
    names = [(shape, colour) for shape in SHAPES for colour in COLOURS
             if (shape, colour) not in taken]
    shape, colour = names[int(rng.integers(len(names)))]
    radius = _on_grid(rng, *RADIUS)
    low, high = radius + MARGIN, 1.0 - radius - MARGIN
    return Object(shape, colour, _on_grid(rng, low, high), _on_grid(rng, low, high), radius)


def _on_grid(rng: np.random.Generator, low: float, high: float) -> float:
    """Uniform over the multiples of 1/GRID in [low, high]."""
    return int(rng.integers(np.ceil(low * GRID), np.floor(high * GRID) + 1)) / GRID


def _possible(kind: str, scene: Scene) -> bool:
    count = len(scene.objects)
    if kind == "add":
        return count < OBJECT_COUNT[1]
    if kind == "remove":
        return count > OBJECT_COUNT[0]
    return True


def _moves(scene: Scene, rng: np.random.Generator) -> Iterator[Action]:
    for _ in range(TRIES):
        index = int(rng.integers(len(scene.objects)))
        target = scene.objects[index]
        direction = list(DIRECTIONS)[int(rng.integers(len(DIRECTIONS)))]
        action = Action("move", index, target, direction=direction,
                        distance=_on_grid(rng, *MOVE_DISTANCE))
        end = apply(scene, action, 1.0).objects[index]
        # The whole path stays clear, so the target never passes over a distractor mid-video.
        others = scene.objects[:index] + scene.objects[index + 1:]
        if inside(end) and not any(_crosses(target, end, obj) for obj in others):
            yield action


def _crosses(start: Object, end: Object, obj: Object) -> bool:
    """Whether the box `start` sweeps on its way to `end` comes within MARGIN of `obj`."""
    reach = start.radius + obj.radius + MARGIN
    return (abs(obj.x - (start.x + end.x) / 2) < reach + abs(end.x - start.x) / 2 and
            abs(obj.y - (start.y + end.y) / 2) < reach + abs(end.y - start.y) / 2)


def _adds(scene: Scene, rng: np.random.Generator) -> Iterator[Action]:
    for _ in range(TRIES):
        target = _random_object(rng, set(scene.names()))
        if not any(overlaps(target, obj) for obj in scene.objects):
            yield Action("add", int(rng.integers(len(scene.objects) + 1)), target)


def _removes(scene: Scene, rng: np.random.Generator) -> Iterator[Action]:
    """Every possible removal, in random order (there are few: no need to draw)."""
    actions = [Action("remove", index, obj) for index, obj in enumerate(scene.objects)]
    for position in rng.permutation(len(actions)):
        yield actions[position]


def _recolours(scene: Scene, rng: np.random.Generator) -> Iterator[Action]:
    """Every possible recolour, in random order; none makes a second object of the same name."""
    taken = set(scene.names())
    actions = [Action("recolour", index, obj, new_colour=colour)
               for index, obj in enumerate(scene.objects) for colour in COLOURS
               if colour != obj.colour and (obj.shape, colour) not in taken]
    for position in rng.permutation(len(actions)):
        yield actions[position]


_CANDIDATES: Dict[str, Callable[[Scene, np.random.Generator], Iterator[Action]]] = {
    "move": _moves, "add": _adds, "remove": _removes, "recolour": _recolours}
