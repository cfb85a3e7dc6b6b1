"""What a dataset folder already holds, read through its index (never a glob of the folder).

An incremental refresh skips videos the dataset already has (same URI, size and modification
time or etag), numbers its new shards after the existing ones and commits a new index that
lists old and new together. Nothing already written is rewritten.
"""
from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple

import apache_beam as beam
import pyarrow.parquet as pq

from schemas.records import VideoSource
from transforms.storage import filesystem, join

INDEX = "index.json"
MODES = ("refresh", "overwrite")


def read_index(output: str) -> Optional[dict]:
    fs, path = filesystem(join(output, INDEX))
    try:
        with fs.open(path, "rt") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def read_rows(output: str, index: dict, manifest: str) -> List[dict]:
    fs, path = filesystem(join(output, index["manifests"][manifest]))
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle).to_pylist()


def known_videos(output: str) -> Dict[str, Tuple]:
    """{uri: (size, mtime)} of every video the committed dataset accounts for."""
    index = read_index(output)
    if index is None:
        return {}
    return {row["uri"]: (row["size"], row["mtime"]) for row in read_rows(output, index, "videos")}


def existing_shard_count(output: str) -> int:
    index = read_index(output)
    return len(index["shards"]) if index else 0


def _skip_known(source: VideoSource, known: Dict[str, Tuple]):
    stamp = known.get(source.uri)
    if stamp is None:
        yield source
    elif stamp == (source.size, source.mtime):
        beam.metrics.Metrics.counter("idp_corpus", "videos_already_in_dataset").inc()
    else:
        # Its old samples sit in immutable shards; a rebuild (--mode overwrite) takes the change.
        beam.metrics.Metrics.counter("idp_corpus", "videos_changed_not_reprocessed").inc()


class SkipKnown(beam.PTransform):
    """VideoSource -> only the sources the dataset at `output` does not have yet."""

    def __init__(self, output: str):
        super().__init__()
        self._output = output

    def expand(self, sources):
        known = (sources.pipeline
                 | "Output" >> beam.Create([self._output])
                 | "ReadKnown" >> beam.Map(known_videos))
        return sources | "Skip" >> beam.FlatMap(_skip_known, beam.pvalue.AsSingleton(known))
