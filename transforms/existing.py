"""What a dataset folder already holds, read through its index (never a glob of the folder).

An incremental refresh skips videos the dataset already has (same URI, size and modification
time or etag), numbers its new shards after the existing ones and commits a new index that
lists old and new together. Nothing already written is rewritten.
"""
from __future__ import annotations

import json
from typing import Dict, List, Optional

import apache_beam as beam
import pyarrow.parquet as pq

from schemas.records import VideoSource
from transforms.storage import filesystem, join

INDEX = "index.json"
MODES = ("refresh", "overwrite")
RETRY_CHOICES = ("", "transient", "all")
# Failures that may not happen again: worth a retry. Anything else is the file's own fault.
TRANSIENT_REASONS = frozenset({"io_error", "decode_timeout", "decoder_crashed"})


def read_index(output: str) -> Optional[dict]:
    fs, path = filesystem(join(output, INDEX))
    try:
        with fs.open(path, "rt") as handle:
            return json.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_rows(output: str, index: dict, manifest: str) -> List[dict]:
    fs, path = filesystem(join(output, index["manifests"][manifest]))
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle).to_pylist()


def known_videos(output: str) -> Dict[str, dict]:
    """{uri: its videos.parquet row} for every video the committed dataset accounts for."""
    index = read_index(output)
    if index is None:
        return {}
    return {row["uri"]: row for row in read_rows(output, index, "videos")}


def should_retry(row: dict, retry_failed: str) -> bool:
    return row["status"] == "failed" and (
        retry_failed == "all" or row["reason"] in TRANSIENT_REASONS)


def existing_shard_count(output: str) -> int:
    index = read_index(output)
    return len(index["shards"]) if index else 0


def _select(source: VideoSource, known: Dict[str, dict], retry_failed: str):
    row = known.get(source.uri)
    if retry_failed:  # only earlier failures; new videos wait for a plain refresh
        if row is not None and should_retry(row, retry_failed):
            beam.metrics.Metrics.counter("idp_corpus", "videos_retried").inc()
            yield source
        return
    if row is None:
        yield source
    elif (row["size"], row["mtime"]) == (source.size, source.mtime):
        beam.metrics.Metrics.counter("idp_corpus", "videos_already_in_dataset").inc()
    else:
        # Its old samples sit in immutable shards; a rebuild (--mode overwrite) takes the change.
        beam.metrics.Metrics.counter("idp_corpus", "videos_changed_not_reprocessed").inc()


class SkipKnown(beam.PTransform):
    """VideoSource -> only the sources the dataset at `output` does not have yet (or, with
    `retry_failed`, only those whose earlier attempt failed)."""

    def __init__(self, output: str, retry_failed: str = ""):
        super().__init__()
        self._output = output
        self._retry_failed = retry_failed

    def expand(self, sources):
        known = (sources.pipeline
                 | "Output" >> beam.Create([self._output])
                 | "ReadKnown" >> beam.Map(known_videos))
        return sources | "Select" >> beam.FlatMap(_select, beam.pvalue.AsSingleton(known),
                                                  self._retry_failed)
