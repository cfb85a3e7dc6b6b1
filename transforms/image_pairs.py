"""Labelled image pairs (AURORA-format JSON): two images in, one candidate pair out, through the
same scores and filters as video pairs."""
from __future__ import annotations

import io
import warnings
from typing import List, Tuple

import cv2
import fsspec
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from schemas.records import FramePair, PairMeta, VideoInfo, VideoOutcome, VideoSource
from schemas.shard_layout import sample_key
from transforms import motion, scores
from transforms.video_io import DecodeError

SAMPLER = "image_pair"


def read_image(uri: str, max_pixels: int = 2**63, min_side: int = 1) -> np.ndarray:
    """The image as the RGB uint8 array a viewer would show; its size is checked from the header
    before any pixel is decoded, so a 20000x20000 file costs nothing but its row."""
    with fsspec.open(uri, "rb") as handle:
        data = handle.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # max_pixels rules
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise DecodeError("too_large", f"{uri}: more pixels than is safe to decode "
                                       f"({error})") from error
    except UnidentifiedImageError as error:  # its text names a BytesIO by address: not stable
        raise DecodeError("decode_failed", f"{uri}: not a readable image (unknown format)") \
            from error
    except (OSError, ValueError) as error:
        raise DecodeError("decode_failed", f"{uri}: not a readable image ({error})") from error
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise DecodeError("too_large", f"{uri}: {width}x{height} exceeds max_pixels")
        if min(width, height) < min_side:
            raise DecodeError("too_small", f"{uri}: {width}x{height} is below min_side")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                return to_rgb(ImageOps.exif_transpose(image))
        except (OSError, ValueError, SyntaxError) as error:  # truncated, corrupt, odd mode
            raise DecodeError("decode_failed", f"{uri}: not a readable image "
                                               f"({type(error).__name__}: {error})") from error


def to_rgb(image: Image.Image) -> np.ndarray:
    """RGB uint8 from any mode, by what the values mean: 16-bit grey scaled to 8 bits (PIL's
    own convert clips it, storing near-white), transparency composited onto white (what a
    viewer shows; the colour under a transparent pixel is undefined), CMYK and palettes through
    PIL's conversions."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        grey = np.asarray(image, dtype=np.float64)  # 0..65535 in both I;16 and I from 16-bit
        grey = np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode == "F":
        raise ValueError("floating-point images have no defined brightness range")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def decode_image_pair(source: VideoSource, analysis_width: int, max_pixels: int = 2**63,
                      min_side: int = 1) -> Tuple[VideoOutcome, List]:
    before, after = (read_image(uri, max_pixels, min_side) for uri in source.images)
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
