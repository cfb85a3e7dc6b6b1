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
from transforms.shots import ShotConfig



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
    shots: str = dataclasses.field(default="auto", metadata={
        "help": "auto: find shot boundaries (cuts, dissolves, fades) in the analysis pass and "
                "sample within each shot, never across; off: the whole video is one shot "
                "(footage known to be single-shot). Labelled clips are always one shot"})
    shot_cut_threshold: float = dataclasses.field(default=0.04, metadata={
        "help": "shots: smallest flow-compensated residual between consecutive frames (grey "
                "levels standardised, so a gain change scores low) that can be a cut"})
    shot_cut_ratio: float = dataclasses.field(default=4.0, metadata={
        "help": "shots: a cut's residual is at least this many times the largest of the two "
                "frames either side (whip pans and shake stay high over several frames)"})
    shot_flash_return: float = dataclasses.field(default=0.5, metadata={
        "help": "shots: a jump the picture comes back from within about 0.1 s (to less than "
                "this share of it) is a flash or strobe, not a cut"})
    shot_dissolve_blend: float = dataclasses.field(default=0.10, metadata={
        "help": "shots: largest misfit of a window's inner frames to blends of its two ends "
                "(share of the change between the ends, on 16-pixel-wide frames, coarse enough "
                "for moving shots) for a dissolve; pans and zooms fit worse"})
    shot_dissolve_min_change: float = dataclasses.field(default=0.4, metadata={
        "help": "shots: smallest standardised difference between the two sides of a dissolve "
                "or fade (a light switched on changes the gain, not the picture)"})
    shot_dissolve_min_area: float = dataclasses.field(default=0.35, metadata={
        "help": "shots: smallest share of the picture a dissolve changes (an object fading "
                "in or out on a still shot blends one region only)"})
    shot_blank_std: float = dataclasses.field(default=3.0, metadata={
        "help": "shots: grey-level standard deviation (0..255) below which a frame is flat, "
                "as in the middle of a fade through black or white"})
    shot_max_dissolve_seconds: float = dataclasses.field(default=1.2, metadata={
        "help": "shots: longest dissolve looked for, seconds; boundaries are known this long "
                "(plus about 0.3 s) after they pass"})
    shot_edge_frames: int = dataclasses.field(default=2, metadata={
        "help": "shots: frames next to a boundary (besides a transition's own frames, and as "
                "many again as a gradual one lasts) never sampled"})

    def __post_init__(self):
        if self.sampler not in REGISTRY:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose one of {tuple(REGISTRY)}")
        if self.labelled_sampler not in tuple(REGISTRY) + ("",):
            raise ValueError(f"unknown labelled_sampler {self.labelled_sampler!r}")
        if self.num_keyframes < 2 or self.min_gap < 1 or self.stride_seconds <= 0:
            raise ValueError("num_keyframes >= 2, min_gap >= 1 and stride_seconds > 0 required")
        if self.shots not in ("auto", "off"):
            raise ValueError(f"unknown shots mode {self.shots!r}; choose auto or off")
        if self.shot_edge_frames < 0 or self.shot_max_dissolve_seconds <= 0.3:
            raise ValueError("shot_edge_frames >= 0 and shot_max_dissolve_seconds > 0.3 required")

    def shot_config(self) -> ShotConfig:
        return ShotConfig(
            cut_threshold=self.shot_cut_threshold, cut_ratio=self.shot_cut_ratio,
            flash_return=self.shot_flash_return, dissolve_blend=self.shot_dissolve_blend,
            dissolve_min_change=self.shot_dissolve_min_change,
            dissolve_min_area=self.shot_dissolve_min_area, blank_std=self.shot_blank_std,
            max_dissolve_seconds=self.shot_max_dissolve_seconds)


def sample_pairs(signals: FrameSignals, fps: float, config: SampleConfig) -> List[Pair]:
    """The sampler's pairs over the whole video, capped."""
    pairs = sampler_for(config).pairs(signals.motion, fps)
    if config.max_pairs_per_video:
        pairs = pairs[:config.max_pairs_per_video]
    return pairs
