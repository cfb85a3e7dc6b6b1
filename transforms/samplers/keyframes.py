"""The paper's rule: the top-K highest-motion frames at least N frames apart, consecutive
keyframes paired in time."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from transforms.samplers.base import Decision, Pair


def keyframes(motion: np.ndarray, count: int, min_gap: int) -> List[int]:
    """Greedy top-`count` frames by motion, each at least `min_gap` from those already taken."""
    # A stable sort on -motion breaks ties by the earlier frame, so results are deterministic.
    chosen: List[int] = []
    for index in np.argsort(-motion, kind="stable"):
        if all(abs(int(index) - other) >= min_gap for other in chosen):
            chosen.append(int(index))
            if len(chosen) == count:
                break
    return sorted(chosen)


class MotionPeaks:
    """Hold policy for the greedy rule: the strongest frames that no stronger frame within
    `min_gap` suppresses, at most twice `count` of them.

    A frame with a stronger one within the gap is picked by the greedy rule only if that one is
    itself suppressed by a third: rare, and then decoded by seeking.
    """

    def __init__(self, count: int, min_gap: int):
        self._gap = min_gap
        self._capacity = 2 * count
        self._held: Dict[int, float] = {}  # index -> motion; any two at least min_gap apart

    def offer(self, index: int, motion: float) -> Decision:
        motion = float(np.float32(motion))  # the sampler ranks the float32 signal
        released = []
        latest = max(self._held, default=None)  # held frames are min_gap apart: only it is near
        if latest is not None and index - latest < self._gap:
            if self._held[latest] >= motion:  # of equal ones the greedy rule takes the earlier
                return False, released
            released.append(latest)
            del self._held[latest]
        self._held[index] = motion
        if len(self._held) > self._capacity:
            weakest = min(self._held, key=lambda i: (self._held[i], -i))
            del self._held[weakest]
            if weakest == index:
                return False, released
            released.append(weakest)
        return True, released


class Keyframes:
    def __init__(self, config):
        self._count, self._gap = config.num_keyframes, config.min_gap

    def pairs(self, motion: np.ndarray, fps: float) -> List[Pair]:
        frames = keyframes(motion, self._count, self._gap)
        return list(zip(frames, frames[1:]))

    def holder(self) -> MotionPeaks:
        return MotionPeaks(self._count, self._gap)

    def streams(self, fps: float):
        return None
