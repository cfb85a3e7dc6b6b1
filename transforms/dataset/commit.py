"""Make a dataset version visible: the run's manifest part and the stats first, the index last.

Readers and `validate` follow index.json, never a glob of the folder, so files of an unfinished
run are never read. A version's counts are the previous version's plus this run's part's
(transforms/dataset/manifest_stats.py), so a commit costs what the run added, not what the
dataset holds.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from schemas.shard_layout import SCHEMA_VERSION
from transforms.dataset import heartbeat, lease, manifest_stats, parts, runs
from transforms.dataset.index import check_base, publish
from transforms.dataset.known import Lookup
from transforms.dataset.layout import (PAIRS_MANIFEST, STATS, VIDEOS_MANIFEST, shard_path,
                                       version_stats)
from transforms.dataset.parts import PLAIN_COPY_MAX_ROWS, json_bytes, read_json
from transforms.dataset.run_config import RunConfig
from transforms.storage import create_bytes, filesystem, join, remove_temporaries, write_bytes


def commit_run(output: str, video_rows: List[dict], pair_rows: List[dict], shards: List[Dict],
               options: RunConfig, base: Optional[dict], run=None) -> dict:
    """Commits a dataset version from one run's manifest rows and shards: this run's manifest
    part and the version's stats under a new version folder, then the index that lists the old
    parts and shards (of `base`, the committed index the run started from, for a refresh) plus
    this run's, then the plain-named copies. Returns the stats.

    With a run (transforms/dataset/lease.RunRef) the commit happens only while the run holds
    the lease and onto the version it started from (transforms/dataset/index.py); the
    version's files are created only if absent.

    Nothing of the committed version is read row by row or rewritten: the new counts are the old
    ones plus this run's part's, and a refresh killed at any moment leaves the old version
    readable.
    """
    previous = options.previous(base)
    if previous and not video_rows:  # nothing new: the version stands
        write_plain_copies(output, previous)
        return read_json(join(output, previous["stats"]))
    # A rebuild, too, numbers its version after the committed one: its marker is fresh.
    version = base.get("version", 0) + 1 if base else 1
    tmp = run.tmp if run is not None else None
    if run is not None:
        heartbeat.keep_alive(run)
        check_base(output, run)  # before writing anything into the version folder
        lease.check_owner(run)
    converted = parts.convert_legacy(output, previous, version, tmp) if previous else \
        {"parts": [], "known": [], "shards": []}
    # Only a retry processes videos the dataset has (transforms/skip_known.py).
    replaced = _superseded_videos(output, parts.known_files(converted), video_rows) \
        if options.retry_failed else {}
    entry = parts.write_part(
        output, version, video_rows, pair_rows,
        {"videos": sorted(replaced)} if replaced else {},
        manifest_stats.count_rows([{"status": "failed", "reason": reason}
                                   for reason in replaced.values()], []), tmp)
    old_counts = parts.version_counts(output, previous) if previous else manifest_stats.empty()
    counts = manifest_stats.add(old_counts, parts.part_counts(output, entry))
    listed = [{k: v for k, v in shard.items() if k != "url"} for shard in converted["shards"]]
    listed += [{**shard, "version": version} for shard in sorted(shards, key=lambda s: s["name"])]
    return commit_version(output, version, converted["parts"] + [entry],
                          converted["known"] + [{"version": version, "file": entry["known"]}],
                          listed, counts, previous, run)


def _superseded_videos(output: str, known: List[str], video_rows: List[dict]) -> Dict[str, str]:
    """{uri: failure reason} of the earlier rows this run's rows replace: retried videos.

    Only a failed video is processed again (transforms/skip_known.py), and a failed video has no
    pair rows, so its video row is all that a retry supersedes."""
    if not known:
        return {}
    found = Lookup(output, known).find(row["uri"] for row in video_rows)
    not_failed = sorted(uri for uri, row in found.items() if row["failed_reason"] is None)
    if not_failed:
        raise RuntimeError(f"{len(not_failed)} videos of this run are already in the dataset "
                           f"and did not fail there (first: {not_failed[0]}); nothing was "
                           "committed. Did another run commit into the same output?")
    return {uri: row["failed_reason"] for uri, row in found.items()}


def commit_version(output: str, version: int, part_list: List[dict], known: List[dict],
                   shards: List[Dict], counts: dict, previous: Optional[dict],
                   run=None) -> dict:
    """Writes the version's stats, then the index that makes it visible, then the plain-named
    copies. `shards` are the index entries the version lists. Returns the stats.

    With a run the index is published only while the run holds the lease and onto the version
    it started from (transforms/dataset/index.py)."""
    stats = {"schema_version": SCHEMA_VERSION, **counts,
             "triples": sum(shard["num_samples"] for shard in shards), "shards": len(shards)}
    if run is not None:
        heartbeat.keep_alive(run)
        check_base(output, run)
        lease.check_owner(run)
    # Created only if absent: a racing run's commit fails here, before its index.
    create_bytes(join(output, version_stats(version)), json_bytes(stats),
                 run.tmp if run is not None else None)
    if run is None:
        remove_temporaries(output)  # left by writers killed mid-file; every write here is done
    index = {
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "shards": [{**shard, "url": shard_path(shard["name"])} for shard in shards],
        "num_samples": stats["triples"],
        "parts": part_list,
        "known": known,
        "stats": version_stats(version),
    }
    write_index(output, index, previous, run)
    if run is not None:  # this run's staging, and what runs that lost the lease left
        runs.sweep(output, None, [shard["name"] for shard in shards], None)
    write_plain_copies(output, index)
    return stats


def write_index(output: str, index: dict, previous: Optional[dict], run=None) -> None:
    """Makes the version visible: the one write the commit hinges on, written last. `previous`
    is the index the run started from (None for a first build or a rebuild); with a run, its
    base version is checked again at the marker (transforms/dataset/index.py)."""
    publish(output, index, json_bytes(index), run)


def write_plain_copies(output: str, index: dict) -> None:
    """The plain names of the data contract (manifest/videos.parquet, manifest/pairs.parquet,
    stats.json), for people and tools that open them directly; they follow the index, whose own
    paths are the authoritative ones. Above PLAIN_COPY_MAX_ROWS pair rows the manifests are read
    from the parts instead and stale copies are removed. A copy is written only when its bytes
    change, so the next run completes a commit that died after its index."""
    if "parts" not in index:  # written before parts: its own commit wrote its copies
        return
    fs, root = filesystem(output)
    wanted = {STATS: fs.cat_file(join(root, index["stats"]))}
    small = parts.total_rows(index, "pairs") <= PLAIN_COPY_MAX_ROWS
    for name, plain in (("videos", VIDEOS_MANIFEST), ("pairs", PAIRS_MANIFEST)):
        if small:
            table = parts.read_table(output, index, name)
            wanted[plain] = parts.parquet_bytes(table.sort_by(parts.IDENTITY[name]))
        elif fs.exists(join(root, plain)):
            fs.rm(join(root, plain))
    for plain, data in wanted.items():
        path = join(root, plain)
        if not fs.exists(path) or fs.cat_file(path) != data:
            write_bytes(join(output, plain), data)
