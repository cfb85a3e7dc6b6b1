"""An incremental refresh skips the videos the dataset already has (same URI, size and
modification time or etag); a retry (--retry-failed) takes only those whose attempt failed.
What the dataset has is looked up in the committed version's lookup files
(transforms/dataset/known.py), never by a glob of the folder."""
from __future__ import annotations

from typing import Iterable, Optional, Tuple

import apache_beam as beam

from schemas import manifests
from schemas.records import VideoSource
from transforms import metrics
from transforms.dataset.known import Lookup, bucket_range
from transforms.dataset.parts import committed_lookup
from transforms.dataset.run_config import RunConfig


def _select(group: Tuple[int, Iterable[VideoSource]], lookup: Lookup, retry_failed: str):
    _, sources = group
    sources = list(sources)
    known = lookup.find(source.uri for source in sources)
    for source in sources:
        yield from _select_one(source, known.get(source.uri), retry_failed)


def _select_one(source: VideoSource, row: Optional[dict], retry_failed: str):
    """`row`: the video's lookup row, None for a video the dataset lacks."""
    if retry_failed:  # only earlier failures; new videos wait for a plain refresh
        if row is not None and manifests.retried(row["failed_reason"], retry_failed):
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
    return bucket_range(source.uri, count), source


def _open_lookup(output: str, base: Optional[dict]) -> Lookup:
    return committed_lookup(output, base)


class SkipKnown(beam.PTransform):
    """VideoSource -> only the sources the dataset at `output` does not have yet (or, with
    `options.retry_failed`, only those whose earlier attempt failed). `base`: the committed
    index the run starts from.

    Sources are grouped by ranges of their URIs' hash buckets and each group looks up only
    its own buckets (transforms/dataset/known.py): no worker holds the whole video manifest."""

    def __init__(self, output: str, base: Optional[dict], options: RunConfig):
        super().__init__()
        self._output = output
        self._base = base
        self._options = options

    def expand(self, sources):
        lookup = (sources.pipeline
                  | "Output" >> beam.Create([self._output])
                  | "OpenLookup" >> beam.Map(_open_lookup, self._base))
        count = sources | "Count" >> beam.combiners.Count.Globally()
        return (sources
                | "ByBuckets" >> beam.Map(_bucket_range, beam.pvalue.AsSingleton(count))
                | "GroupByBuckets" >> beam.GroupByKey()
                | "Select" >> beam.FlatMap(_select, beam.pvalue.AsSingleton(lookup),
                                           self._options.retry_failed))
