"""The recent frames' values every test reads, computed once per frame and kept for a bounded
number of frames (memory flat in the video's length)."""
from __future__ import annotations

import functools
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

TINY_WIDTH = 64  # the frames blends and returns are compared on: cheap, and blind to noise


def standardised(image: np.ndarray):
    """(The image with zero mean and about unit spread, its standard deviation); the spread's
    guard keeps noise in flat frames from being blown up."""
    mean, std = cv2.meanStdDev(image)
    gain = 1.0 / (std[0, 0] + 4.0)
    scaled = cv2.addWeighted(image, gain, image, 0.0, -mean[0, 0] * gain, dtype=cv2.CV_32F)
    return scaled, float(std[0, 0])


def spread_residual(warped: np.ndarray, warped_stats, previous: np.ndarray,
                    previous_stats) -> float:
    """The median over a 4x4 grid of the mean residual in each cell between the two frames,
    each standardised by its (mean, standard deviation): a cut changes the whole picture, an
    object that jumps (or a fixture's square wrapping round) a few cells. One weighted
    difference does both standardisations (a pass at the analysis size, not three)."""
    (warped_mean, warped_std), (previous_mean, previous_std) = warped_stats, previous_stats
    warped_gain, previous_gain = 1.0 / (warped_std + 4.0), 1.0 / (previous_std + 4.0)
    difference = cv2.addWeighted(warped, warped_gain, previous, -previous_gain,
                                 previous_mean * previous_gain - warped_mean * warped_gain,
                                 dtype=cv2.CV_32F)
    rows, columns = cell_weights(*difference.shape)
    cells = rows @ np.abs(difference, out=difference) @ columns
    ordered = sorted(cells.ravel().tolist())
    return (ordered[7] + ordered[8]) / 2  # the median of 16


@functools.lru_cache(maxsize=4)
def cell_weights(height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
    """The 4x4 cells' means as two small products (rows @ image @ columns): the weights of
    OpenCV's area resize, which takes its slow general path where a side is not a multiple of
    4 (90 rows: 36 us a frame against 3)."""
    return _area_weights(height, 4), _area_weights(width, 4).T.copy()


def _area_weights(size: int, cells: int) -> np.ndarray:
    """(cells, size): each cell's share of every pixel, a cell spanning size / cells pixels."""
    span = size / cells
    edges = np.arange(cells + 1) * span
    pixels = np.arange(size)
    overlap = np.minimum(pixels[None, :] + 1, edges[1:, None]) - np.maximum(pixels[None, :],
                                                                            edges[:-1, None])
    return (np.clip(overlap, 0, None) / span).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two frames' pixels; 0 where one is flat (it has none)."""
    if float(a.std()) == 0.0 or float(b.std()) == 0.0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def mean_std(image: np.ndarray):
    mean, std = cv2.meanStdDev(image)
    return float(mean[0, 0]), float(std[0, 0])


class FrameHistory:
    """Per frame, for the last `keep` frames: the tiny image (TINY_WIDTH wide, flattened), the
    same standardised, its standard deviation, the plain step from the frame before (0..1), the
    flow-compensated standardised residual (0 on flat frames, where it means nothing), and the
    analysis pass's own two signals: the flow's mean magnitude (`motion`, analysis pixels) and
    the cut distance the scene-cut filter judges pairs by (`change`, transforms/motion.py)."""

    def __init__(self, keep: int, blank_std: float, correlate_from: float = float("inf")):
        self.keep = keep
        self.width = TINY_WIDTH
        self.gray_width = 0  # the analysis frames' width, which motion is measured in
        self.count = 0
        self.tiny: Dict[int, np.ndarray] = {}
        self.standard: Dict[int, np.ndarray] = {}
        self.residual: Dict[int, float] = {}
        self.step: Dict[int, float] = {}
        self.std: Dict[int, float] = {}
        self.coarse: Dict[int, np.ndarray] = {}  # the tiny image shrunk 4x: what blends fit on
        self.motion: Dict[int, float] = {}
        self.change: Dict[int, float] = {}
        self.first = 0  # the oldest frame still kept
        self._blank_std = blank_std
        self._previous = None  # (the last small frame, its mean and standard deviation)
        # Frames whose cut distance reaches `correlate_from` also get the correlation of their
        # detail with the frame before (at the analysis size, moved back by the flow): rare,
        # and only the cut test reads it.
        self._correlate_from = correlate_from
        self.detail_correlation: Dict[int, float] = {}

    def add(self, gray: np.ndarray, warped: Optional[np.ndarray], motion: float = 0.0,
            change: float = 0.0) -> int:
        """Frame `count` (its small grey image, the same frame warped onto the previous one,
        None for the first, and its motion and cut distance); its index."""
        index = self.count
        self.motion[index], self.change[index] = motion, change
        self.gray_width = gray.shape[1]
        self.count += 1
        height = max(2, int(round(gray.shape[0] * TINY_WIDTH / gray.shape[1])))
        tiny = cv2.resize(gray, (TINY_WIDTH, height), interpolation=cv2.INTER_AREA)
        tiny = tiny.astype(np.float32).ravel()
        standard, std = standardised(tiny)
        self.tiny[index], self.std[index], self.standard[index] = tiny, std, standard
        self.coarse[index] = cv2.resize(tiny.reshape(-1, TINY_WIDTH),
                                        (TINY_WIDTH // 4, max(1, height // 4)),
                                        interpolation=cv2.INTER_AREA)
        current = (gray, mean_std(gray))
        previous = index - 1
        if warped is None or previous not in self.tiny:
            self.residual[index] = self.step[index] = 0.0
        else:
            self.step[index] = float(cv2.norm(tiny, self.tiny[previous], cv2.NORM_L1)
                                     / tiny.size / 255.0)
            flat = std < self._blank_std or self.std[previous] < self._blank_std
            self.residual[index] = 0.0 if flat else spread_residual(
                warped, mean_std(warped), *self._previous)
            if change >= self._correlate_from:
                self.detail_correlation[index] = correlation(
                    warped.astype(np.float32).ravel(), self._previous[0].astype(np.float32).ravel())
        self._previous = current
        return index

    def forget(self, index: int) -> None:
        self.first = max(self.first, index + 1)
        for store in (self.tiny, self.standard, self.coarse, self.residual, self.step,
                      self.std, self.motion, self.change, self.detail_correlation):
            store.pop(index, None)
