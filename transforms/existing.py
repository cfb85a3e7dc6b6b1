"""What a dataset folder already holds, read through its index (never a glob of the folder).

An incremental refresh skips videos the dataset already has (same URI, size and modification
time or etag), numbers its new shards after the existing ones and commits a new index that
lists old and new together. Nothing already written is rewritten.
"""
from __future__ import annotations

import json
from typing import Iterable, Optional, Tuple

import apache_beam as beam

from schemas.records import VideoSource
from transforms import metrics
from transforms import parts
from transforms.known import NUM_BUCKETS, Lookup, bucket
from transforms.parts import known_files
from transforms.storage import filesystem, join

INDEX = "index.json"
MODES = ("refresh", "overwrite")
RETRY_CHOICES = ("", "transient", "all")
# Failures that may not happen again: worth a retry. Anything else is the file's own fault.
TRANSIENT_REASONS = frozenset({"io_error", "decode_timeout", "decoder_crashed"})
SOURCES_PER_LOOKUP = 10_000


def read_index(output: str) -> Optional[dict]:
    fs, path = filesystem(join(output, INDEX))
    try:  # cat_file, not open: open may pin an ETag from a listing cached before a commit
        return json.loads(fs.cat_file(path))
    except (FileNotFoundError, NotADirectoryError):
        return None


def should_retry(row: dict, retry_failed: str) -> bool:
    """`row`: the video's lookup row (transforms/known.py)."""
    reason = row["failed_reason"]
    return reason is not None and (retry_failed == "all" or reason in TRANSIENT_REASONS)


def existing_shard_count(output: str) -> int:
    index = read_index(output)
    return len(index["shards"]) if index else 0


def _select(group: Tuple[int, Iterable[VideoSource]], lookup: Lookup, retry_failed: str):
    _, sources = group
    sources = list(sources)
    known = lookup.find(source.uri for source in sources)
    for source in sources:
        yield from _select_one(source, known.get(source.uri), retry_failed)


def _select_one(source: VideoSource, row: Optional[dict], retry_failed: str):
    if retry_failed:  # only earlier failures; new videos wait for a plain refresh
        if row is not None and should_retry(row, retry_failed):
            metrics.count("videos_retried")
            yield source
        return
    if row is None:
        yield source
    elif (row["size"], row["mtime"]) == (source.size, source.mtime):
        metrics.count("videos_already_in_dataset")
    else:
        # Its old samples sit in immutable shards; a rebuild (--mode overwrite) takes the change.
        metrics.count("videos_changed_not_reprocessed")


def _bucket_range(source: VideoSource, count: int) -> Tuple[int, VideoSource]:
    """(range of URI buckets, source): about SOURCES_PER_LOOKUP sources a range, so a small
    refresh looks up once and a listing of millions splits into ranges that each read only
    their share of the lookup files."""
    ranges = max(1, min(NUM_BUCKETS, -(-count // SOURCES_PER_LOOKUP)))
    return bucket(source.uri) * ranges // NUM_BUCKETS, source


def _lookup(output: str) -> Lookup:
    """The committed version's lookup of known videos (empty for a new dataset)."""
    index = read_index(output)
    if index is None:
        return Lookup(output, [])
    if "parts" not in index:  # written before parts: its one videos manifest, read whole once
        return Lookup(output, [], held=parts.legacy_lookup(output, index))
    return Lookup(output, known_files(index))


class SkipKnown(beam.PTransform):
    """VideoSource -> only the sources the dataset at `output` does not have yet (or, with
    `retry_failed`, only those whose earlier attempt failed).

    Sources are grouped by ranges of their URIs' hash buckets and each group looks up only
    its own buckets (transforms/known.py): no worker holds the whole video manifest."""

    def __init__(self, output: str, retry_failed: str = ""):
        super().__init__()
        self._output = output
        self._retry_failed = retry_failed

    def expand(self, sources):
        lookup = (sources.pipeline
                  | "Output" >> beam.Create([self._output])
                  | "OpenLookup" >> beam.Map(_lookup))
        count = sources | "Count" >> beam.combiners.Count.Globally()
        return (sources
                | "ByBuckets" >> beam.Map(_bucket_range, beam.pvalue.AsSingleton(count))
                | "GroupByBuckets" >> beam.GroupByKey()
                | "Select" >> beam.FlatMap(_select, beam.pvalue.AsSingleton(lookup),
                                           self._retry_failed))
