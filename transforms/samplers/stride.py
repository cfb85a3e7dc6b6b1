"""Frames a fixed time apart; its picks do not depend on motion, so its pairs leave the
analysis pass as it goes."""
from __future__ import annotations

from typing import Callable, List

import numpy as np

from transforms.samplers.base import Pair


class Stride:
    def __init__(self, config):
        self._seconds = config.stride_seconds

    def step(self, fps: float) -> int:
        """Frames between the two frames of a pair."""
        return max(1, int(round(self._seconds * fps)))

    def pairs(self, motion: np.ndarray, fps: float) -> List[Pair]:
        step = self.step(fps)
        return [(start, start + step) for start in range(0, len(motion) - step, step)]

    def holder(self):
        return None

    def streams(self, fps: float) -> Callable[[int], bool]:
        step = self.step(fps)
        return lambda k: k % step == 0
