"""JPEG encoding of the stored before/after frames. Beam-free: the GPU benchmark stages JPEGs
the way the build does, on machines without Beam."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
