"""Ids the committed dataset already uses: a new or retried video may not take one of them.

A sample key is built from the video id, so a video added by a refresh under an id another video
of the dataset has (two teams' lists both starting at `0001`) would write keys the dataset
already holds. Such a video becomes a `duplicate_id` failure instead, naming the other URI.

Only the ids the run's sources carry are looked up: sources are grouped by ranges of their ids'
hash buckets (as SkipKnown groups URIs), and each group scans the manifest parts' (video_id, uri)
columns filtered on its own ids. No worker holds the dataset's ids.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import apache_beam as beam
import pyarrow.dataset as ds

from schemas.records import VideoSource
from transforms.dataset import parts
from transforms.dataset.known import bucket_range
from transforms.source_identity import collision


def committed_ids(output: str, index: Optional[dict],
                  video_ids: Iterable[str]) -> Dict[str, List[str]]:
    """{video_id: the URIs the committed version `index` has under it}, for `video_ids` only."""
    wanted = sorted(set(video_ids))
    if index is None or not wanted:
        return {}
    ids: Dict[str, List[str]] = {}
    for batch in parts.scan(output, index, "videos", ["video_id", "uri"],
                            ds.field("video_id").isin(wanted)):
        for video_id, uri in zip(batch["video_id"].to_pylist(), batch["uri"].to_pylist()):
            ids.setdefault(video_id, []).append(uri)
    return ids


def refuse_taken(source: VideoSource, ids: Dict[str, List[str]]) -> VideoSource:
    others = [uri for uri in ids.get(source.video_id, ()) if uri != source.uri]
    return collision(source, others, "in the existing dataset") if others else source


def _id_range(source: VideoSource, count: int) -> Tuple[int, VideoSource]:
    return bucket_range(source.video_id, count), source


def _refuse_group(group: Tuple[int, Iterable[VideoSource]], output: str,
                  index: Optional[dict]):
    _, sources = group
    sources = list(sources)
    ids = committed_ids(output, index, (source.video_id for source in sources))
    for source in sources:
        yield refuse_taken(source, ids)


class RefuseTakenIds(beam.PTransform):
    """VideoSource -> the same, or a `duplicate_id` failure when the dataset at `output` has its
    id under another URI in `base`, the committed index the run starts from. Goes after
    SkipKnown: what reaches it is new or retried."""

    def __init__(self, output: str, base: Optional[dict]):
        super().__init__()
        self._output = output
        self._base = base

    def expand(self, sources):
        count = sources | "Count" >> beam.combiners.Count.Globally()
        return (sources
                | "ByIdBuckets" >> beam.Map(_id_range, beam.pvalue.AsSingleton(count))
                | "GroupByIdBuckets" >> beam.GroupByKey()
                | "Refuse" >> beam.FlatMap(_refuse_group, self._output, self._base))
