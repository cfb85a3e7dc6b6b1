"""AURORA's Something-Something rule: the first and the last frame."""
from __future__ import annotations

from typing import List

import numpy as np

from transforms.samplers.base import Decision, Pair


class FirstAndLatest:
    """Hold policy: the first frame and the latest one (the last, once the stream ends)."""

    def offer(self, index: int, motion: float) -> Decision:
        return True, [index - 1] if index > 1 else []


class FirstLast:
    def __init__(self, config):
        pass

    def pairs(self, motion: np.ndarray, fps: float) -> List[Pair]:
        return [(0, len(motion) - 1)] if len(motion) >= 2 else []

    def holder(self) -> FirstAndLatest:
        return FirstAndLatest()

    def streams(self, fps: float):
        return None
