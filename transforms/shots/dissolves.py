"""Dissolves: a window whose inner frames are, pixel for pixel, the blends of its two ends in
proportion (a pan or zoom leaves a double image, far from the frame in between), whose ends
differ after standardisation (a gain ramp does not) over much of the picture (an object fading
in or out blends one region only) and where no single step holds most of the change (a cut)."""
from __future__ import annotations

from typing import Optional, Tuple

import cv2
import numpy as np

from transforms.shots.config import ShotConfig
from transforms.shots.history import FrameHistory, correlation
from transforms.shots.transitions import Candidate

# Grey levels by which a coarse cell must change to count towards a dissolve's area.
AREA_CHANGE_LEVELS = 8.0
EVERY = 2  # windows are tried ending at every other frame: a blend spans many
# Ends correlated at least this much are one picture whose light changed (a lamp brought up,
# an exposure ramp), not two shots: the ends of true dissolves here correlate below 0.2.
SAME_PICTURE = 0.9
# A window none of whose frames moved the analysis pass's cut distance this far holds no
# dissolve: a blend of two different pictures moves the histogram, frame after frame, further
# (on the edit benchmark every dissolve has frames at 0.035 or more). Quiet windows, most of any
# video, skip the tests.
QUIET_CHANGE = 0.02


def window_lengths(config: ShotConfig, fps: float) -> Tuple[int, int, int]:
    """(Shortest, longest, step) of the windows tried, in frames."""
    shortest = max(3, int(round(config.min_dissolve_seconds * fps)))
    longest = max(shortest + 1, int(round(config.max_dissolve_seconds * fps)))
    return shortest, longest, max(1, int(round(fps / 12.5)))


class DissolveFinder:
    """Tries the windows ending at a frame, and stretches a decided blend to its whole span."""

    def __init__(self, history: FrameHistory, config: ShotConfig, fps: float):
        self._history, self._config = history, config
        self.min_len, self.max_len, len_step = window_lengths(config, fps)
        self._lengths = range(self.min_len, self.max_len + 1, len_step)
        self._length_bonus = 0.05 / fps  # per frame: 0.05 of misfit per second of blend
        self._loud, self._followed = -1, -1  # see _follow_loud

    def at(self, end: int) -> Optional[Candidate]:
        """The best window (end - length, end) whose inner frames blend its ends, if any. The
        cheap tests (one norm each) run first on every window length, the blend itself only
        where they pass."""
        history = self._history
        self._follow_loud(end)
        lengths = [length for length in self._lengths if end - length >= history.first]
        if end < history.first or not lengths:
            return None
        if self._loud < end - lengths[-1] + 1:
            return None
        tinies, standard, step = history.tiny, history.standard, history.step
        b = tinies[end]
        if _mean_difference(tinies[end - lengths[0]], b) < 0.02 * 255 and \
                _mean_difference(tinies[end - lengths[-1]], b) < 0.04 * 255:
            return None  # hardly anything changed over the shortest and the longest window
        # Frames before the window are compared only while the history still holds them.
        remembered = max(0, history.count - history.keep)
        best, most, counted = None, 0.0, 0
        for length in lengths:
            while counted < length:  # the largest step inside the window
                most, counted = max(most, step[end - counted]), counted + 1
            start = end - length
            a = tinies[start]
            far = _mean_difference(a, b) / 255.0
            if far < 0.04 or most > 0.4 * far:
                continue
            if _mean_difference(standard[start], standard[end]) < self._config.dissolve_min_change:
                continue
            # Changing as fast over as long a time before the window: camera or subject motion.
            earlier = start - length
            if earlier >= remembered and far < 1.4 * _mean_difference(a, tinies[earlier]) / 255.0:
                continue
            fit = self._blend_fit(start, end, length, a, b)
            if fit is None:
                continue
            # Any stretch of a blend is a blend too: of those that fit, the longer is the whole.
            rank = fit - self._length_bonus * length
            if best is None or rank < best.rank:
                best = Candidate(start + 1, end - 1, "dissolve", rank)
        return best

    def _follow_loud(self, end: int) -> None:
        """Keeps the last frame up to `end` whose cut distance reached QUIET_CHANGE."""
        change = self._history.change
        for index in range(self._followed + 1, end + 1):
            if change.get(index, 0.0) >= QUIET_CHANGE:
                self._loud = index
        self._followed = max(self._followed, end)

    def _blend_fit(self, start: int, end: int, length: int, a: np.ndarray,
                   b: np.ndarray) -> Optional[float]:
        """How far the inner frames are from blends of the ends (below dissolve_blend: a
        blend), or None where the window is not a dissolve for another reason."""
        history, config = self._history, self._config
        coarse_a, coarse_b = history.coarse[start], history.coarse[end]
        if float((np.abs(coarse_a - coarse_b) > AREA_CHANGE_LEVELS).mean()) < \
                config.dissolve_min_area:
            return None  # a blend of a region only: an object fading in or out
        misfit = 0.0
        for share in (0.25, 0.5, 0.75):
            inner = history.coarse[start + int(round(share * length))]
            misfit += float(np.abs(inner - ((1 - share) * coarse_a + share * coarse_b)).mean())
        fit = misfit / 3 / 255.0 / max(float(np.abs(coarse_a - coarse_b).mean()) / 255.0, 1e-6)
        if fit >= config.dissolve_blend:
            return None
        middle = history.tiny[start + length // 2]
        if _edges(middle, history.width) < 0.7 * _edges((a + b) / 2, history.width):
            return None  # blurred, not blended: a whip pan
        if same_picture(a, b):
            return None
        return fit

    def whole_blend(self, first: int, last: int, floor: int) -> Tuple[int, int]:
        """A blend's span reaches on either side while the picture keeps changing at the pace
        it changed inside (the window that fitted best may be only the blend's middle), never
        back before `floor`."""
        step = self._history.step
        inside = [step[i] for i in range(first, last + 2) if i in step]
        if not inside:
            return first, last
        pace = float(np.median(inside))
        # At most as far again as the window itself: past the blend a moving shot keeps a
        # pace of its own.
        limit = min(self.max_len - (last - first + 1), last - first + 1)
        while limit > 0 and step.get(last + 2, 0.0) >= 0.7 * pace and last + 3 in step:
            last, limit = last + 1, limit - 1
        while limit > 0 and step.get(first, 0.0) >= 0.7 * pace and first - 1 >= floor \
                and first - 1 in step:
            first, limit = first - 1, limit - 1
        return first, last


def same_picture(a: np.ndarray, b: np.ndarray) -> bool:
    """The two tiny frames are one picture, brighter or darker or with more contrast."""
    return correlation(a, b) > SAME_PICTURE


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return cv2.norm(a, b, cv2.NORM_L1) / a.size


def _edges(tiny: np.ndarray, width: int) -> float:
    image = tiny.reshape(-1, width)
    return float(np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean())
