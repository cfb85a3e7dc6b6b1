"""Scenes to RGB images: a textured background, then each object alpha-blended on top.

Pure and deterministic: the same scene at the same size gives the same pixels.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from procedural.scene import PALETTE, Background, Object, Scene

# Backgrounds stay quiet (no bright clutter): a tiny model trained on scenes with bright grey
# clouds behind the objects learned nothing from the images in 1,000 steps, on quiet ones it did.
GRAIN = 6.0  # per-pixel grey noise (standard deviation): fine structure for the blur filter
# Objects are lit from above: the fill darkens from top to bottom. A flat fill puts the whole
# object in one grey-histogram bin; shaded, it spreads over many bins the background also fills.
SHADE_TOP, SHADE_BOTTOM = 1.0, 0.4


def render(scene: Scene, size: int) -> np.ndarray:
    """(size, size, 3) uint8 RGB."""
    image = _background(scene.background, size).copy()
    for obj in scene.objects:
        _draw(image, obj, size)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=32)
def _background(background: Background, size: int) -> np.ndarray:
    """Float RGB, read-only: cached, as every frame of a video shares it."""
    rng = np.random.default_rng(background.seed)
    tone = np.asarray(background.tone, np.float32)
    tone2 = np.asarray(background.tone2, np.float32)
    base = tone + _pattern(background, size, rng)[..., None] * (tone2 - tone)
    grain = rng.normal(0.0, GRAIN, (size, size)).astype(np.float32)
    image = np.clip(base + grain[..., None], 0, 255)
    image.flags.writeable = False
    return image


def _pattern(background: Background, size: int, rng: np.random.Generator) -> np.ndarray:
    """How much of tone2 (0..1) each pixel of the style's base takes."""
    ramp = (np.arange(size, dtype=np.float32) + 0.5) / size
    along = np.broadcast_to(ramp[:, None] if background.vertical else ramp[None, :], (size, size))
    if background.style == "plain":
        return np.zeros((size, size), np.float32)
    if background.style == "gradient":
        return along
    if background.style == "stripes":
        return (np.floor(along / background.period) % 2).astype(np.float32)
    if background.style == "blotches":
        cells = max(2, round(1 / background.period))
        return cv2.GaussianBlur(_blotches(rng, size, cells), (0, 0), size / cells / 3)
    raise ValueError(f"unknown background style {background.style!r}")


def _blotches(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Values 0..1 in sharp square cells, as synthetic_inputs/videos.py:texture makes them."""
    small = rng.random((cells, cells)).astype(np.float32)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_NEAREST)


def _signed_distance(obj: Object, xs: np.ndarray, ys: np.ndarray, size: int) -> np.ndarray:
    """Pixel-unit distance to the shape's edge, negative inside."""
    cx, cy, r = obj.x * size, obj.y * size, obj.radius * size
    dx, dy = xs - cx, ys - cy
    if obj.shape == "circle":
        return np.hypot(dx, dy) - r
    if obj.shape == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) - r
    if obj.shape == "triangle":  # apex up, base along the bounding square's bottom
        slant = (2 * np.abs(dx) - dy - r) / np.sqrt(5.0)  # the two sides, by symmetry
        return np.maximum(dy - r, slant)
    raise ValueError(f"unknown shape {obj.shape!r}")


def _colour(obj: Object) -> np.ndarray:
    colour = np.asarray(PALETTE[obj.colour], np.float32)
    if obj.blend_to is None:
        return colour
    return colour + obj.blend * (np.asarray(PALETTE[obj.blend_to], np.float32) - colour)


def _draw(image: np.ndarray, obj: Object, size: int) -> None:
    if obj.opacity <= 0:
        return
    reach = obj.radius * size + 1.5
    x0, x1 = max(0, int(obj.x * size - reach)), min(size, int(np.ceil(obj.x * size + reach)))
    y0, y1 = max(0, int(obj.y * size - reach)), min(size, int(np.ceil(obj.y * size + reach)))
    if x0 >= x1 or y0 >= y1:
        return
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    # One pixel of antialiasing: coverage falls from 1 to 0 across the edge.
    alpha = np.clip(0.5 - _signed_distance(obj, xs, ys, size), 0.0, 1.0) * obj.opacity
    top, height = (obj.y - obj.radius) * size, 2 * obj.radius * size
    shade = SHADE_TOP + (SHADE_BOTTOM - SHADE_TOP) * np.clip((ys - top) / height, 0, 1)
    fill = _colour(obj) * shade[..., None]
    patch = image[y0:y1, x0:x1]
    patch += alpha[..., None] * (fill - patch)
