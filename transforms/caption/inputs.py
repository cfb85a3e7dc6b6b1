"""What the model handler takes: one CaptionInput per pair, made where pairs enter the stage.

Pairs arrive in two forms. A build or a recaption hands over StagedTriples: this run's own JPEGs
in a staging file, read only when their batch runs, so a batch waiting for the model holds file
offsets, not pixels. `idp-corpus score` (and preflight's test pair) hands over FramePairs, whose
RGB arrays are in memory. `as_input` turns either into a CaptionInput at the edge, checking
in-memory images there, one pair at a time, so that a pair the model cannot see fails alone
instead of spoiling its batch.
"""
from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from schemas.records import FramePair, PairMeta, StagedImages, StagedTriple
from transforms.staged_images import read_many


@dataclasses.dataclass(frozen=True, eq=False)
class CaptionInput:
    """One pair to caption: either `frames` (before, after RGB arrays) or `staged` is set."""
    meta: PairMeta
    num_bytes: int  # of the images the model reads: what Beam's batching weighs
    frames: Optional[Tuple[np.ndarray, np.ndarray]] = None
    staged: Optional[StagedImages] = None

    @property
    def key(self) -> str:
        return self.meta.key


def check_frames(pair: FramePair) -> None:
    """Raises for an image the model cannot see: not a non-empty HxWx3 uint8 array."""
    for name, image in (("before", pair.before), ("after", pair.after)):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
            raise ValueError(
                f"{name} image of {pair.key} is {image.dtype} {image.shape}, "
                "not a non-empty HxWx3 uint8 array")


def as_input(pair: Union[FramePair, StagedTriple]) -> CaptionInput:
    """The pair as the handler takes it. A staged triple is this run's own JPEGs, written by the
    build: it is not read here, only when its batch runs."""
    if isinstance(pair, StagedTriple):
        return CaptionInput(meta=pair.meta, num_bytes=sum(pair.images.sizes[:2]),
                            staged=pair.images)
    check_frames(pair)
    return CaptionInput(meta=pair.meta, num_bytes=pair.before.nbytes + pair.after.nbytes,
                        frames=(pair.before, pair.after))


def batch_images(batch: Sequence[CaptionInput]) -> Tuple[List, List]:
    """(befores, afters) of a batch: in-memory arrays as they are, staged JPEGs as bytes, the
    staged ones fetched together (concurrently on object stores)."""
    staged = iter(read_many([item.staged for item in batch if item.staged is not None]))
    pairs = [item.frames if item.staged is None else next(staged)[:2] for item in batch]
    return [before for before, _ in pairs], [after for _, after in pairs]
