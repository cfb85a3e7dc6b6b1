"""Ids the committed dataset already uses: a new or retried video may not take one of them.

A sample key is built from the video id, so a video added by a refresh under an id another video
of the dataset has (two teams' lists both starting at `0001`) would write keys the dataset
already holds. Such a video becomes a `duplicate_id` failure instead, naming the other URI.
Only the manifest's (video_id, uri) columns are read.
"""
from __future__ import annotations

from typing import Dict, List

import apache_beam as beam
import pyarrow.parquet as pq

from schemas.records import VideoSource
from transforms.existing import read_index
from transforms.source_identity import collision
from transforms.storage import filesystem, join


def committed_ids(output: str) -> Dict[str, List[str]]:
    """{video_id: the URIs the committed dataset has under it}."""
    index = read_index(output)
    if index is None:
        return {}
    fs, path = filesystem(join(output, index["manifests"]["videos"]))
    with fs.open(path, "rb") as handle:
        table = pq.read_table(handle, columns=["video_id", "uri"])
    ids: Dict[str, List[str]] = {}
    for video_id, uri in zip(table.column("video_id").to_pylist(), table.column("uri").to_pylist()):
        ids.setdefault(video_id, []).append(uri)
    return ids


def refuse_taken(source: VideoSource, ids: Dict[str, List[str]]) -> VideoSource:
    others = [uri for uri in ids.get(source.video_id, ()) if uri != source.uri]
    return collision(source, others, "in the existing dataset") if others else source


class RefuseTakenIds(beam.PTransform):
    """VideoSource -> the same, or a `duplicate_id` failure when the dataset at `output` has its
    id under another URI. Goes after SkipKnown: what reaches it is new or retried."""

    def __init__(self, output: str):
        super().__init__()
        self._output = output

    def expand(self, sources):
        ids = (sources.pipeline
               | "Output" >> beam.Create([self._output])
               | "ReadIds" >> beam.Map(committed_ids))
        return sources | "Refuse" >> beam.Map(refuse_taken, beam.pvalue.AsSingleton(ids))
