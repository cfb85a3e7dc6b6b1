"""The streaming detector: frames pushed in order, transitions out as they are decided.

Causal with a bounded lookahead: a transition is decided `lookahead` frames after it ends
(the longest dissolve plus about 0.3 s: 37 frames at 25 fps; a fade also waits for its flat run
to end), and its span never reaches back further than `edge_reach` frames before the frames
already settled (`confirmed_through`). Memory is about twice `lookahead` tiny frames (64 px
wide, float32: 9 KiB each, kept twice: as they are and standardised), whatever the length.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from transforms.shots import dissolves
from transforms.shots.config import ShotConfig
from transforms.shots.cuts import CHANGE_SPIKE_FLOOR, cut_at
from transforms.shots.deciding import Decisions
from transforms.shots.dissolves import DissolveFinder
from transforms.shots.drifts import DriftFinder
from transforms.shots.fades import FadeFinder
from transforms.shots.history import FrameHistory
from transforms.shots.transitions import Transition


class ShotDetector:
    """Frames are pushed in order (their small grey image, and the current frame warped onto the
    previous one by the optical flow); transitions come out as they are decided."""

    def __init__(self, config: ShotConfig, fps: float):
        fps = fps if fps > 0 else 25.0
        self._config = config
        self._flash_frames = max(2, int(round(0.12 * fps)))
        _, self._max_len, _ = dissolves.window_lengths(config, fps)
        self.lookahead = self._max_len + self._flash_frames + 4
        self._history = FrameHistory(self._max_len + self.lookahead + 8, config.blank_std,
                                     correlate_from=CHANGE_SPIKE_FLOOR)
        self._dissolves = DissolveFinder(self._history, config, fps)
        # A run of raised change is judged once the frames after it that its baseline needs
        # are in; no later than the lookahead after its first frame.
        self._drifts = DriftFinder(self._history, config, self._dissolves.min_len,
                                   self._max_len, self.lookahead - self._max_len)
        self._fades = FadeFinder(self._history, config, self._flash_frames, self._max_len)
        self._decisions = Decisions()

    @property
    def transitions(self) -> List[Transition]:
        return list(self._decisions.decided)

    def decided_since(self, count: int) -> List[Transition]:
        """The transitions decided after the first `count`."""
        return self._decisions.decided[count:]

    @property
    def edge_reach(self) -> int:
        """Frames before a transition's first that its margin can reach, at most."""
        return 3 * self._max_len + 1  # a blend's reach back, and its span again

    @property
    def confirmed_through(self) -> int:
        """No transition decided later touches a frame at or before this one."""
        limit = self._settled_before(self._history.count - 1) - 1
        for candidate in self._decisions.candidates:
            limit = min(limit, candidate.first - 1)
        return limit

    def _settled_before(self, index: int) -> int:
        """Candidates found from frame `index` on start at or after this frame."""
        limit = index - self.lookahead
        for flat_start in self._fades.open_from:
            limit = min(limit, flat_start - self._max_len)
        for run_start in self._drifts.open_from:
            limit = min(limit, run_start)
        return limit

    def push(self, gray: np.ndarray, warped: Optional[np.ndarray], motion: float = 0.0,
             change: float = 0.0) -> List[Transition]:
        """Frame `count` (its small grey image, the same frame warped onto the previous one,
        None for the first, and the analysis pass's motion and cut distance for it); the
        transitions decided now."""
        index = self._history.add(gray, warped, motion, change)
        self._decisions.add(self._fades.at(index))
        self._decisions.add(self._drifts.at(index))
        self._decisions.add(cut_at(self._history, self._config, self._flash_frames,
                                   index - self._flash_frames))
        if index % dissolves.EVERY == 0:
            self._decisions.add(self._dissolves.at(index - 2))
        self._history.forget(index - self._history.keep)
        return self._decide(index)

    def finish(self) -> List[Transition]:
        """The end of the video: every transition still open is decided (or dropped)."""
        end = self._history.count
        for index in range(max(0, end - self._flash_frames), end):
            self._decisions.add(cut_at(self._history, self._config, self._flash_frames, index))
        self._fades.end()
        self._drifts.end()
        return self._decide(end + self._history.keep)

    def _decide(self, index: int) -> List[Transition]:
        return self._decisions.decide(self._settled_before(index), self._dissolves.whole_blend)
