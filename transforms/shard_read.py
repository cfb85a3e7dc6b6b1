"""Reading shards back: every sample's members, by key, a sample at a time."""
from __future__ import annotations

import io
import tarfile
from typing import Dict, Iterator, Tuple

import numpy as np
from PIL import Image

from transforms.storage import filesystem


def iter_shard(url: str) -> Iterator[Tuple[str, Dict[str, bytes]]]:
    """(key, {member suffix ("before.jpg", "json", ...): bytes}) of one tar shard, a sample at a
    time in the order stored, read as a stream: a sample's members lie together (as WebDataset
    readers need), so only one sample is held, not a shard of up to --shard-max-bytes."""
    fs, path = filesystem(url)
    key, members = None, {}
    with fs.open(path, "rb") as handle, tarfile.open(fileobj=handle, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name, _, suffix = member.name.partition(".")
            if key is not None and name != key:
                yield key, members
                members = {}
            key = name
            members[suffix] = tar.extractfile(member).read()
    if key is not None:
        yield key, members


def decode_jpeg(data: bytes) -> np.ndarray:
    """A stored image member as an RGB uint8 array."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
