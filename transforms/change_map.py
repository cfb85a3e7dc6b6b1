"""Change maps: how much each image patch changes between before and after, on a fixed grid.

The paper weights each image token of the FDP loss by this; storing it per triple
(KEY.change.npy, float16, grid x grid, 0..1) saves trainers from recomputing it.
"""
from __future__ import annotations

import io

import cv2
import numpy as np


def change_map(before: np.ndarray, after: np.ndarray, grid: int = 16) -> np.ndarray:
    """Mean absolute RGB difference per patch, 0..1. The after image is resized onto the before
    image first, so pairs whose images differ in size are compared aligned."""
    height, width = before.shape[:2]
    if after.shape[:2] != (height, width):
        after = cv2.resize(after, (width, height), interpolation=cv2.INTER_AREA)
    difference = cv2.absdiff(before, after).astype(np.float32)
    # INTER_AREA averages every pixel of a patch into one cell: exact patch means. Averaging the
    # channels after that, on grid x grid cells, is the same mean at a quarter of the cost.
    cells = cv2.resize(difference, (grid, grid), interpolation=cv2.INTER_AREA)
    return (cells.mean(axis=2) / 255.0).astype(np.float16)


def to_npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)
