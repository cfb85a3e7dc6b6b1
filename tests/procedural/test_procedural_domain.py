"""Scenes and actions: seeded, valid, and kept by the pipeline's default filters."""
import collections
import dataclasses
import itertools

import cv2
import numpy as np
import pytest

from procedural import domain, visibility
from procedural.actions import DIRECTIONS, action_class
from procedural.domain import apply, random_action, random_episode, random_scene
from procedural.render import render
from procedural.scene import PALETTE, inside, overlaps
from schemas.records import PairScores
from transforms.filter import FilterConfig, check
from transforms.motion import FrameSignals
from transforms.scores import measure


@pytest.fixture(scope="module")
def episodes():
    return [random_episode(np.random.default_rng([5, i])) for i in range(150)]


def test_same_seed_same_draws_other_seed_other_draws():
    first = [random_episode(np.random.default_rng(seed)) for seed in (1, 2, 1)]
    assert first[0] == first[2] and first[0] != first[1]


def _check_layout(scene):
    assert domain.OBJECT_COUNT[0] <= len(scene.objects) <= domain.OBJECT_COUNT[1]
    names = scene.names()
    assert len(set(names)) == len(names)  # so the target is unique, whatever it is
    assert all(inside(obj) for obj in scene.objects)
    assert not any(overlaps(a, b) for a, b in itertools.combinations(scene.objects, 2))
    assert all(domain.RADIUS[0] <= obj.radius <= domain.RADIUS[1] for obj in scene.objects)


def test_scenes_before_and_after_are_valid(episodes):
    for scene, action in episodes:
        after = apply(scene, action, 1.0)
        _check_layout(scene)
        _check_layout(after)
        if action.kind == "add":
            assert action.target.name not in scene.names() and action.target in after.objects
        elif action.kind == "remove":
            assert action.target in scene.objects and action.target.name not in after.names()
        elif action.kind == "recolour":
            assert action.new_colour != action.target.colour
            assert (action.target.shape, action.new_colour) in after.names()


def test_moves_go_the_stated_way_and_far_enough(episodes):
    for scene, action in episodes:
        if action.kind != "move":
            continue
        start, end = action.target, apply(scene, action, 1.0).objects[action.index]
        step_x, step_y = DIRECTIONS[action.direction]
        travel = (end.x - start.x) * step_x + (end.y - start.y) * step_y
        assert domain.MOVE_DISTANCE[0] <= travel <= domain.MOVE_DISTANCE[1]
        assert (end.x - start.x) * step_y == 0 and (end.y - start.y) * step_x == 0


def test_every_pair_passes_the_default_filters_with_margin(episodes):
    for scene, action in episodes:
        before = render(scene, domain.CHECK_SIZE)
        after = render(apply(scene, action, 1.0), domain.CHECK_SIZE)
        assert visibility.change(before, after) >= 0.012, action
        assert visibility.keeps_scene(before) and visibility.keeps_scene(after)


def test_kinds_are_roughly_balanced(episodes):
    kinds = collections.Counter(action_class(action).split("_")[0] for _, action in episodes)
    assert 0.35 <= kinds["move"] / len(episodes) <= 0.65
    for kind in ("add", "remove", "recolour"):
        assert 0.07 <= kinds[kind] / len(episodes) <= 0.3, kinds


def test_apply_interpolates():
    scene = random_scene(np.random.default_rng(3))
    index, target = 0, scene.objects[0]
    move = domain.Action("move", index, target, direction="down", distance=0.25)
    assert apply(scene, move, 0.5).objects[index].y == pytest.approx(target.y + 0.125)
    assert apply(scene, move, 0.0) == scene
    fade = apply(scene, domain.Action("remove", index, target), 0.25).objects[index]
    assert fade.opacity == pytest.approx(0.75)
    new = dataclasses.replace(target, x=0.5, y=0.5, shape="circle", colour="white")
    assert apply(scene, domain.Action("add", 1, new), 0.0) == scene
    assert apply(scene, domain.Action("add", 1, new), 0.4).objects[1].opacity == pytest.approx(0.4)
    colour = next(c for c in PALETTE if c != target.colour)
    blend = apply(scene, domain.Action("recolour", index, target, new_colour=colour), 0.3)
    assert (blend.objects[index].blend_to, blend.objects[index].blend) == (colour, 0.3)
    with pytest.raises(ValueError):
        apply(scene, domain.Action("remove", index, new), 0.5)  # not the object at that index


def test_actions_never_fail_to_come_on_ordinary_scenes():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        assert random_action(random_scene(rng), rng) is not None


def test_palette_grey_levels_are_far_apart_and_objects_big_enough_at_64px():
    greys = sorted(int(cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2GRAY)[0, 0])
                   for rgb in PALETTE.values())
    assert min(b - a for a, b in zip(greys, greys[1:])) >= 35
    assert 2 * domain.RADIUS[0] * 64 >= 10


def test_visibility_scores_are_the_pipelines():
    rng = np.random.default_rng(0)
    before, after = (rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(2))
    flat = FrameSignals(np.zeros(2, np.float32), np.zeros(2, np.float32))
    assert visibility.change(before, after) == measure(before, after, flat, 0, 1).change
    # A pair just inside every margin passes the default filters.
    edge = PairScores(motion=0.0, change=visibility.MIN_CHANGE, cut=0.0,
                      sharpness=visibility.MIN_SHARPNESS, brightness=visibility.MIN_BRIGHTNESS)
    assert check(edge, FilterConfig()) is None
    assert check(dataclasses.replace(edge, change=visibility.MAX_CHANGE), FilterConfig()) is None
