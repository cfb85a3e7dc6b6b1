"""What the samplers need from a video decoder (transforms/video_io.py: PyAV, decord).

Every decoder streams small grey frames for the analysis pass and gives full-resolution RGB
frames for chosen indices. A decoder that can also hold on to the pictures the analysis pass
decoded (PyAV) lets picks skip a second decode, and lets streaming samplers convert their picks
as the pass reaches them.
"""
from __future__ import annotations

from typing import Iterator, Protocol, Sequence, Tuple

import numpy as np

from schemas.records import VideoInfo


class Decoder(Protocol):
    info: VideoInfo

    def small_gray(self, width: int, height: int) -> Iterator[np.ndarray]:
        """Every frame, in order, as a (height, width) uint8 grey image."""

    def iter_frames(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """(index, RGB frame) for each distinct index, in increasing order, a few at a time."""


class HoldingDecoder(Decoder, Protocol):
    def hold_current(self, index: int) -> None:
        """Hold the picture small_gray yielded last, as frame `index` (within a byte budget)."""

    def release(self, index: int) -> None: ...

    def current_rgb(self) -> np.ndarray:
        """The picture small_gray yielded last, in full: RGB at the source's resolution."""


def holds_frames(video) -> bool:
    return all(hasattr(video, name) for name in ("hold_current", "release", "current_rgb"))
