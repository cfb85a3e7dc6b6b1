"""Reading shards back: every sample's members, by key."""
from __future__ import annotations

import io
import tarfile
from typing import Dict

import numpy as np
from PIL import Image

from transforms.storage import filesystem


def read_shard(url: str) -> Dict[str, Dict[str, bytes]]:
    """{key: {member suffix ("before.jpg", "json", ...): bytes}} of one tar shard."""
    fs, path = filesystem(url)
    samples: Dict[str, Dict[str, bytes]] = {}
    with fs.open(path, "rb") as handle, tarfile.open(fileobj=handle, mode="r|") as tar:
        for member in tar:
            key, _, suffix = member.name.partition(".")
            samples.setdefault(key, {})[suffix] = tar.extractfile(member).read()
    return samples


def decode_jpeg(data: bytes) -> np.ndarray:
    """A stored image member as an RGB uint8 array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
