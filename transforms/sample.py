"""Frame-pair samplers: which (before, after) frame indices to take from a video.

`keyframes` is the paper's rule: the top-K highest-motion frames at least N frames apart,
consecutive keyframes paired in time. `first_last` is AURORA's Something-Something rule.
`stride` takes frames a fixed time apart.
"""
from __future__ import annotations

import dataclasses
from typing import List, Tuple

import numpy as np

from transforms.motion import FrameSignals

SAMPLERS = ("keyframes", "first_last", "stride")

Pair = Tuple[int, int]


@dataclasses.dataclass(frozen=True)
class SampleConfig:
    sampler: str = dataclasses.field(default="keyframes", metadata={
        "help": "pair sampler: keyframes (the paper's), first_last or stride"})
    num_keyframes: int = dataclasses.field(default=6, metadata={
        "help": "keyframes sampler: how many highest-motion frames to keep (Kf)"})
    min_gap: int = dataclasses.field(default=20, metadata={
        "help": "keyframes sampler: minimum distance between keyframes, in frames (If)"})
    stride_seconds: float = dataclasses.field(default=1.0, metadata={
        "help": "stride sampler: time between the two frames of a pair, seconds"})
    max_pairs_per_video: int = dataclasses.field(default=0, metadata={
        "help": "cap on pairs per video after sampling (0: no cap)"})
    labelled_sampler: str = dataclasses.field(default="first_last", metadata={
        "help": "sampler for videos whose manifest row has a label (the label describes the "
                "whole clip); '' to use --sampler for them too"})

    def __post_init__(self):
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose one of {SAMPLERS}")
        if self.labelled_sampler not in SAMPLERS + ("",):
            raise ValueError(f"unknown labelled_sampler {self.labelled_sampler!r}")
        if self.num_keyframes < 2 or self.min_gap < 1 or self.stride_seconds <= 0:
            raise ValueError("num_keyframes >= 2, min_gap >= 1 and stride_seconds > 0 required")


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


def stride_step(fps: float, config: SampleConfig) -> int:
    """Frames between the two frames of a stride pair."""
    return max(1, int(round(config.stride_seconds * fps)))


def sample_pairs(signals: FrameSignals, fps: float, config: SampleConfig) -> List[Pair]:
    count = signals.num_frames
    if config.sampler == "keyframes":
        frames = keyframes(signals.motion, config.num_keyframes, config.min_gap)
        pairs = list(zip(frames, frames[1:]))
    elif config.sampler == "first_last":
        pairs = [(0, count - 1)] if count >= 2 else []
    else:
        step = stride_step(fps, config)
        pairs = [(start, start + step) for start in range(0, count - step, step)]
    if config.max_pairs_per_video:
        pairs = pairs[:config.max_pairs_per_video]
    return pairs
