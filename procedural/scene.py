"""What a procedural scene is made of: 2D shapes in six colours on a textured background.

Positions and sizes are fractions of the (square) image side, so one scene renders at any size.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

RGB = Tuple[int, int, int]

SHAPES = ("circle", "square", "triangle")

# Grey levels (cv2 RGB2GRAY) 64, 101, 136, 173, 211, 255, at least 35 apart: the pipeline scores
# change in grey levels, so a recolour must move them. Saturated, to stand out from the muted
# backgrounds even where a background's grey level is close.
PALETTE: Dict[str, RGB] = {
    "blue": (20, 50, 255),
    "red": (255, 35, 35),
    "purple": (190, 85, 255),
    "green": (70, 245, 70),
    "yellow": (255, 230, 0),
    "white": (255, 255, 255),
}
COLOURS = tuple(PALETTE)

BACKGROUND_STYLES = ("plain", "gradient", "blotches", "stripes")

MARGIN = 0.02  # objects keep this far from the frame's edge and from each other


@dataclasses.dataclass(frozen=True)
class Object:
    shape: str
    colour: str
    x: float  # centre, from the left
    y: float  # centre, from the top
    radius: float  # half the side of the bounding square (a circle's radius)
    opacity: float = 1.0  # below 1 while fading in or out
    blend_to: Optional[str] = None  # a recolour in progress: the colour it is turning into
    blend: float = 0.0  # how far it has turned, 0..1

    @property
    def name(self) -> Tuple[str, str]:
        return self.shape, self.colour


@dataclasses.dataclass(frozen=True)
class Background:
    style: str
    tone: RGB  # the mid-dark base colour
    tone2: RGB  # a gradient's far end, the second stripe colour, the blotches' other colour
    period: float  # stripe period or blotch size
    vertical: bool  # a gradient or the stripes change from top to bottom (else left to right)
    seed: int  # texture and grain; rendering is deterministic given the seed and the size


@dataclasses.dataclass(frozen=True)
class Scene:
    background: Background
    objects: Tuple[Object, ...]

    def names(self) -> Tuple[Tuple[str, str], ...]:
        return tuple(obj.name for obj in self.objects)


def overlaps(a: Object, b: Object, gap: float = MARGIN) -> bool:
    """Bounding squares closer than `gap`: conservative for circles and triangles, on purpose."""
    reach = a.radius + b.radius + gap
    return abs(a.x - b.x) < reach and abs(a.y - b.y) < reach


def inside(obj: Object) -> bool:
    low, high = obj.radius + MARGIN, 1.0 - obj.radius - MARGIN
    return low <= obj.x <= high and low <= obj.y <= high
