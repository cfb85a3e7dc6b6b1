"""Labelled (before, action, after) examples for training and evaluation, read from shards with
the webdataset reader downstream trainers use, and split into train and held-out sets."""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Dict, List, Sequence, Tuple

import numpy as np

from schemas import shard_layout as layout
from transforms.dataset.index import read_index
from transforms.shard_read import decode_jpeg
from transforms.storage import filesystem, join


@dataclasses.dataclass(frozen=True)
class Example:
    key: str
    before_jpeg: bytes  # kept encoded: a million examples fit in memory, decoded per batch
    after_jpeg: bytes
    action: str
    group: str  # examples that share an image share a group, and a side of the split

    def images(self) -> Tuple[np.ndarray, np.ndarray]:
        return decode_jpeg(self.before_jpeg), decode_jpeg(self.after_jpeg)


def shard_urls(data: str) -> List[str]:
    """The shards of a dataset folder (from its index), or of a glob of .tar files."""
    index = read_index(data)
    if index is not None:
        return [join(data, shard["url"]) for shard in index["shards"]]
    fs, pattern = filesystem(data)
    urls = sorted(fs.glob(pattern))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return [url if protocol == "file" else f"{protocol}://{url}" for url in urls]


def _image_group(before: bytes, after: bytes) -> str:
    # A pair and its reversal hold the same two images: one group, so neither side of the
    # split sees the other's scene.
    digests = sorted(hashlib.sha256(data).hexdigest() for data in (before, after))
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def read_examples(data: str) -> Tuple[List[Example], Dict[str, int]]:
    """Every sample with an action; and counts of what was read and skipped (no action)."""
    import webdataset as wds
    urls = shard_urls(data)
    if not urls:
        raise FileNotFoundError(f"no shards found at {data}")
    examples, skipped = [], 0
    dataset = wds.WebDataset(urls, shardshuffle=False, empty_check=False).to_tuple(
        "__key__", layout.BEFORE, layout.AFTER, layout.ACTION, missing_is_error=False)
    for key, before, after, text in dataset:
        action = text.decode("utf-8").strip() if text else ""
        if not action:
            skipped += 1
            continue
        examples.append(Example(key, before, after, action,
                                _image_group(before, after)))
    return examples, {"samples_read": len(examples) + skipped, "skipped_no_action": skipped}


def split(examples: Sequence[Example], held_out: float, seed: int
          ) -> Tuple[List[Example], List[Example]]:
    """(train, held out): whole groups go to one side, chosen by a seeded hash of the group."""
    def bucket(group: str) -> float:
        digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64
    held = [example for example in examples if bucket(example.group) < held_out]
    train = [example for example in examples if bucket(example.group) >= held_out]
    return train, held
