"""What a pair sampler is: one object that says which frames it wants, what the analysis pass
should hold for it, and whether it picks as the pass goes.

transforms/sampling.py runs every sampler the same way: one analysis pass over small grey frames,
then the full-resolution frames of its picks (held ones converted, the rest decoded again).
"""
from __future__ import annotations

from typing import Callable, List, Optional, Protocol, Tuple

import numpy as np

Pair = Tuple[int, int]
Decision = Tuple[bool, List[int]]  # (hold this frame, frames held before to let go)


class HoldPolicy(Protocol):
    """Sees each frame's index and motion as the analysis pass reaches it; answers whether to
    hold that frame's decoded picture, and which held ones to let go."""

    def offer(self, index: int, motion: float) -> Decision: ...


class Sampler(Protocol):
    def pairs(self, motion: np.ndarray, fps: float) -> List[Pair]:
        """Its (before, after) pairs among a run of frames (a shot, or the whole video),
        counted from the run's first frame; `motion` has one value per frame of the run."""

    def holder(self) -> Optional[HoldPolicy]:
        """What to hold during the analysis pass for its likely picks; None to hold nothing
        (its picks are then decoded again after the pass, or converted as they stream)."""

    def streams(self, fps: float) -> Optional[Callable[[int], bool]]:
        """For a sampler whose picks do not depend on motion: whether frame k of a run (from
        its first frame) is a pick, so pairs of consecutive picks leave the analysis pass as
        it goes. None for a sampler that picks once the pass is over."""
