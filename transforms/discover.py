"""Discover input videos: fsspec globs (local paths or any fsspec URL) or manifest files.

A manifest is CSV, JSONL or Parquet with a `uri` column and optional `id`, `label` and `class`
columns. Each input becomes a VideoSource with a stable id, its size and modification time.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

import apache_beam as beam
import fsspec

from schemas.records import VideoSource
from schemas.sample import safe_id, video_id_for

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".parquet")


@dataclasses.dataclass(frozen=True)
class DiscoverConfig:
    inputs: Tuple[str, ...] = dataclasses.field(default=(), metadata={
        "help": "video globs (local or any fsspec URL, e.g. 's3://bucket/*.mp4') or manifest "
                "files (.csv/.jsonl/.parquet with a uri column); repeat for several"})


def _protocol(fs) -> str:
    protocol = fs.protocol
    return protocol[0] if isinstance(protocol, (tuple, list)) else protocol


def _qualify(fs, path: str) -> str:
    """A URI that fsspec can open again from anywhere: absolute local paths, protocol URLs."""
    protocol = _protocol(fs)
    if protocol in ("file", "local"):
        return os.path.abspath(path)
    return fs.unstrip_protocol(path)


def _stamp(info: Dict[str, Any]) -> Optional[str]:
    for field in ("ETag", "etag", "md5Hash", "mtime", "LastModified", "last_modified", "created"):
        if info.get(field) is not None:
            return str(info[field]).strip('"')
    return None


def _source(uri: str, info: Optional[Dict[str, Any]], row: Optional[Dict[str, Any]] = None,
            dataset: Optional[str] = None):
    row = row or {}
    given_id = row.get("id")
    return VideoSource(
        uri=uri,
        video_id=safe_id(str(given_id)) if given_id not in (None, "") else video_id_for(uri),
        size=int(info["size"]) if info and info.get("size") is not None else None,
        mtime=_stamp(info) if info else None,
        label=_text(row.get("label")),
        class_name=_text(row.get("class")),
        license=_text(row.get("license", row.get("licence"))),
        attribution=_text(row.get("attribution")),
        dataset=dataset,
    )


def _text(value: Any) -> Optional[str]:
    return None if value is None or value == "" else str(value)


def expand_glob(pattern: str) -> List[VideoSource]:
    fs, path = fsspec.core.url_to_fs(pattern)
    if fs.isdir(path):
        path = path.rstrip("/") + "/*"  # a folder means the files directly inside it
    matches = fs.glob(path, detail=True)
    return [_source(_qualify(fs, name), info, dataset=pattern)
            for name, info in sorted(matches.items()) if info.get("type", "file") == "file"]


def read_manifest(uri: str) -> Iterator[Dict[str, Any]]:
    if uri.endswith(".parquet"):
        import pyarrow.parquet as pq
        with fsspec.open(uri, "rb") as handle:
            yield from pq.read_table(handle).to_pylist()
        return
    with fsspec.open(uri, "rt", encoding="utf-8", newline="") as handle:
        if uri.endswith(".jsonl"):
            for line in handle:
                if line.strip():
                    yield json.loads(line)
        else:
            import csv
            yield from csv.DictReader(handle)


def expand_manifest(uri: str) -> List[VideoSource]:
    base = os.path.dirname(uri)
    sources = []
    for number, row in enumerate(read_manifest(uri), start=1):
        target = str(row.get("uri") or "").strip()
        if not target:  # still accounted for: a row of its own in videos.parquet
            placeholder = f"{uri}#row={number}"
            sources.append(VideoSource(uri=placeholder, video_id=video_id_for(placeholder),
                                       problem="missing_uri"))
            continue
        fs, path = fsspec.core.url_to_fs(resolve_relative(target, base))
        try:
            info = fs.info(path)
        except FileNotFoundError:
            info = None  # kept: the decode stage records it as missing, with a reason
        sources.append(_source(_qualify(fs, path), info, row, dataset=uri))
    return sources


def resolve_relative(target: str, base: str) -> str:
    """A manifest's relative path, relative to the manifest; URLs and absolute paths as they are."""
    if "://" in target or os.path.isabs(target) or not base:
        return target
    return f"{base}/{target}"


def expand_aurora(uri: str) -> List[VideoSource]:
    """AURORA-format JSON: a list of {"instruction", "input", "output"} labelled image pairs."""
    with fsspec.open(uri, "rt", encoding="utf-8") as handle:
        items = json.load(handle)
    base = os.path.dirname(uri)
    sources = []
    for number, item in enumerate(items):
        pair_uri = f"{uri}#{number}"
        before, after = (str(item.get(side) or "") for side in ("input", "output"))
        instruction = _text(item.get("instruction"))
        problem = None if before and after and instruction else "incomplete_pair"
        sources.append(VideoSource(
            uri=pair_uri, video_id=video_id_for(pair_uri), label=instruction,
            class_name=_text(item.get("class")), dataset=uri, problem=problem,
            images=None if problem else (resolve_relative(before, base),
                                         resolve_relative(after, base))))
    return sources


def expand_input(spec: str) -> List[VideoSource]:
    if spec.endswith(".json"):
        return expand_aurora(spec)
    return expand_manifest(spec) if spec.endswith(MANIFEST_SUFFIXES) else expand_glob(spec)


class Discover(beam.PTransform):
    """Input specs -> one VideoSource per distinct URI."""

    def __init__(self, config: DiscoverConfig):
        super().__init__()
        self._config = config

    def expand(self, pipeline):
        return (pipeline
                | "Specs" >> beam.Create(list(self._config.inputs))
                | "Expand" >> beam.FlatMap(expand_input)
                | "ByUri" >> beam.Map(lambda source: (source.uri, source))
                | "Group" >> beam.GroupByKey()
                | "First" >> beam.Map(_first_of))


def _first_of(item) -> VideoSource:
    """One source per URI (a manifest may list a file twice); counted for progress displays."""
    beam.metrics.Metrics.counter("idp_corpus", "videos_discovered").inc()
    return min(item[1], key=repr)
