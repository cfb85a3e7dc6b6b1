"""How pairs are sampled: the sampler's config, and its pairs over a video.

`keyframes` is the paper's rule: the top-K highest-motion frames at least N frames apart,
consecutive keyframes paired in time. `first_last` is AURORA's Something-Something rule.
`stride` takes frames a fixed time apart. Each is one file in transforms/samplers/.
"""
from __future__ import annotations

import dataclasses
from typing import List

from transforms.motion import FrameSignals
from transforms.samplers import REGISTRY, sampler_for
from transforms.samplers.base import Pair

SAMPLERS = tuple(REGISTRY)


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


def sample_pairs(signals: FrameSignals, fps: float, config: SampleConfig) -> List[Pair]:
    """The sampler's pairs over the whole video, capped."""
    pairs = sampler_for(config).pairs(signals.motion, fps)
    if config.max_pairs_per_video:
        pairs = pairs[:config.max_pairs_per_video]
    return pairs
