"""Which frames of the analysis pass to hold for the sampler's likely picks, so that the
full-resolution pass need not decode them a second time.

The analysis pass decodes every frame anyway; the frames the sampler keeps used to be decoded
again by seeking to their keyframes (on the benchmark set 15-25% of a video's CPU time). A policy
sees each frame's index and motion as the analysis reaches it and answers what to hold and what
to let go; the video holds the decoded pictures themselves (not yet converted to RGB), within a
byte budget. A pick that was not held is decoded by seeking, as before: the frames are the same
either way, only the cost differs.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from transforms.sample import SampleConfig

Decision = Tuple[bool, List[int]]  # (hold this frame, frames held before to let go)


class MotionPeaks:
    """For the keyframes sampler (greedy top-`count` by motion, `min_gap` apart): the strongest
    frames that no stronger frame within `min_gap` suppresses, at most twice `count` of them.

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


class FirstAndLatest:
    """For first_last: the first frame and the latest one (the last, once the stream ends)."""

    def offer(self, index: int, motion: float) -> Decision:
        return True, [index - 1] if index > 1 else []


def policy_for(sample: SampleConfig):
    """The hold policy of a sampler that picks after the analysis pass (stride picks during it:
    transforms/decode_core.py)."""
    if sample.sampler == "keyframes":
        return MotionPeaks(sample.num_keyframes, sample.min_gap)
    if sample.sampler == "first_last":
        return FirstAndLatest()
    raise ValueError(f"the {sample.sampler} sampler holds nothing")
