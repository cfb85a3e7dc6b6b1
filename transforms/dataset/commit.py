"""Make a dataset version visible: this run's manifest part and the stats first, the index last.

Readers and `validate` follow index.json, never a glob of the folder, so files of an unfinished
run are never read. Every input video is accounted for in the videos manifest; a version's
counts are the previous version's plus this run's part's (transforms/manifest_stats.py), so a
commit costs what the run added, not what the dataset holds.
"""
from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Optional

import apache_beam as beam

from schemas import manifests
from schemas.records import PairOutcome, VideoOutcome
from schemas.sample import SCHEMA_VERSION
from transforms.dataset import heartbeat, index as index_commit, lease, manifest_stats, parts, runs
from transforms.dataset.index import current_index
from transforms.dataset.known import Lookup
from transforms.dataset.parts import PLAIN_COPY_MAX_ROWS, json_bytes, read_json
from transforms.storage import create_bytes, filesystem, join, remove_temporaries, write_bytes

STATS = "stats.json"
VIDEOS_MANIFEST = "manifest/videos.parquet"
PAIRS_MANIFEST = "manifest/pairs.parquet"


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
             mode: str = "overwrite", run=None, retry_failed: str = "") -> dict:
    """Commits a dataset version: this run's manifest part and the version's stats under a new
    version folder, then the index that lists the old parts and shards plus this run's, then the
    plain-named copies. Returns the stats.

    With a run (transforms/lease.RunRef) the commit happens only while the run holds the lease
    and onto the version it started from (transforms/index_commit.py); the version's files are
    created only if absent.

    Nothing of the committed version is read row by row or rewritten: the new counts are the old
    ones plus this run's part's, and a refresh killed at any moment leaves the old version
    readable.
    """
    videos, pairs, shards = list(videos), list(pairs), list(shards)
    _check_complete(videos, pairs, shards)
    kept_per_video = collections.Counter(p.meta.source.video_id for p in pairs if p.kept)
    video_rows = [manifests.video_row(v, kept_per_video[v.source.video_id]) for v in videos]
    _check_failures(video_rows, max_failure_ratio, output, run)
    pair_rows = [manifests.pair_row(p) for p in pairs]
    committed = current_index(output)
    previous = committed if mode == "refresh" else None
    if previous and not video_rows:  # nothing new: the version stands
        write_plain_copies(output, previous)
        return read_json(join(output, previous["stats"]))
    # A rebuild, too, numbers its version after the committed one: its marker is fresh.
    version = committed.get("version", 0) + 1 if committed else 1
    tmp = run.tmp if run is not None else None
    if run is not None:
        heartbeat.keep_alive(run)
        index_commit.check_base(output, run)  # before writing anything into the version folder
        lease.check_owner(run)
    base = parts.convert_legacy(output, previous, version, tmp) if previous else \
        {"parts": [], "known": [], "shards": []}
    # Only a retry processes videos the dataset has (transforms/existing.py SkipKnown).
    replaced = _superseded_videos(output, parts.known_files(base), video_rows) \
        if retry_failed else {}
    entry = parts.write_part(
        output, version, video_rows, pair_rows,
        {"videos": sorted(replaced)} if replaced else {},
        manifest_stats.count_rows([{"status": "failed", "reason": reason}
                                   for reason in replaced.values()], []), tmp)
    old_counts = parts.version_counts(output, previous) if previous else manifest_stats.empty()
    counts = manifest_stats.add(old_counts, parts.part_counts(output, entry))
    listed = [{k: v for k, v in shard.items() if k != "url"} for shard in base["shards"]]
    listed += [{**shard, "version": version} for shard in sorted(shards, key=lambda s: s["name"])]
    return commit_version(output, version, base["parts"] + [entry],
                          base["known"] + [{"version": version, "file": entry["known"]}],
                          listed, counts, previous, run)


def _superseded_videos(output: str, known: List[str], video_rows: List[dict]) -> Dict[str, str]:
    """{uri: failure reason} of the earlier rows this run's rows replace: retried videos.

    Only a failed video is processed again (transforms/existing.py), and a failed video has no
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
    it started from (transforms/index_commit.py)."""
    stats = {"schema_version": SCHEMA_VERSION, **counts,
             "triples": sum(shard["num_samples"] for shard in shards), "shards": len(shards)}
    folder = parts.version_folder(version)
    if run is not None:
        heartbeat.keep_alive(run)
        index_commit.check_base(output, run)
        lease.check_owner(run)
    # Created only if absent: a racing run's commit fails here, before its index.
    create_bytes(join(output, folder, STATS), json_bytes(stats),
                 run.tmp if run is not None else None)
    if run is None:
        remove_temporaries(output)  # left by writers killed mid-file; every write here is done
    index = {
        "schema_version": SCHEMA_VERSION,
        "version": version,
        "shards": [{**shard, "url": f"shards/{shard['name']}"} for shard in shards],
        "num_samples": stats["triples"],
        "parts": part_list,
        "known": known,
        "stats": f"{folder}/{STATS}",
    }
    write_index(output, index, previous, run)
    if run is not None:  # this run's staging, and what runs that lost the lease left
        runs.sweep(output, None, [shard["name"] for shard in shards], None)
    write_plain_copies(output, index)
    return stats


def write_index(output: str, index: dict, previous: Optional[dict], run=None) -> None:
    """Makes the version visible: the one write the commit hinges on, written last. `previous`
    is the index the run started from (None for a first build or a rebuild); with a run, its
    base version is checked again at the marker (transforms/index_commit.py)."""
    index_commit.publish(output, index, json_bytes(index), run)


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


def _commit(_, output, max_failure_ratio, mode, run, retry_failed, videos, pairs,
            shards) -> dict:
    return finalize(output, videos, pairs, shards, max_failure_ratio, mode, run, retry_failed)


class Finalize(beam.PTransform):
    """Waits for every video outcome, pair outcome and shard, then commits the dataset."""

    def __init__(self, output: str, max_failure_ratio: float, mode: str, run=None,
                 retry_failed: str = ""):
        super().__init__()
        self._retry_failed = retry_failed
        self._output = output
        self._max_failure_ratio = max_failure_ratio
        self._mode = mode
        self._run = run

    def expand(self, results):
        return (results["videos"].pipeline
                | "Once" >> beam.Create([None])
                | "Commit" >> beam.Map(
                    _commit, self._output, self._max_failure_ratio, self._mode, self._run,
                    self._retry_failed,
                    videos=beam.pvalue.AsList(results["videos"]),
                    pairs=beam.pvalue.AsList(results["pairs"]),
                    shards=beam.pvalue.AsList(results["shards"])))
