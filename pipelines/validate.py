"""`idp-corpus validate DIR`: check a dataset end to end, following its index.

Every shard opens and matches its index entry (size, sha256); every member decodes; keys are
unique and safe; every KEY.json matches the schema; counts agree between index, stats and
manifests; no temporary file is left behind.
"""
from __future__ import annotations

import collections
import hashlib
import io
import json
import tarfile
from typing import Dict, List

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

from schemas import manifests
from schemas import sample as layout
from transforms.change_map import from_npy
from transforms.existing import INDEX
from transforms.finalize import PAIRS_MANIFEST, STATS, VIDEOS_MANIFEST
from transforms import lease
from transforms.storage import TMP_MARK, filesystem, join


def _check_member(key: str, suffix: str, data: bytes) -> str:
    """Empty when the member decodes as its suffix says; else what is wrong."""
    try:
        if suffix.endswith(".jpg"):
            Image.open(io.BytesIO(data)).load()
        elif suffix == layout.METADATA:
            meta = json.loads(data)
            if not layout.is_valid_metadata(meta):
                version = meta.get("schema_version") if isinstance(meta, dict) else None
                return (f"{key}.json does not match its schema {version} (readable: "
                        f"{', '.join(layout.READABLE_VERSIONS)})")
        elif suffix == layout.ACTION:
            data.decode("utf-8")
        elif suffix == layout.CHANGE:
            grid = from_npy(data)
            if grid.shape != (layout.CHANGE_GRID,) * 2 or grid.dtype != np.float16:
                return f"{key}.{suffix} is {grid.dtype} {grid.shape}, not a float16 change grid"
        else:
            return f"{key}.{suffix}: unexpected member"
    except (OSError, ValueError, SyntaxError) as error:
        return f"{key}.{suffix} does not decode: {error}"
    return ""


def _check_shard(fs, url: str, entry: Dict, problems: List[str]) -> List[str]:
    """Checks one shard; returns its keys."""
    with fs.open(url, "rb") as handle:
        data = handle.read()
    if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        problems.append(f"{entry['name']}: size or sha256 differs from the index")
    members: Dict[str, Dict[str, bytes]] = collections.defaultdict(dict)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                key, _, suffix = info.name.partition(".")
                if "/" in info.name or ".." in info.name or not info.isfile():
                    problems.append(f"{entry['name']}: unsafe member {info.name!r}")
                    continue
                members[key][suffix] = tar.extractfile(info).read()
    except tarfile.TarError as error:
        problems.append(f"{entry['name']}: not a readable tar: {error}")
    for key, found in members.items():
        try:
            layout.check_key(key)
        except ValueError as error:
            problems.append(f"{entry['name']}: {error}")
        required = {layout.BEFORE, layout.AFTER, layout.METADATA, layout.CHANGE}
        if not required <= set(found):
            problems.append(f"{entry['name']}: {key} lacks {sorted(required - set(found))}")
        problems.extend(p for p in (_check_member(key, s, d) for s, d in found.items()) if p)
    if len(members) != entry["num_samples"]:
        problems.append(f"{entry['name']}: {len(members)} samples, index says "
                        f"{entry['num_samples']}")
    return list(members)


def validate(folder: str) -> List[str]:
    """Every problem found, as a readable line; empty when the dataset is sound."""
    fs, root = filesystem(folder)
    try:
        with fs.open(join(root, INDEX), "rt") as handle:
            index = json.load(handle)
    except FileNotFoundError:
        return [f"{INDEX} is missing: the dataset was never completed"]
    problems: List[str] = []
    keys: List[str] = []
    for entry in index["shards"]:
        url = join(root, entry["url"])
        if not fs.exists(url):
            problems.append(f"{entry['name']}: listed in the index but missing")
            continue
        keys.extend(_check_shard(fs, url, entry, problems))
    duplicates = [key for key, count in collections.Counter(keys).items() if count > 1]
    if duplicates:
        problems.append(f"duplicate keys across shards: {duplicates[:5]}")
    with fs.open(join(root, index["stats"]), "rt") as handle:
        stats = json.load(handle)
    pairs = _read(fs, join(root, index["manifests"]["pairs"]), manifests.PAIRS, problems)
    videos = _read(fs, join(root, index["manifests"]["videos"]), manifests.VIDEOS, problems)
    kept = sorted(row["key"] for row in pairs if row["status"] == "kept")
    if kept != sorted(keys):
        problems.append(f"pairs.parquet lists {len(kept)} kept pairs, shards hold {len(keys)}")
    counts = {"index": index["num_samples"], "stats": stats["triples"],
              "videos.parquet": sum(row["num_kept"] for row in videos), "shards": len(keys)}
    if len(set(counts.values())) != 1:
        problems.append(f"triple counts disagree: {counts}")
    if stats["videos"]["total"] != len(videos):
        problems.append(f"stats count {stats['videos']['total']} videos, manifest {len(videos)}")
    plain = {VIDEOS_MANIFEST: index["manifests"]["videos"],
             PAIRS_MANIFEST: index["manifests"]["pairs"], STATS: index["stats"]}
    for copy, committed in plain.items():
        if fs.exists(join(root, copy)) and \
                fs.cat_file(join(root, copy)) != fs.cat_file(join(root, committed)):
            problems.append(f"{copy} differs from the committed {committed}")
    problems.extend(_run_problems(folder, fs, root))
    return problems


def _run_problems(folder: str, fs, root: str) -> List[str]:
    """A stale lease, and temporaries outside the runs' own folders. What a live run has in
    its folder is its business; what a dead run left there no reader ever sees, and the next
    build or caption sweeps it."""
    problems = [p for p in [lease.stale_report(folder)] if p]
    own = (join(root, lease.LEASE_DIR) + "/", join(root, lease.RUNS_DIR) + "/")
    strays = [path for path in fs.find(root) if TMP_MARK in path.rsplit("/", 1)[-1]
              and not path.startswith(own)]
    problems.extend(f"temporary file left behind: {path}" for path in strays)
    return problems


def _read(fs, url: str, schema, problems: List[str]) -> List[dict]:
    with fs.open(url, "rb") as handle:
        table = pq.read_table(handle)
    if not manifests.conforms(table.schema, schema):
        problems.append(f"{url}: columns differ from the schema")
    return table.to_pylist()
