"""`idp-corpus validate DIR`: check a dataset end to end, following its index.

Every shard opens and matches its index entry (size, sha256); every member decodes; keys are
unique and safe; every KEY.json matches the schema; counts agree between index, stats and
manifests (stats are the sum of the manifest parts' counts, and each part's counts are its
rows'); no temporary file is left behind. `--since VERSION` checks only what later versions
added.
"""
from __future__ import annotations

import collections
import hashlib
import io
import json
import tarfile
import tempfile
from typing import Dict, List, Optional

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from PIL import Image

from schemas import manifests, shard_layout as layout
from transforms.dataset import manifest_stats, parts
from transforms.change_map import from_npy
from transforms.dataset.layout import (INDEX, PAIRS_MANIFEST, SHARDS_DIR, STAGING_DIR, STATS,
                                       TMP_MARK, VIDEOS_MANIFEST, version_folder)
from transforms.dataset import lease
from transforms.dataset.index import read_index
from transforms.dataset.known import Lookup
from transforms.storage import filesystem, join

KEPT = ds.field("status") == "kept"
LEGACY_SECTIONS = ("videos", "video_reasons", "pairs", "pair_reasons")


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


def validate(folder: str, since: Optional[int] = None) -> List[str]:
    """Every problem found, as a readable line; empty when the dataset is sound.

    Reads the manifests part by part in batches and the shards one at a time, so memory stays
    bounded whatever the dataset's size. With `since`, checks only what the versions after
    `since` added: their shards, their manifest parts, their counts against their rows."""
    fs, root = filesystem(folder)
    index = read_index(folder)
    if index is None:
        return [f"{INDEX} is missing: the dataset was never completed"]
    problems: List[str] = []
    listed = parts.listed_parts(index)
    first = listed[0]["version"] if listed else 0
    if since is not None and since >= index["version"]:
        return []
    versions = None if since is None else {part["version"] for part in listed
                                           if part["version"] > since}
    shards = [entry for entry in index["shards"]
              if since is None or entry.get("version", first) > since]
    keys = KeyCheck(sum(entry["num_samples"] for entry in shards))
    for entry in shards:
        url = join(root, entry["url"])
        if not fs.exists(url):
            problems.append(f"{entry['name']}: listed in the index but missing")
            continue
        keys.add(_check_shard(fs, url, entry, problems))
    duplicates = keys.duplicates()
    if duplicates:
        problems.append(f"duplicate keys across shards: {duplicates[:5]}")
    problems += _check_schemas(folder, index, versions)
    kept = KeyCheck(0, spill=False)
    num_kept = 0
    for batch in parts.scan(folder, index, "pairs", ["key"], KEPT, versions):
        kept.add(batch["key"].to_pylist())
    for batch in parts.scan(folder, index, "videos", ["num_kept"], None, versions):
        num_kept += pc.sum(batch["num_kept"]).as_py() or 0
    if kept.fingerprint() != keys.fingerprint():
        problems.append(f"the manifests list {kept.count:,} kept pairs, the shards hold "
                        f"{keys.count:,} samples, or their keys differ")
    with fs.open(join(root, index["stats"]), "rt") as handle:
        stats = json.load(handle)
    problems += _check_counts(folder, index, stats, versions, since)
    if since is None:
        counts = {"index": index["num_samples"], "stats": stats["triples"],
                  "videos manifest": num_kept, "shards": keys.count}
        if len(set(counts.values())) != 1:
            problems.append(f"triple counts disagree: {counts}")
        problems += _check_plain_copies(folder, fs, root, index)
    else:
        listed_new = sum(entry["num_samples"] for entry in shards)
        if not num_kept == listed_new == keys.count:
            problems.append(f"triple counts of versions after {since} disagree: videos "
                            f"manifest {num_kept}, index {listed_new}, shards {keys.count}")
        problems += _check_new_videos(folder, index, since)
    problems.extend(_run_problems(folder, fs, root, index, versions))
    return problems


def _run_problems(folder: str, fs, root: str, index: dict, versions: Optional[set]) -> List[str]:
    """A stale lease, and temporaries outside the runs' own folders. What a live run has in
    its folder (runs/RUN_ID, lease/) is its business; what a dead run left there no reader ever
    sees, and the next build or caption sweeps it."""
    problems = [p for p in [lease.stale_report(folder)] if p]
    problems.extend(f"temporary file left behind: {path}"
                    for path in _strays(fs, root, index, versions))
    return problems


def _check_schemas(folder: str, index: dict, versions: Optional[set]) -> List[str]:
    """Each part's columns are the manifest's (a part of an older schema may lack new ones)."""
    problems = []
    for name, schema in parts.SCHEMAS.items():
        for fragment, _ in parts.fragments(folder, index, name, versions):
            if not manifests.conforms(fragment.physical_schema, schema):
                problems.append(f"{fragment.path}: columns differ from the schema")
    return problems


def _check_counts(folder: str, index: dict, stats: dict, versions: Optional[set],
                  since: Optional[int]) -> List[str]:
    """stats.json is the sum of the listed parts' counts, and each checked part's counts are
    those of its rows."""
    problems = []
    listed = parts.listed_parts(index)
    if not all(part.get("meta") for part in listed):  # written before parts: count its rows
        counted = manifest_stats.count_parts(folder, index)
        if since is None and any(counted[name] != stats[name] for name in LEGACY_SECTIONS):
            problems.append("stats count other rows than the manifests hold")
        return problems
    total = manifest_stats.empty()
    for part in listed:
        total = manifest_stats.add(total, parts.part_counts(folder, part))
    if total != manifest_stats.additive(stats):
        problems.append("stats.json is not the sum of its parts' counts")
    for part in listed:
        if versions is not None and part["version"] not in versions:
            continue
        meta = parts.read_json(join(folder, part["meta"]))
        added = meta.get("added", meta["counts"])
        rows = manifest_stats.empty()
        for name, columns, count in (("videos", manifest_stats.VIDEO_COLUMNS,
                                      manifest_stats.count_videos),
                                     ("pairs", manifest_stats.PAIR_COLUMNS,
                                      manifest_stats.count_pairs)):
            fs, path = filesystem(join(folder, part[name]))
            with fs.open(path, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(columns=columns):
                    rows = manifest_stats.add(rows, count(batch))
        if rows != added:
            problems.append(f"{part['meta']}: counts differ from the rows of its part")
    return problems


def _check_new_videos(folder: str, index: dict, since: int) -> List[str]:
    """A video the versions after `since` added is new to the dataset, or replaces a row it
    names as superseded (a retried video)."""
    listed = parts.listed_parts(index)
    lookup = Lookup(folder, [entry["file"] for entry in index.get("known", [])
                             if entry["version"] <= since])
    problems = []
    for part in listed:
        if part["version"] <= since:
            continue
        replaced = set()
        if part.get("supersedes", {}).get("videos"):
            replaced = set(parts.read_json(join(folder, part["meta"]))["supersedes"]["videos"])
        fs, path = filesystem(join(folder, part["videos"]))
        with fs.open(path, "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(columns=["uri"]):
                again = set(lookup.find(batch["uri"].to_pylist())) - replaced
                if again:
                    problems.append(f"{part['videos']}: {len(again)} videos already in the "
                                    f"dataset (first: {sorted(again)[0]})")
    return problems


def _check_plain_copies(folder: str, fs, root: str, index: dict) -> List[str]:
    problems = []
    copies = {STATS: None}
    if "parts" in index and parts.total_rows(index, "pairs") <= parts.PLAIN_COPY_MAX_ROWS:
        copies.update({VIDEOS_MANIFEST: "videos", PAIRS_MANIFEST: "pairs"})
    for copy, name in copies.items():
        path = join(root, copy)
        if not fs.exists(path):
            continue
        if name is None:
            same = fs.cat_file(path) == fs.cat_file(join(root, index["stats"]))
        else:
            with fs.open(path, "rb") as handle:
                same = pq.read_table(handle).equals(
                    parts.read_table(folder, index, name).sort_by(parts.IDENTITY[name]))
        if not same:
            problems.append(f"{copy} differs from the committed version")
    return problems


def _strays(fs, root: str, index: dict, versions: Optional[set]) -> List[str]:
    """Temporary files where writers leave them: beside the shards and manifests, in the
    version folders checked, and under the legacy staging folder. Never a walk of the whole
    dataset; the runs' own folders (runs/, lease/) are left to the sweep."""
    folders = [SHARDS_DIR, "manifest", STAGING_DIR] + [
        version_folder(part["version"]) for part in parts.listed_parts(index)
        if versions is None or part["version"] in versions]
    found = []
    for name in folders:
        path = join(root, name)
        try:
            listed = fs.find(path) if name == STAGING_DIR else fs.ls(path, detail=False)
        except FileNotFoundError:
            continue
        found += [item for item in listed if TMP_MARK in item.rsplit("/", 1)[-1]]
    return sorted(set(found))


class KeyCheck:
    """Sample keys seen, in bounded memory: their count and an order-free fingerprint (sum of
    64-bit hashes), and, when `spill`, duplicates found by spilling the keys to temporary files
    by hash bucket (about a million keys per bucket) and checking one bucket at a time."""

    BUCKET_KEYS = 1_000_000

    def __init__(self, expected: int, spill: bool = True):
        self.count, self._sum = 0, 0
        self._buckets = max(1, -(-expected // self.BUCKET_KEYS))
        self._folder = tempfile.TemporaryDirectory(prefix="idp-validate-") if spill else None
        self._files: Dict[int, object] = {}

    def add(self, keys: List[str]) -> None:
        for key in keys:
            value = int.from_bytes(hashlib.blake2b(key.encode("utf-8"),
                                                   digest_size=8).digest(), "big")
            self.count += 1
            self._sum = (self._sum + value) % (1 << 64)
            if self._folder is not None:
                bucket = value % self._buckets
                if bucket not in self._files:
                    self._files[bucket] = open(f"{self._folder.name}/{bucket}", "w",
                                               encoding="utf-8")
                self._files[bucket].write(key + "\n")

    def fingerprint(self) -> tuple:
        return self.count, self._sum

    def duplicates(self) -> List[str]:
        found: List[str] = []
        for bucket, handle in sorted(self._files.items()):
            handle.close()
            with open(handle.name, encoding="utf-8") as lines:
                counts = collections.Counter(line.rstrip("\n") for line in lines)
            found += sorted(key for key, count in counts.items() if count > 1)
        if self._folder is not None:
            self._folder.cleanup()
        return found
