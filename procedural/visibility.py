"""Whether the pipeline's default filters (transforms/filter.py) keep a rendered pair, with margin.

Scored as the pipeline scores an AURORA pair (transforms/image_pairs.py): the change as
transforms.scores.measure computes it. Sharpness and brightness belong to the background, so they
are checked once per scene. The scene-cut filter is not checked (see keeps_pair).
"""
from __future__ import annotations

import cv2
import numpy as np

from transforms import scores

MIN_CHANGE = 0.012  # static: < 0.01; the margin absorbs video compression noise
MAX_CHANGE = 0.4  # too_different: > 0.5
MIN_SHARPNESS = 20.0  # blurry: < 10
MIN_BRIGHTNESS = 0.1  # dark: < 0.06


def _gray(rgb: np.ndarray, width: int) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    height = max(1, round(gray.shape[0] * width / gray.shape[1]))
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


def change(before: np.ndarray, after: np.ndarray) -> float:
    """Mean absolute grey-level difference, 0..1, exactly as transforms.scores.measure has it."""
    gray_before = _gray(before, scores.SHARPNESS_WIDTH)
    gray_after = _gray(after, scores.SHARPNESS_WIDTH)
    return float(np.abs(gray_before.astype(np.int16) - gray_after).mean() / 255.0)


def keeps_scene(image: np.ndarray) -> bool:
    gray = _gray(image, scores.SHARPNESS_WIDTH)
    return (scores.sharpness(gray) >= MIN_SHARPNESS
            and gray.mean() / 255.0 >= MIN_BRIGHTNESS)


def keeps_pair(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the pair changes enough. Not whether it reads as a scene cut: an image pair is two
    pictures, not consecutive frames, and a bright object appearing on a quiet background moves
    the grey histogram like a cut does; build image pairs with --max-cut 1.0. In the videos the
    change is spread over many frames and each step stays far below the cut threshold."""
    return MIN_CHANGE <= change(before, after) <= MAX_CHANGE
