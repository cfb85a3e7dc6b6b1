"""Per-frame signals from small grey frames: optical-flow magnitude and scene-cut distance.

Heavy numerical code lives here, apart from the Beam orchestration in decode.py.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterable, Optional

import cv2
import numpy as np

HIST_BINS = 32


@dataclasses.dataclass(frozen=True)
class FrameSignals:
    """One value per frame; frame 0 has no predecessor and scores 0 on both."""
    motion: np.ndarray  # mean optical-flow magnitude from the previous frame, small-frame pixels
    cut: np.ndarray  # max of flow residual and grey-histogram distance to the previous frame, 0..1

    @property
    def num_frames(self) -> int:
        return len(self.motion)

    def max_cut(self, first: int, last: int) -> float:
        """Largest cut distance between consecutive frames inside (first, last]."""
        if last <= first:
            return 0.0
        return float(self.cut[first + 1:last + 1].max())


def _histogram(gray: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([gray], [0], None, [HIST_BINS], [0, 256])
    return hist / max(float(hist.sum()), 1.0)


@functools.lru_cache(maxsize=4)
def _pixel_grid(height: int, width: int) -> np.ndarray:
    """(height, width, 2) pixel coordinates; made once per frame size, not once per frame."""
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    grid = np.stack([grid_x, grid_y], axis=2)
    grid.flags.writeable = False
    return grid


def _warp(current: np.ndarray, field: np.ndarray) -> np.ndarray:
    """`current` moved back onto the previous frame by the flow `field` between them."""
    coordinates = field + _pixel_grid(*current.shape)  # one (h, w, 2) map: one remap pass
    return cv2.remap(current, coordinates, None, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def _residual(previous: np.ndarray, warped: np.ndarray) -> float:
    """How badly the flow explains the change (0..1): small for motion, large for a cut."""
    return float(cv2.absdiff(previous, warped).mean() / 255.0)


class Analysis:
    """The signals of small grey frames added one at a time, keeping only the previous frame.
    A shot detector, when given, sees every frame with the flow's warp already done, and the
    frame's motion and cut distance."""

    def __init__(self, detector=None):
        self.detector = detector
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self._motion, self._cut = [], []
        self._previous = self._previous_hist = None

    @property
    def num_frames(self) -> int:
        return len(self._motion)

    def add(self, gray: np.ndarray) -> float:
        """Analyses the next frame; its motion."""
        hist = _histogram(gray)
        warped = None
        if self._previous is None:
            self._motion.append(0.0)
            self._cut.append(0.0)
        else:
            field = self._flow.calc(self._previous, gray, None)
            warped = _warp(gray, field)
            self._motion.append(float(cv2.magnitude(field[..., 0], field[..., 1]).mean()))
            self._cut.append(max(
                float(cv2.compareHist(self._previous_hist, hist, cv2.HISTCMP_BHATTACHARYYA)),
                _residual(self._previous, warped)))
        if self.detector is not None:
            self.detector.push(gray, warped, self._motion[-1], self._cut[-1])
        self._previous, self._previous_hist = gray, hist
        return self._motion[-1]

    def motion_at(self, index: int) -> float:
        return self._motion[index]

    def cut_at(self, index: int) -> float:
        return self._cut[index]

    def signals(self, first: int = 0, last: Optional[int] = None) -> FrameSignals:
        """The signals of frames first..last (both included; all of them by default)."""
        end = len(self._motion) if last is None else last + 1
        return FrameSignals(np.asarray(self._motion[first:end], np.float32),
                            np.asarray(self._cut[first:end], np.float32))


def analyse(frames: Iterable[np.ndarray],
            on_frame: Optional[Callable[[int, float], None]] = None) -> FrameSignals:
    """Stream small grey frames once, keeping only the previous frame in memory.

    `on_frame(index, motion)` is called as each frame's motion is known, before the next frame
    is read (the caller can hold on to the decoded picture behind it)."""
    analysis = Analysis()
    for gray in frames:
        motion = analysis.add(gray)
        if on_frame is not None:
            on_frame(analysis.num_frames - 1, motion)
    return analysis.signals()


def analysis_size(width: int, height: int, target_width: int) -> tuple:
    """Small-frame size with the source's aspect ratio, even sides (what scalers expect)."""
    target_width = min(target_width, width)
    target_height = max(2, int(round(height * target_width / width / 2)) * 2)
    return max(2, target_width // 2 * 2), target_height
