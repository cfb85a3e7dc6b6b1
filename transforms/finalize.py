"""The end of a build: wait for every outcome, check that none was lost and that not too many
videos failed, then commit the dataset version (transforms/dataset/commit.py). Every input
video is accounted for in the videos manifest."""
from __future__ import annotations

import collections
from typing import Dict, Iterable, List, Optional

import apache_beam as beam

from schemas import manifests
from schemas.records import PairOutcome, VideoOutcome
from transforms.dataset import runs
from transforms.dataset.commit import commit_run
from transforms.dataset.run_config import RunConfig
from transforms.storage import remove_temporaries


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
             shards: Iterable[Dict], options: RunConfig, base: Optional[dict],
             run=None) -> dict:
    """Checks the run's outcomes and commits them as a new version onto `base`, the committed
    index the run started from. Returns the stats."""
    videos, pairs, shards = list(videos), list(pairs), list(shards)
    _check_complete(videos, pairs, shards)
    kept_per_video = collections.Counter(p.meta.source.video_id for p in pairs if p.kept)
    video_rows = [manifests.video_row(v, kept_per_video[v.source.video_id]) for v in videos]
    _check_failures(video_rows, options.max_failure_ratio, output, run)
    pair_rows = [manifests.pair_row(p) for p in pairs]
    return commit_run(output, video_rows, pair_rows, shards, options, base, run)


def _commit(_, output, options, base, run, videos, pairs, shards) -> dict:
    return finalize(output, videos, pairs, shards, options, base, run)


class Finalize(beam.PTransform):
    """Waits for every video outcome, pair outcome and shard, then commits the dataset onto
    `base`, the committed index the run started from."""

    def __init__(self, output: str, options: RunConfig, base: Optional[dict], run=None):
        super().__init__()
        self._output = output
        self._options = options
        self._base = base
        self._run = run

    def expand(self, results):
        return (results["videos"].pipeline
                | "Once" >> beam.Create([None])
                | "Commit" >> beam.Map(
                    _commit, self._output, self._options, self._base, self._run,
                    videos=beam.pvalue.AsList(results["videos"]),
                    pairs=beam.pvalue.AsList(results["pairs"]),
                    shards=beam.pvalue.AsList(results["shards"])))
