"""Frozen records that flow between pipeline stages.

Images travel as RGB uint8 numpy arrays until the writer's edge, where they become JPEG bytes.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np


@dataclasses.dataclass(frozen=True)
class VideoSource:
    """One input video, as discovered (before anything is decoded)."""
    uri: str
    video_id: str
    size: Optional[int] = None
    mtime: Optional[str] = None  # modification time or etag, as the filesystem reports it
    label: Optional[str] = None  # a human action label, when the manifest has one
    class_name: Optional[str] = None  # the source class, for stratified selection
    problem: Optional[str] = None  # a reason code when the input itself is unusable (missing_uri)
    license: Optional[str] = None  # from the input manifest, carried through untouched
    attribution: Optional[str] = None
    dataset: Optional[str] = None  # the input (glob or manifest) it came from: a default stratum
    images: Optional[Tuple[str, str]] = None  # (before, after) image URIs of a labelled image pair
    problem_detail: Optional[str] = None  # what to tell the user about `problem`, in words


@dataclasses.dataclass(frozen=True)
class Display:
    """What the stream says about showing its pictures: the display matrix as a turn and a
    mirror, the sample (pixel) aspect ratio, and the field order of interlaced video."""
    rotation: int = 0  # degrees turned counter-clockwise (0, 90, 180, 270), as ffprobe says
    mirrored: bool = False  # mirrored left-right after the turn
    sample_aspect: Tuple[int, int] = (1, 1)  # width:height of one pixel
    field_order: str = "progressive"  # or tff / bff: deinterlaced before use

    @property
    def quarter_turn(self) -> bool:
        return self.rotation in (90, 270)

    def square_width(self, width: int) -> int:
        """A coded width in square pixels, rounded down (as `-vf scale=iw*sar:ih` gives)."""
        num, den = self.sample_aspect
        return width if num == den else max(1, width * num // den)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What probing a video found."""
    fps: float
    num_frames: int
    width: int
    height: int
    decoder: str  # "decord" or "pyav"
    sha256: Optional[str] = None  # of the file's bytes, for provenance
    # How a player shows the coded width x height picture (transforms/display.py): what the
    # pipeline analyses and stores is that view, not the coded one.
    display: Display = Display()

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps if self.fps > 0 else 0.0

    @property
    def square_width(self) -> int:
        return self.display.square_width(self.width)

    @property
    def display_width(self) -> int:
        return self.height if self.display.quarter_turn else self.square_width

    @property
    def display_height(self) -> int:
        return self.square_width if self.display.quarter_turn else self.height


@dataclasses.dataclass(frozen=True)
class VideoOutcome:
    """How decoding and sampling one video went; becomes a row of manifest/videos.parquet."""
    source: VideoSource
    info: Optional[VideoInfo]
    num_candidates: int  # frame pairs sampled from the video
    reason: Optional[str] = None  # set when the video gave no candidate pairs
    message: Optional[str] = None
    shots: Optional["Shots"] = None  # None when shots were not looked for (--shots off, labels)


@dataclasses.dataclass(frozen=True)
class Shots:
    """A video's shots (transforms/shots/): where each begins and how, and how many were too
    short to hold a pair."""
    starts: Tuple[int, ...]  # first frame of each shot, after its incoming transition
    transitions: Tuple[str, ...]  # kind of transition into each shot: "start", cut, dissolve, fade
    too_short: int = 0


@dataclasses.dataclass(frozen=True)
class PairScores:
    """Every score the filters look at, kept so thresholds can be retuned from the manifest."""
    motion: float  # mean optical-flow magnitude at the two keyframes, in small-frame pixels
    change: float  # mean absolute grey-level difference between before and after, 0..1
    cut: float  # largest cut score (motion.FrameSignals.cut) between frames inside the pair
    sharpness: float  # variance of the Laplacian of the blurrier of the two frames
    brightness: float  # mean grey level of the darker of the two frames, 0..1


@dataclasses.dataclass(frozen=True)
class PairMeta:
    """A candidate (before, after) pair sampled from one video, without its pixels."""
    key: str
    source: VideoSource
    info: VideoInfo
    before_index: int
    after_index: int
    sampler: str
    scores: PairScores
    shot: Optional[int] = None  # index of the shot both frames lie in; None without shots

    def timestamp(self, index: int) -> float:
        return index / self.info.fps if self.info.fps > 0 else 0.0


@dataclasses.dataclass(frozen=True, eq=False)
class FramePair:
    """A candidate pair with its full-resolution frames (H x W x 3 RGB uint8)."""
    meta: PairMeta
    before: np.ndarray
    after: np.ndarray

    @property
    def key(self) -> str:
        return self.meta.key


@dataclasses.dataclass(frozen=True)
class Caption:
    """What the IDP model said about one pair."""
    action: str
    idp_score: Optional[float]  # mean log-probability of the action's tokens; None: not scored
    num_tokens: int
    model_id: Optional[str]  # None for a human label that no model scored (--no-caption)
    model_revision: Optional[str]
    prompt_id: Optional[str]
    source: str = "idp"  # "idp" for generated actions, "human" for labels from the source
    decoding: Optional[str] = None  # decoding settings, e.g. "greedy,max_new_tokens=24"
    truncated: bool = False  # generation stopped at the token limit, not at end-of-sequence
    idp_score_sum: Optional[float] = None  # summed log-probability of the action's tokens


@dataclasses.dataclass(frozen=True)
class Drop:
    """Why a pair was not kept: a stable snake_case reason and the score that decided it."""
    reason: str
    score: Optional[float] = None
    message: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Triple:
    """A kept (before, action, after) sample, images already JPEG-encoded for the shard."""
    meta: PairMeta
    caption: Optional[Caption]  # None when the run was built with --no-caption
    before_jpeg: bytes
    after_jpeg: bytes
    change_npy: bytes  # the change map, as .npy bytes (schemas/shard_layout.py)

    @property
    def key(self) -> str:
        return self.meta.key


@dataclasses.dataclass(frozen=True)
class StagedImages:
    """Where a triple's encoded images wait (transforms/staging.py): its before JPEG, after JPEG
    and change map, one after another from `offset`."""
    url: str
    offset: int
    sizes: Tuple[int, int, int]


@dataclasses.dataclass(frozen=True)
class StagedTriple:
    """A Triple whose images are staged: the steps after encoding decide on what travels here
    (key, caption, flags), and the images stay in their staging file until the shard is written."""
    meta: PairMeta
    caption: Optional[Caption]
    images: StagedImages
    qc_flags: Tuple[str, ...] = ()  # caption quality flags, when the config keeps flagged pairs

    @property
    def key(self) -> str:
        return self.meta.key


@dataclasses.dataclass(frozen=True)
class PairOutcome:
    """A candidate pair's fate, for manifest/pairs.parquet."""
    meta: PairMeta
    caption: Optional[Caption] = None
    drop: Optional[Drop] = None
    shard: Optional[str] = None
    qc_flags: Tuple[str, ...] = ()

    @property
    def kept(self) -> bool:
        return self.drop is None
