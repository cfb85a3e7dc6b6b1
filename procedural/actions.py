"""Actions on a scene's target object, their text and their inverses.

The grammar (lower case, no period):
    move the {colour} {shape} {left|right|up|down}
    add a {colour} {shape}
    remove the {colour} {shape}
    make the {colour} {shape} {new colour}
"""
from __future__ import annotations

import dataclasses
import re
from typing import List, Optional

from procedural.scene import COLOURS, SHAPES, Object

KINDS = ("move", "add", "remove", "recolour")
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up"}
# Everything an action's class can be, e.g. for counting a dataset by kind.
CLASSES = tuple(f"move_{direction}" for direction in DIRECTIONS) + KINDS[1:]


@dataclasses.dataclass(frozen=True)
class Action:
    kind: str
    index: int  # the target's position in the scene's objects (where an add inserts it)
    target: Object  # as it is before the action; for an add, the object that appears
    direction: Optional[str] = None  # move
    distance: float = 0.0  # move: how far, a fraction of the image side
    new_colour: Optional[str] = None  # recolour


def action_text(action: Action) -> str:
    target = f"{action.target.colour} {action.target.shape}"
    if action.kind == "move":
        return f"move the {target} {action.direction}"
    if action.kind == "add":
        return f"add a {target}"
    if action.kind == "remove":
        return f"remove the {target}"
    if action.kind == "recolour":
        return f"make the {target} {action.new_colour}"
    raise ValueError(f"unknown action kind {action.kind!r}")


def action_class(action: Action) -> str:
    """move_left .. move_down, add, remove or recolour."""
    return f"move_{action.direction}" if action.kind == "move" else action.kind


def inverse(action: Action) -> Action:
    """The action that undoes `action`, stated on the scene `action` leaves behind."""
    target = action.target
    if action.kind == "move":
        step_x, step_y = DIRECTIONS[action.direction]
        moved = dataclasses.replace(target, x=target.x + step_x * action.distance,
                                    y=target.y + step_y * action.distance)
        return dataclasses.replace(action, target=moved, direction=OPPOSITE[action.direction])
    if action.kind in ("add", "remove"):
        return dataclasses.replace(action, kind="remove" if action.kind == "add" else "add")
    if action.kind == "recolour":
        return dataclasses.replace(action, target=dataclasses.replace(
            target, colour=action.new_colour), new_colour=target.colour)
    raise ValueError(f"unknown action kind {action.kind!r}")


_COLOUR = "|".join(COLOURS)
_SHAPE = "|".join(SHAPES)
_PATTERNS = {
    "move": re.compile(rf"move the ({_COLOUR}) ({_SHAPE}) ({'|'.join(DIRECTIONS)})"),
    "add": re.compile(rf"add a ({_COLOUR}) ({_SHAPE})"),
    "remove": re.compile(rf"remove the ({_COLOUR}) ({_SHAPE})"),
    "recolour": re.compile(rf"make the ({_COLOUR}) ({_SHAPE}) ({_COLOUR})"),
}


def inverse_text(text: str) -> Optional[str]:
    """The inverse of an action given as text; None for text outside the grammar."""
    for kind, pattern in _PATTERNS.items():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        colour, shape = match.group(1), match.group(2)
        if kind == "move":
            return f"move the {colour} {shape} {OPPOSITE[match.group(3)]}"
        if kind == "add":
            return f"remove the {colour} {shape}"
        if kind == "remove":
            return f"add a {colour} {shape}"
        new_colour = match.group(3)
        return f"make the {new_colour} {shape} {colour}" if new_colour != colour else None
    return None


def vocabulary() -> List[str]:
    """Every action text that can occur, e.g. for training a tokenizer."""
    texts = []
    for colour in COLOURS:
        for shape in SHAPES:
            texts += [f"move the {colour} {shape} {direction}" for direction in DIRECTIONS]
            texts += [f"add a {colour} {shape}", f"remove the {colour} {shape}"]
            texts += [f"make the {colour} {shape} {new}" for new in COLOURS if new != colour]
    return texts
