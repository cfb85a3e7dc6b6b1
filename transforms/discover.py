"""Discover input videos: fsspec globs (local paths or any fsspec URL) or manifest files.

A manifest is CSV, JSONL or Parquet with a `uri` column and optional `id`, `label` and `class`
columns. Each input becomes a VideoSource with a stable id, its size and modification time.
Manifests are read as people save them (a UTF-8 byte-order mark, a row of the wrong shape, a
label with line breaks): what cannot be used becomes a source with a problem, one row of
videos.parquet, never an exception that stops the run.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

import apache_beam as beam
import fsspec

from schemas.records import VideoSource
from schemas.shard_layout import safe_id, video_id_for
from transforms import metrics
from transforms.labels import clean_label
from transforms.schemes import scheme_problem
from transforms.source_identity import identity, merge_duplicates, split_collisions

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
            dataset: Optional[str] = None, **problem):
    row = row or {}
    given_id = _text(row.get("id"))
    return VideoSource(
        uri=uri,
        video_id=safe_id(given_id) if given_id else video_id_for(uri),
        size=int(info["size"]) if info and info.get("size") is not None else None,
        mtime=_stamp(info) if info else None,
        label=_text(row.get("label")),
        class_name=_text(row.get("class")),
        license=_text(row.get("license", row.get("licence"))),
        attribution=_text(row.get("attribution")),
        dataset=dataset,
        **problem,
    )


def _text(value: Any) -> Optional[str]:
    """Free text from a manifest as one clean line (transforms/labels.py), None when empty."""
    text, cut = clean_label(value)
    if cut:
        metrics.count("labels_truncated")
    return text


def _placeholder(uri: str, problem: str, detail: str) -> VideoSource:
    """An input that names no usable source: still accounted for, as a row of its own."""
    return VideoSource(uri=uri, video_id=video_id_for(uri), problem=problem,
                       problem_detail=detail[:500])


def normalize(uri: str) -> str:
    """The URI by which a source is known, whatever its spelling (relative, ./, //)."""
    if scheme_problem(uri):
        return uri
    fs, path = fsspec.core.url_to_fs(uri)
    return _qualify(fs, path)


def expand_glob(pattern: str, exclude: Tuple[str, ...] = ()) -> List[VideoSource]:
    """The files a glob (or a folder) matches, except those under an `exclude` folder (the
    run's own output: a rerun must not read its shards as videos)."""
    fs, path = fsspec.core.url_to_fs(pattern)
    if fs.isdir(path):
        path = path.rstrip("/") + "/*"  # a folder means the files directly inside it
    matches = fs.glob(path, detail=True)
    skip = tuple(normalize(folder).rstrip("/") + "/" for folder in exclude if folder)
    found = [(_qualify(fs, name), info) for name, info in sorted(matches.items())
             if info.get("type", "file") == "file"]
    return [_source(uri, info, dataset=pattern) for uri, info in found
            if not uri.startswith(skip)]


def read_manifest(uri: str) -> Iterator[Dict[str, Any]]:
    if uri.endswith(".parquet"):
        import pyarrow.parquet as pq
        with fsspec.open(uri, "rb") as handle:
            yield from pq.read_table(handle).to_pylist()
        return
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8", Notepad) is not part of the first key.
    with fsspec.open(uri, "rt", encoding="utf-8-sig", newline="") as handle:
        if uri.endswith(".jsonl"):
            for line in handle:
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as error:
                        yield MalformedRow(f"not valid JSON ({error})")
        else:
            import csv
            yield from csv.DictReader(handle)


class MalformedRow(str):
    """A manifest row that is not a mapping of columns: why, in words."""


# The columns a manifest row is read for; any other column is not used.
COLUMNS = ("uri", "id", "label", "class", "license", "licence", "attribution")


def _plain_keys(row: Any) -> Any:
    """Column names as spreadsheets save them (`URI`, ` label` after a comma-space) read as
    the names they mean."""
    if not isinstance(row, dict):
        return row
    return {str(key).strip().lower() if key is not None else None: value
            for key, value in row.items()}


def unused_columns(uri: str, sample: int = 100) -> List[str]:
    """Columns of a manifest's first rows that nothing reads (a typo such as `lable` would
    otherwise drop every label without a word)."""
    found: List[str] = []
    for number, row in enumerate(read_manifest(uri)):
        if number >= sample:
            break
        if isinstance(row, dict):
            found += [key for key in _plain_keys(row) if key not in COLUMNS and key not in found]
    return found


# Columns that hold one value of text; a list or an object there is a row of the wrong shape.
TEXT_COLUMNS = ("uri", "id", "label", "class", "license", "licence", "attribution",
                "instruction", "input", "output")


def shape_problem(row: Any) -> Optional[str]:
    """None when the row is an object whose text columns hold scalars; else why not."""
    if isinstance(row, MalformedRow):
        return str(row)
    if not isinstance(row, dict):
        return f"a {type(row).__name__}, not an object"
    wrong = [key for key in TEXT_COLUMNS if isinstance(row.get(key), (list, dict))]
    if wrong:
        return f"{wrong[0]!r} is a {type(row[wrong[0]]).__name__}, not text"
    return None


def expand_manifest(uri: str) -> List[VideoSource]:
    uri = normalize(uri)
    base = os.path.dirname(uri)
    sources = []
    rows = [_plain_keys(row) for row in read_manifest(uri)]
    columns = {key for row in rows if isinstance(row, dict) for key in row}
    if columns and "uri" not in columns:  # the whole file is wrong, not one row: say so once
        separated = any(mark in name for name in columns for mark in ";\t|")
        raise ValueError(f"{uri} has no 'uri' column (its columns: {', '.join(sorted(columns))})"
                         + ("; a CSV must be separated by commas" if separated else ""))
    for number, row in enumerate(rows, start=1):
        placeholder = f"{uri}#row={number}"
        why = shape_problem(row)
        if why:
            sources.append(_placeholder(placeholder, "malformed_row", f"row {number}: {why}"))
            continue
        target = str(row.get("uri") or "").strip()
        if not target:  # still accounted for: a row of its own in videos.parquet
            sources.append(_placeholder(placeholder, "missing_uri", f"row {number} has no uri"))
            continue
        target = resolve_relative(target, base)
        unusable = scheme_problem(target)
        if unusable:
            sources.append(_source(target, None, row, uri, problem="unsupported_scheme",
                                   problem_detail=unusable))
            continue
        fs, path = fsspec.core.url_to_fs(target)
        try:
            info = fs.info(path)
        except (OSError, ValueError):
            info = None  # kept: the decode stage records it as missing or unreadable
        sources.append(_source(_qualify(fs, path), info, row, dataset=uri))
    return sources


def resolve_relative(target: str, base: str) -> str:
    """A manifest's relative path, relative to the manifest; URLs and absolute paths as they are."""
    if "://" in target or os.path.isabs(target) or not base:
        return target
    return f"{base}/{target}"


def expand_aurora(uri: str) -> List[VideoSource]:
    """AURORA-format JSON: a list of {"instruction", "input", "output"} labelled image pairs."""
    uri = normalize(uri)  # ids hash the pair's URI: one spelling for every way of naming it
    with fsspec.open(uri, "rt", encoding="utf-8-sig") as handle:
        items = json.load(handle)
    if not isinstance(items, list):
        raise ValueError(f"{uri}: an AURORA file is a JSON list of {{instruction, input, "
                         f"output}} objects, not a {type(items).__name__}")
    base = os.path.dirname(uri)
    return [_aurora_item(f"{uri}#{number}", item, base, uri)
            for number, item in enumerate(items)]


def _aurora_item(pair_uri: str, item: Any, base: str, dataset: str) -> VideoSource:
    why = shape_problem(item)
    if why:
        return _placeholder(pair_uri, "malformed_row", f"item: {why}")
    before, after = (str(item.get(side) or "").strip() for side in ("input", "output"))
    instruction = _text(item.get("instruction"))
    source = VideoSource(uri=pair_uri, video_id=video_id_for(pair_uri), label=instruction,
                         class_name=_text(item.get("class")), dataset=dataset)
    if not (before and after and instruction):
        missing = [name for name, value in (("input", before), ("output", after),
                                            ("instruction", instruction)) if not value]
        return dataclasses.replace(source, problem="incomplete_pair",
                                   problem_detail=f"no {' or '.join(missing)}")
    images = tuple(resolve_relative(side, base) for side in (before, after))
    unusable = next(filter(None, map(scheme_problem, images)), None)
    if unusable:
        return dataclasses.replace(source, problem="unsupported_scheme", problem_detail=unusable)
    return dataclasses.replace(source, images=tuple(map(normalize, images)))


def expand_input(spec: str, exclude: Tuple[str, ...] = ()) -> List[VideoSource]:
    if spec.endswith(".json"):
        return expand_aurora(spec)
    if spec.endswith(MANIFEST_SUFFIXES):
        return expand_manifest(spec)
    return expand_glob(spec, exclude)


class Discover(beam.PTransform):
    """Input specs -> one VideoSource per distinct source (transforms/source_identity.py);
    sources whose ids collide become `duplicate_id` failures. Globs skip files under
    `exclude` (the output folder)."""

    def __init__(self, config: DiscoverConfig, exclude: Tuple[str, ...] = ()):
        super().__init__()
        self._config = config
        self._exclude = tuple(exclude)

    def expand(self, pipeline):
        return (pipeline
                | "Specs" >> beam.Create(list(self._config.inputs))
                | "Expand" >> beam.FlatMap(expand_input, self._exclude)
                | "ByUri" >> beam.Map(lambda source: (identity(source), source))
                | "Group" >> beam.GroupByKey()
                | "First" >> beam.Map(_first_of)
                | "ById" >> beam.Map(lambda source: (source.video_id, source))
                | "GroupById" >> beam.GroupByKey()
                | "UniqueIds" >> beam.FlatMap(lambda item: split_collisions(list(item[1]))))


def _first_of(item) -> VideoSource:
    """One source per identity (inputs may name a file twice); counted for progress displays,
    and the duplicates merged into it counted for the run's summary."""
    metrics.count("videos_discovered")
    source, merged = merge_duplicates(item[1])
    if merged:
        metrics.count("duplicate_inputs_merged", merged)
    return source
