"""Make a dataset version visible: manifests and stats first, the index last.

Readers and `validate` follow index.json, never a glob of the folder, so files of an unfinished
run are never read. Every input video is accounted for in videos.parquet; counts in stats,
manifests and index come from the same rows, so they agree by construction.
"""
from __future__ import annotations

import collections
import io
import json
from typing import Dict, Iterable, List, Optional

import apache_beam as beam
import pyarrow.parquet as pq

from schemas import manifests
from schemas.records import PairOutcome, VideoOutcome
from schemas.sample import SCHEMA_VERSION
from transforms import heartbeat, index_commit, lease, runs
from transforms.existing import read_rows
from transforms.index_commit import current_index, current_version
from transforms.storage import create_bytes, filesystem, join, remove_temporaries, write_bytes

STATS = "stats.json"
VERSIONS_DIR = "versions"
VIDEOS_MANIFEST = "manifest/videos.parquet"
PAIRS_MANIFEST = "manifest/pairs.parquet"


def _parquet_bytes(table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def compute_stats(video_rows: List[dict], pair_rows: List[dict], shards: List[dict]) -> dict:
    statuses = collections.Counter(row["status"] for row in video_rows)
    kept = sum(1 for row in pair_rows if row["status"] == "kept")
    return {
        "schema_version": SCHEMA_VERSION,
        "videos": {"total": len(video_rows),
                   **{status: statuses.get(status, 0) for status in manifests.VIDEO_STATUSES}},
        "video_reasons": dict(sorted(collections.Counter(
            row["reason"] for row in video_rows if row["reason"]).items())),
        "pairs": {"candidates": len(pair_rows), "kept": kept, "rejected": len(pair_rows) - kept},
        "pair_reasons": dict(sorted(collections.Counter(
            row["reason"] for row in pair_rows if row["reason"]).items())),
        "triples": sum(shard["num_samples"] for shard in shards),
        "shards": len(shards),
    }


class TooManyFailures(RuntimeError):
    """More inputs failed than the run allows: the dataset is left uncommitted (no new index)."""


def _check_failures(rows: List[dict], max_ratio: float, output: str, run=None) -> None:
    failed = sum(1 for row in rows if row["status"] == "failed")
    if rows and failed / len(rows) > max_ratio:
        reasons = dict(collections.Counter(r["reason"] for r in rows if r["status"] == "failed"))
        # Staged samples: no run will copy them into a shard now.
        if run is None:
            remove_temporaries(output)
        else:  # its own folder only, never a listing of the dataset
            runs.remove_run(output, run.run_id, None)
        raise TooManyFailures(
            f"{failed} of {len(rows)} videos failed (more than {max_ratio:.0%}); reasons: "
            f"{reasons}. Nothing was committed; the shards written are not in any index.")


class LostPairs(RuntimeError):
    """Pairs that the decoder sampled reached no outcome (neither a shard nor a drop reason):
    the runner lost elements. Committing would lose them silently, so nothing is committed."""


def _check_complete(videos: List[VideoOutcome], pairs: List[PairOutcome],
                    shards: List[Dict]) -> None:
    """Every sampled pair has exactly one outcome, and every kept pair is in a shard.

    Seen once on the local multi-process runner (Beam 2.77, a loaded 2-core machine): 1,634 of
    32,000 pairs of a build vanished between decoding and writing, with no error; the same
    command again lost none.
    """
    outcomes = collections.Counter(pair.meta.source.video_id for pair in pairs)
    short = [video for video in videos if outcomes[video.source.video_id] != video.num_candidates]
    kept = sum(1 for pair in pairs if pair.kept)
    written = sum(shard["num_samples"] for shard in shards)
    if short or kept != written:
        sampled = sum(video.num_candidates for video in videos)
        example = f"; first: {short[0].source.uri}" if short else ""
        raise LostPairs(
            f"LostPairs: {len(pairs)} pair outcomes for {sampled} sampled pairs{example}; "
            f"{kept} kept, {written} in shards. The runner lost elements. Nothing was "
            "committed; run the same command again.")


def finalize(output: str, videos: Iterable[VideoOutcome], pairs: Iterable[PairOutcome],
             shards: Iterable[Dict], max_failure_ratio: float = 1.0,
             mode: str = "overwrite", run=None) -> dict:
    """Commits a dataset version: its manifests and stats under a new version folder, then the
    index that points at them, then the plain-named copies. Returns the stats.

    In refresh mode the committed version's rows and shards come first, so that manifests, stats
    and index cover the whole dataset; nothing of the committed version is overwritten before the
    new index is in place, so a refresh killed at any moment leaves the old version readable.
    """
    videos, pairs, shards = list(videos), list(pairs), list(shards)
    _check_complete(videos, pairs, shards)
    kept_per_video = collections.Counter(p.meta.source.video_id for p in pairs if p.kept)
    video_rows = [manifests.video_row(v, kept_per_video[v.source.video_id]) for v in videos]
    _check_failures(video_rows, max_failure_ratio, output, run)
    pair_rows = [manifests.pair_row(p) for p in pairs]
    shards = sorted(shards, key=lambda shard: shard["name"])
    previous = current_index(output) if mode == "refresh" else None
    if previous and not video_rows:  # nothing new: the version stands
        _restore_plain_copies(output, previous)
        return _read_json(join(output, previous["stats"]))
    if previous:
        retried = {row["uri"] for row in video_rows}  # a retried video's new row replaces its old
        video_rows = [row for row in read_rows(output, previous, "videos")
                      if row["uri"] not in retried] + video_rows
        pair_rows = read_rows(output, previous, "pairs") + pair_rows
        shards = [{k: v for k, v in shard.items() if k != "url"} for shard in previous["shards"]] \
            + shards
    return commit_version(output, video_rows, pair_rows, shards, previous, run)


def commit_version(output: str, video_rows: List[dict], pair_rows: List[dict],
                   shards: List[Dict], previous: Optional[dict], run=None) -> dict:
    """Writes a version's manifests and stats, then the index that makes it visible, then the
    plain-named copies. `shards` are the index entries the version lists. Returns the stats.

    With a run (transforms/lease.RunRef) the commit happens only while the run holds the lease
    and onto the version it started from (transforms/index_commit.py)."""
    stats = compute_stats(video_rows, pair_rows, shards)
    version = (previous["version"] if previous else current_version(output)) + 1
    folder = f"{VERSIONS_DIR}/v{version:06d}"
    files = {
        VIDEOS_MANIFEST: _parquet_bytes(manifests.table(video_rows, manifests.VIDEOS, "uri")),
        PAIRS_MANIFEST: _parquet_bytes(manifests.table(pair_rows, manifests.PAIRS, "key")),
        STATS: _json_bytes(stats),
    }
    if run is not None:
        heartbeat.keep_alive(run)
        index_commit.check_base(output, run)  # before writing anything into the version folder
        lease.check_owner(run)
    for name, data in files.items():  # created only if absent: a racing run's fail here
        create_bytes(join(output, folder, name.rsplit("/", 1)[-1]), data,
                     run.tmp if run is not None else None)
    if run is None:
        remove_temporaries(output)  # left by writers killed mid-file; every write here is done
    index = {
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "shards": [{**shard, "url": f"shards/{shard['name']}"} for shard in shards],
        "num_samples": stats["triples"],
        "manifests": {"videos": f"{folder}/videos.parquet", "pairs": f"{folder}/pairs.parquet"},
        "stats": f"{folder}/stats.json",
    }
    index_commit.publish(output, index, _json_bytes(index), run)
    if run is not None:  # this run's staging, and what runs that lost the lease left
        runs.sweep(output, None, [shard["name"] for shard in shards], None)
    # The plain names of the data contract, for people and tools that open them directly. They
    # follow the index; the index's own paths are the authoritative ones.
    for name, data in files.items():
        write_bytes(join(output, name), data)
    return stats


def _restore_plain_copies(output: str, index: dict) -> None:
    """Rewrites the plain-named copies from the committed version, in case a run died between
    its index and its copies."""
    sources = {VIDEOS_MANIFEST: index["manifests"]["videos"],
               PAIRS_MANIFEST: index["manifests"]["pairs"], STATS: index["stats"]}
    for plain, versioned in sources.items():
        fs, path = filesystem(join(output, versioned))
        with fs.open(path, "rb") as handle:
            data = handle.read()
        fs_plain, plain_path = filesystem(join(output, plain))
        if not fs_plain.exists(plain_path) or fs_plain.cat_file(plain_path) != data:
            write_bytes(join(output, plain), data)


def _read_json(url: str) -> dict:
    fs, path = filesystem(url)
    with fs.open(path, "rt") as handle:
        return json.load(handle)


def _commit(_, output, max_failure_ratio, mode, run, videos, pairs, shards) -> dict:
    return finalize(output, videos, pairs, shards, max_failure_ratio, mode, run)


class Finalize(beam.PTransform):
    """Waits for every video outcome, pair outcome and shard, then commits the dataset."""

    def __init__(self, output: str, max_failure_ratio: float, mode: str, run=None):
        super().__init__()
        self._output = output
        self._max_failure_ratio = max_failure_ratio
        self._mode = mode
        self._run = run

    def expand(self, results):
        return (results["videos"].pipeline
                | "Once" >> beam.Create([None])
                | "Commit" >> beam.Map(
                    _commit, self._output, self._max_failure_ratio, self._mode, self._run,
                    videos=beam.pvalue.AsList(results["videos"]),
                    pairs=beam.pvalue.AsList(results["pairs"]),
                    shards=beam.pvalue.AsList(results["shards"])))
