"""Reading a staged triple's images back (transforms/staging.py writes them).

Beam-free: the caption handler reads them, and it also runs on bare GPU boxes
(benchmarks/caption_gpu.py).
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import fsspec

from schemas.records import StagedImages
from transforms.storage import filesystem


def read_many(staged: Sequence[StagedImages]) -> List[Tuple[bytes, bytes, bytes]]:
    """(before JPEG, after JPEG, change map) of each staged triple, the ranges fetched together
    (concurrently on object stores)."""
    if not staged:
        return []
    fs, _ = filesystem(staged[0].url)  # one run's staging files share a filesystem
    paths = [fsspec.core.strip_protocol(images.url) for images in staged]
    starts = [images.offset for images in staged]
    ends = [images.offset + sum(images.sizes) for images in staged]
    results = []
    for images, data in zip(staged, fs.cat_ranges(paths, starts, ends, on_error="raise")):
        before, after, _ = images.sizes
        results.append((data[:before], data[before:before + after], data[before + after:]))
    return results
