"""Fades: a run of flat frames (black, white, a colour card) with content on both sides; the
span reaches back while contrast falls into it and on while contrast rises out of it. A flat
run is decided once contrast stops rising after it, so the detector waits for it (`open_from`)."""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from transforms.shots.config import ShotConfig
from transforms.shots.history import FrameHistory
from transforms.shots.transitions import Candidate


class FadeFinder:
    """Follows flat runs frame by frame (each frame's standard deviation is in the history)."""

    def __init__(self, history: FrameHistory, config: ShotConfig, flash_frames: int,
                 max_len: int):
        self._history, self._config = history, config
        self._flash_frames, self._max_len = flash_frames, max_len
        self._blank_from: Optional[int] = None  # first frame of the flat run going on
        self._pending: Optional[Tuple[int, int]] = None  # (flat run's first, its end)
        self._truly_flat = False  # the flat run going on has a frame below blank_std

    @property
    def open_from(self) -> List[int]:
        """First frames of the flat runs not decided yet: a fade found later starts near them."""
        return [start for start in (self._blank_from, self._pending and self._pending[0])
                if start is not None]

    def end(self) -> None:
        """The video ended: a fade out at the end parts no shots."""
        self._blank_from = self._pending = None

    def _flat(self, index: int) -> bool:
        """Flat, or a contrast dip to a small share of a moment ago (the middle of a fade out
        straight into a fade in)."""
        std = self._history.std[index]
        earlier = self._history.std.get(index - self._max_len, 0.0)
        return std < self._config.blank_std or std < min(0.15 * earlier,
                                                         3 * self._config.blank_std)

    def at(self, index: int) -> Optional[Candidate]:
        """Frame `index` has just been added; the fade it completes, if any."""
        stds = self._history.std
        blank = self._flat(index)
        if blank and self._blank_from is None:
            self._blank_from, self._truly_flat = index, False
        if blank:
            self._truly_flat |= stds[index] < self._config.blank_std
        elif not blank and self._blank_from is not None:
            start, self._blank_from = self._blank_from, None
            # A long run of low contrast that is never flat is a dim shot, not a fade's dip.
            if start > 0 and (self._truly_flat or index - start <= 2 * self._flash_frames):
                self._pending = (start, index)
        if self._pending is None:
            return None
        start, end = self._pending
        # The fade in is over once contrast stops rising (or after the longest fade).
        rising = index - end < self._max_len and (
            index == end or stds[index] > stds[index - 1] * 1.02)
        if rising and not blank:
            return None
        self._pending = None
        if blank:  # flat again at once: the fade goes on into this new flat run
            return None
        first = start
        while (start - first < self._max_len and first - 1 in stds and first - 1 > 0
               and stds[first - 1] > stds[first] * 1.02):
            first -= 1
        last = max(index - 1, end - 1)
        if (start - first) + (last - end + 1) < 3 and end - start < self._flash_frames + 2:
            return None  # a few flat frames with abrupt edges: a flash to white, not a fade
        before, after = self._history.standard.get(first - 1), self._history.standard[last + 1]
        if before is not None and float(np.abs(after - before).mean()) < \
                self._config.dissolve_min_change:
            return None  # the same picture on both sides: a flash to white, or a blink
        return Candidate(first, last, "fade", 0.0)
