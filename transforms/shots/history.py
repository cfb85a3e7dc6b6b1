"""The recent frames' values every test reads, computed once per frame and kept for a bounded
number of frames (memory flat in the video's length)."""
from __future__ import annotations

from typing import Dict, Optional

import cv2
import numpy as np

TINY_WIDTH = 64  # the frames blends and returns are compared on: cheap, and blind to noise


def standardised(image: np.ndarray):
    """(The image with zero mean and about unit spread, its standard deviation); the spread's
    guard keeps noise in flat frames from being blown up."""
    mean, std = cv2.meanStdDev(image)
    scaled = (image.astype(np.float32) - np.float32(mean[0, 0])) / np.float32(std[0, 0] + 4.0)
    return scaled, float(std[0, 0])


def spread_residual(warped: np.ndarray, previous: np.ndarray) -> float:
    """The median over a 4x4 grid of the mean residual in each cell: a cut changes the whole
    picture, an object that jumps (or a fixture's square wrapping round) a few cells."""
    cells = cv2.resize(cv2.absdiff(warped, previous), (4, 4), interpolation=cv2.INTER_AREA)
    return float(np.median(cells))


class FrameHistory:
    """Per frame, for the last `keep` frames: the tiny image (TINY_WIDTH wide, flattened), the
    same standardised, its standard deviation, the plain step from the frame before (0..1) and
    the flow-compensated standardised residual (0 on flat frames, where it means nothing)."""

    def __init__(self, keep: int, blank_std: float):
        self.keep = keep
        self.width = TINY_WIDTH
        self.count = 0
        self.tiny: Dict[int, np.ndarray] = {}
        self.standard: Dict[int, np.ndarray] = {}
        self.residual: Dict[int, float] = {}
        self.step: Dict[int, float] = {}
        self.std: Dict[int, float] = {}
        self.ring: Optional[np.ndarray] = None  # the tiny frames as rows, for many windows at once
        self.standard_ring: Optional[np.ndarray] = None
        self._blank_std = blank_std
        self._previous_z: Optional[np.ndarray] = None  # the last small frame, standardised

    def add(self, gray: np.ndarray, warped: Optional[np.ndarray]) -> int:
        """Frame `count` (its small grey image, and the same frame warped onto the previous
        one, None for the first); its index."""
        index = self.count
        self.count += 1
        height = max(2, int(round(gray.shape[0] * TINY_WIDTH / gray.shape[1])))
        tiny = cv2.resize(gray, (TINY_WIDTH, height), interpolation=cv2.INTER_AREA)
        tiny = tiny.astype(np.float32).ravel()
        standard, std = standardised(tiny)
        self.tiny[index], self.std[index], self.standard[index] = tiny, std, standard
        if self.ring is None:
            self.ring = np.zeros((self.keep, tiny.size), np.float32)
            self.standard_ring = np.zeros_like(self.ring)
        self.ring[index % self.keep] = tiny
        self.standard_ring[index % self.keep] = standard
        current_z = standardised(gray)[0]
        previous = index - 1
        if warped is None or previous not in self.tiny:
            self.residual[index] = self.step[index] = 0.0
        else:
            self.step[index] = float(cv2.norm(tiny, self.tiny[previous], cv2.NORM_L1)
                                     / tiny.size / 255.0)
            flat = std < self._blank_std or self.std[previous] < self._blank_std
            self.residual[index] = 0.0 if flat else spread_residual(
                standardised(warped)[0], self._previous_z)
        self._previous_z = current_z
        return index

    def forget(self, index: int) -> None:
        for store in (self.tiny, self.standard, self.residual, self.step, self.std):
            store.pop(index, None)
