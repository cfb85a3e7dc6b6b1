"""`idp-corpus score`: the paper's verifier, offline. For each item, (before, action, N candidate
after images), score every candidate by the IDP likelihood of the action, rank them and keep the
best: how an FDP model's samples get reranked.

Input: a JSONL or Parquet manifest with `id`, `before`, `action` and `candidates` (a list of image
paths or URLs; relative paths are relative to the manifest), or a dataset folder, whose triples
are scored as items with one candidate (their own after image). Output, in --output:
`scores.parquet` (one row per candidate, with its rank) and `best.jsonl` (one line per item).

A candidate that cannot be scored (its image missing or not an image, its item malformed, the
model failing on it) is its own row, with a stable `reason` and the `error` message, unranked;
the other candidates are scored as usual.
"""
from __future__ import annotations

import io
import json
import os
from typing import Dict, Iterator, List, Optional

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource
from schemas import shard_layout as layout
from schemas.shard_layout import safe_id, sample_key
from transforms.caption.stage import CaptionPairs
from transforms.discover import read_manifest, resolve_relative
from transforms.dataset.index import read_index
from transforms.caption.config import CaptionConfig
from transforms.caption.inputs import CaptionInput
from transforms.image_pairs import read_image
from transforms.shard_read import decode_jpeg, iter_shard
from transforms.storage import join, write_bytes

SCORES = pa.schema([("id", pa.string()), ("action", pa.string()), ("candidate", pa.int32()),
                    ("uri", pa.string()), ("idp_score", pa.float64()),
                    ("idp_score_sum", pa.float64()), ("rank", pa.int32()),
                    ("error", pa.string()), ("reason", pa.string())])
MAX_ERROR_CHARS = 300
FAILED = "failed"  # the tag of failure rows made while reading items


def _pair(item_id: str, action: str, index: int, uri: str, before, after) -> FramePair:
    height, width = before.shape[:2]
    source = VideoSource(uri=uri, video_id=safe_id(item_id), label=action)
    meta = PairMeta(key=sample_key(source.video_id, 0, index), source=source,
                    info=VideoInfo(0.0, 2, width, height, "image"), before_index=0,
                    after_index=index, sampler="verifier",
                    scores=PairScores(0.0, 0.0, 0.0, 0.0, 0.0))  # not filtered: never written
    return FramePair(meta, before, after)


def image_failure(error: Exception) -> Optional[str]:
    """The reason an image could not be read, or None for an error that is not the image's."""
    from PIL import Image
    from transforms.video_io import DecodeError
    if isinstance(error, FileNotFoundError):
        return "missing_image"
    if isinstance(error, IsADirectoryError):
        return "not_an_image"
    if isinstance(error, DecodeError):
        return "not_an_image" if error.reason == "decode_failed" else error.reason
    if isinstance(error, Image.DecompressionBombError):
        return "image_too_large"
    if isinstance(error, OSError):
        return "unreadable_image"
    return None


def _read(uri: str, base: str):
    """(image, None) or (None, (reason, message)) for a bad image."""
    try:
        return read_image(resolve_relative(uri, base)), None
    except Exception as error:  # noqa: BLE001 - sorted by image_failure; others re-raised
        reason = image_failure(error)
        if reason is None:
            raise
        return None, (reason, f"{uri}: {error}"[:MAX_ERROR_CHARS])


def _failure(item_id: str, action, index, uri, reason: str, message: str):
    return beam.pvalue.TaggedOutput(FAILED, {
        "id": safe_id(item_id), "action": action, "candidate": index, "uri": uri,
        "idp_score": None, "idp_score_sum": None, "rank": None, "error": message,
        "reason": reason})


def pairs_from_row(row: Dict, base: str) -> Iterator:
    """Each candidate's FramePair; a failure row (tagged FAILED) for each one that cannot be
    scored: its own image bad, the before image bad (every candidate of the item), or the
    item itself malformed."""
    missing = [key for key in ("id", "before", "action", "candidates") if not row.get(key)]
    candidates = row.get("candidates")
    if not missing and (isinstance(candidates, str)
                        or not all(isinstance(c, str) for c in candidates)):
        missing = ["candidates (a list of image paths)"]
    if missing:
        yield _failure(str(row.get("id", "")), row.get("action"), None, None, "bad_item",
                       f"item lacks {', '.join(missing)}")
        return
    item_id, action = str(row["id"]), str(row["action"])
    before, problem = _read(row["before"], base)
    for index, candidate in enumerate(candidates):
        if problem:
            yield _failure(item_id, action, index, candidate, problem[0],
                           f"before image {problem[1]}")
            continue
        after, own = _read(candidate, base)
        if own:
            yield _failure(item_id, action, index, candidate, *own)
        else:
            yield _pair(item_id, action, index, candidate, before, after)


def pairs_from_shard(url: str) -> Iterator[FramePair]:
    for key, members in iter_shard(url):
        if layout.ACTION in members:
            yield _pair(key, members[layout.ACTION].decode("utf-8"), 0, f"{url}#{key}",
                        decode_jpeg(members[layout.BEFORE]), decode_jpeg(members[layout.AFTER]))


def rank(rows: List[Dict]) -> List[Dict]:
    """Ranks each item's candidates by score (1 is best); failed candidates rank last, unranked."""
    by_item: Dict[str, List[Dict]] = {}
    for row in rows:
        by_item.setdefault(row["id"], []).append(row)
    ranked = []
    for item in sorted(by_item):
        scored = sorted((r for r in by_item[item] if r["idp_score"] is not None),
                        key=lambda r: (-r["idp_score"], r["candidate"]))
        ranked += [{**row, "rank": place} for place, row in enumerate(scored, start=1)]
        ranked += sorted((r for r in by_item[item] if r["idp_score"] is None),
                         key=lambda r: (r["candidate"] is None, r["candidate"] or 0))
    return ranked


def _row(meta: PairMeta, score=None, score_sum=None, error=None, reason=None) -> Dict:
    return {"id": meta.source.video_id, "action": meta.source.label,
            "candidate": meta.after_index, "uri": meta.source.uri, "idp_score": score,
            "idp_score_sum": score_sum, "rank": None, "error": error, "reason": reason}


def _scored_row(item: CaptionInput, caption) -> Dict:
    return _row(item.meta, caption.idp_score, caption.idp_score_sum)


def _failed_row(outcome) -> Dict:
    return _row(outcome.meta, error=outcome.drop.message, reason=outcome.drop.reason)


def write_results(_, output: str, rows: List[Dict]) -> None:
    ranked = rank(rows)
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(ranked, schema=SCORES), buffer)
    write_bytes(join(output, "scores.parquet"), buffer.getvalue())
    best = [{"id": r["id"], "action": r["action"], "best_candidate": r["candidate"],
             "uri": r["uri"], "idp_score": r["idp_score"]} for r in ranked if r["rank"] == 1]
    write_bytes(join(output, "best.jsonl"),
                "".join(json.dumps(b, sort_keys=True) + "\n" for b in best).encode("utf-8"))


def compose(pipeline: beam.Pipeline, source: str, output: str, caption: CaptionConfig):
    index = read_index(source)
    if index is not None:
        shards = [join(source, shard["url"]) for shard in index["shards"]]
        pairs = (pipeline | "Shards" >> beam.Create(shards)
                 | "ReadShard" >> beam.FlatMap(pairs_from_shard))
        unread = []  # the dataset's own images, written and checked by the build
    else:
        read = (pipeline | "Items" >> beam.Create(list(read_manifest(source)))
                | "ReadImages" >> beam.FlatMap(
                    pairs_from_row, os.path.dirname(source)).with_outputs(FAILED, main="pairs"))
        pairs, unread = read["pairs"], [read[FAILED]]
    scored = (pairs | "Reshuffle" >> beam.Reshuffle()
              | "Score" >> CaptionPairs(caption))
    rows = ((scored["captioned"] | "Rows" >> beam.MapTuple(_scored_row),
             scored["failed"] | "FailedRows" >> beam.Map(_failed_row), *unread)
            | "AllRows" >> beam.Flatten())
    return (pipeline | "Once" >> beam.Create([None])
            | "Write" >> beam.Map(write_results, output, beam.pvalue.AsList(rows)))


def outcome(output: str) -> Dict[str, int]:
    """{"candidates": rows written, "failed": rows without a score} of a finished score run."""
    from transforms.storage import filesystem
    fs, path = filesystem(join(output, "scores.parquet"))
    with fs.open(path, "rb") as handle:
        scores = pq.read_table(handle, columns=["idp_score"]).column("idp_score")
    return {"candidates": len(scores), "failed": scores.null_count}
