"""Dissolves between moving shots: when both shots move, no frame inside is a blend of the
window's two ends (each end has moved on), so the blend test (dissolves.py) misses them. What
such a dissolve still shows is a run of frames whose cut distance (the analysis pass's own:
histogram and flow residual, what the scene-cut filter judges pairs by) stands well above the
frames on either side, for as long as a dissolve lasts, while the motion does not rise (a whip
pan or a fast zoom raises both), while the flow cannot explain the pictures (the standardised
residual rises: a light slowly brought up raises the histogram's change, and the plain residual
with it, but each frame standardised is the one before moved), between pictures that differ
over much of the frame. Twin comparison (Zhang, Kankanhalli and Smoliar, 1993) finds gradual
transitions the same way, from a run of frame differences above a low threshold."""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from transforms.shots.config import ShotConfig
from transforms.shots.dissolves import AREA_CHANGE_LEVELS, same_picture
from transforms.shots.history import FrameHistory
from transforms.shots.transitions import Candidate

RUN_FLOOR = 0.035  # cut distance at or above which a frame belongs to a run
RUN_RISE = 2.5  # a run's median cut distance over the larger median either side of it
MOTION_RISE = 4.0  # a run's median motion over the larger median either side, at most
RESIDUAL_RISE = 2.0  # a run's median standardised residual over the smaller median either side
BEFORE_FRAMES = 15  # frames before a run that its baseline is taken over
RANK = 1.0  # behind any blend that fits (their rank is below dissolve_blend)


class DriftFinder:
    """Follows runs of raised cut distance; judges each once `after` frames have followed it."""

    def __init__(self, history: FrameHistory, config: ShotConfig, min_len: int, max_len: int,
                 after: int):
        self._history, self._config = history, config
        self._shortest, self._longest = max(4, min_len - 2), max_len
        self._after = after
        self._run_from: Optional[int] = None
        self._too_long = False  # the raised run going on is longer than a dissolve
        self._ended: List[Tuple[int, int]] = []  # runs waiting for their frames after

    @property
    def open_from(self) -> List[int]:
        """First frames of the runs not judged yet."""
        starts = [first for first, _ in self._ended]
        return starts + ([self._run_from] if self._run_from is not None else [])

    def at(self, index: int) -> Optional[Candidate]:
        """Frame `index` has just been added; the dissolve judged now, if any."""
        raised = self._history.change[index] >= RUN_FLOOR
        if raised:
            if self._run_from is None and not self._too_long:
                self._run_from = index
            if self._run_from is not None and index - self._run_from >= self._longest:
                # Longer than any dissolve: the shot's own texture or noise, until it calms.
                self._run_from, self._too_long = None, True
        else:
            if self._run_from is not None:
                self._ended.append((self._run_from, index - 1))
            self._run_from, self._too_long = None, False
        found = None
        while self._ended and self._ended[0][1] + self._after <= index:
            found = self._judge(*self._ended.pop(0)) or found
        return found

    def end(self) -> None:
        """The video ended: a run without its frames after parts no shots."""
        self._run_from, self._too_long, self._ended = None, False, []

    def _judge(self, first: int, last: int) -> Optional[Candidate]:
        history, config = self._history, self._config
        if last - first + 1 < self._shortest or first - 1 not in history.tiny:
            return None
        before = range(max(1, first - BEFORE_FRAMES), first)
        after = range(last + 1, last + 1 + self._after)
        if not before or any(i not in history.change for i in (*before, *after)):
            return None
        inside = range(first, last + 1)
        change, motion = history.change, history.motion
        if _median(change, inside) < RUN_RISE * max(_median(change, before),
                                                    _median(change, after), 1e-3):
            return None
        if _median(motion, inside) > MOTION_RISE * max(_median(motion, before),
                                                       _median(motion, after), 0.1):
            return None  # the camera or the subject sped up: a whip pan or a fast zoom
        residual = history.residual
        if _median(residual, inside) < max(config.cut_threshold, RESIDUAL_RISE * min(
                _median(residual, before), _median(residual, after))):
            return None  # the flow explains each frame: the light changed, not the picture
        a, b = history.standard[first - 1], history.standard[last + 1]
        if float(np.abs(a - b).mean()) < config.dissolve_min_change:
            return None  # hardly a different picture after it
        if same_picture(history.tiny[first - 1], history.tiny[last + 1]):
            return None  # one picture, brighter or darker
        coarse_a, coarse_b = history.coarse[first - 1], history.coarse[last + 1]
        if float((np.abs(coarse_a - coarse_b) > AREA_CHANGE_LEVELS).mean()) < \
                config.dissolve_min_area:
            return None  # one region changed: an object came or went
        return Candidate(first, last, "dissolve", RANK, spanned=True)


def _median(values, frames) -> float:
    return float(np.median([values[i] for i in frames]))
