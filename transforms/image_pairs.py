"""Labelled image pairs (AURORA-format JSON): two images in, one candidate pair out, through the
same scores and filters as video pairs."""
from __future__ import annotations

import io
from typing import List, Tuple

import cv2
import fsspec
import numpy as np
from PIL import Image, UnidentifiedImageError

from schemas.records import FramePair, PairMeta, VideoInfo, VideoOutcome, VideoSource
from schemas.sample import sample_key
from transforms import motion, scores
from transforms.video_io import DecodeError

SAMPLER = "image_pair"


def read_image(uri: str) -> np.ndarray:
    with fsspec.open(uri, "rb") as handle:
        data = handle.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise DecodeError("decode_failed", f"{uri}: not a readable image ({error})") from error


def decode_image_pair(source: VideoSource, analysis_width: int) -> Tuple[VideoOutcome, List]:
    before, after = (read_image(uri) for uri in source.images)
    height, width = before.shape[:2]
    if after.shape[:2] != (height, width):  # compare aligned: the after image onto the before's
        after = cv2.resize(after, (width, height), interpolation=cv2.INTER_AREA)
    size = motion.analysis_size(width, height, analysis_width)
    small = [cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), size,
                        interpolation=cv2.INTER_AREA) for image in (before, after)]
    signals = motion.analyse(small)
    info = VideoInfo(fps=0.0, num_frames=2, width=width, height=height, decoder="image")
    meta = PairMeta(key=sample_key(source.video_id, 0, 1), source=source, info=info,
                    before_index=0, after_index=1, sampler=SAMPLER,
                    scores=scores.measure(before, after, signals, 0, 1))
    return VideoOutcome(source, info, 1), [FramePair(meta, before, np.ascontiguousarray(after))]
