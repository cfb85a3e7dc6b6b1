"""Manifests beside the shards: one row per input video, one row per candidate pair.

Rows are plain dicts whose keys are exactly the schema's columns; the builders below are the only
place records turn into rows.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import pyarrow as pa

from schemas.records import PairOutcome, VideoOutcome

VIDEO_STATUSES = ("ok", "no_pairs", "failed")
# The reasons the status rule gives a decoded video without triples that has none of its own.
DEFAULT_REASONS = frozenset({"all_pairs_dropped", "no_candidates"})
# Failures that may not happen again: worth a retry. Anything else is the file's own fault.
TRANSIENT_REASONS = frozenset({"io_error", "decode_timeout", "decoder_crashed"})

VIDEOS = pa.schema([
    ("video_id", pa.string()),
    ("uri", pa.string()),
    ("size", pa.int64()),
    ("mtime", pa.string()),
    ("label", pa.string()),
    ("class", pa.string()),
    ("license", pa.string()),
    ("attribution", pa.string()),
    ("sha256", pa.string()),
    ("status", pa.string()),  # ok (gave triples) / no_pairs / failed
    ("reason", pa.string()),  # null when ok
    ("message", pa.string()),
    ("decoder", pa.string()),
    ("fps", pa.float64()),
    ("num_frames", pa.int64()),
    ("duration", pa.float64()),
    ("width", pa.int32()),  # as coded
    ("height", pa.int32()),
    # As a player shows it (schemas/shard_layout.py says what each means): null in manifests written
    # before schema 1.2, whose samples hold the coded pictures.
    ("display_width", pa.int32()),
    ("display_height", pa.int32()),
    ("rotation", pa.int32()),
    ("mirrored", pa.bool_()),
    ("sample_aspect", pa.float64()),
    ("field_order", pa.string()),
    ("num_candidates", pa.int32()),
    ("num_kept", pa.int32()),
    # Shots (transforms/shots/), null where not looked for: the first frame of each shot, the
    # transition into it (start, cut, dissolve, fade), and how many were too short for a pair.
    ("shot_starts", pa.list_(pa.int64())),
    ("shot_transitions", pa.list_(pa.string())),
    ("shots_too_short", pa.int32()),
])

PAIRS = pa.schema([
    ("key", pa.string()),
    ("video_id", pa.string()),
    ("uri", pa.string()),
    ("before_frame", pa.int64()),
    ("after_frame", pa.int64()),
    ("before_time", pa.float64()),
    ("after_time", pa.float64()),
    ("sampler", pa.string()),
    ("shot", pa.int32()),  # the shot both frames lie in; null without shots
    ("motion", pa.float64()),
    ("change", pa.float64()),
    ("cut", pa.float64()),
    ("sharpness", pa.float64()),
    ("brightness", pa.float64()),
    ("status", pa.string()),  # kept / rejected
    ("reason", pa.string()),
    ("reason_score", pa.float64()),
    ("message", pa.string()),
    ("action", pa.string()),
    ("action_source", pa.string()),
    ("idp_score", pa.float64()),
    ("idp_score_sum", pa.float64()),
    ("num_tokens", pa.int32()),
    ("caption_model", pa.string()),
    ("caption_revision", pa.string()),
    ("prompt_id", pa.string()),
    ("decoding", pa.string()),
    ("qc_flags", pa.list_(pa.string())),
    ("label", pa.string()),
    ("class", pa.string()),
    ("license", pa.string()),
    ("attribution", pa.string()),
    ("shard", pa.string()),
])


# Columns added after the first manifests: one written before them lacks them (read as null).
ADDED_COLUMNS = frozenset({
    "display_width", "display_height", "rotation", "mirrored", "sample_aspect", "field_order",
    "shot_starts", "shot_transitions", "shots_too_short", "shot"})


def conforms(found: pa.Schema, schema: pa.Schema) -> bool:
    """A manifest file's columns are the schema's, less only columns added since it was written."""
    expected = [field for field in schema
                if field.name in found.names or field.name not in ADDED_COLUMNS]
    return found.equals(pa.schema(expected))


def video_row(outcome: VideoOutcome, num_kept: int) -> Dict[str, Any]:
    """A videos.parquet row; status follows from the outcome and how many triples were written."""
    source, info = outcome.source, outcome.info
    status, reason = video_status(info is not None, outcome.reason, outcome.num_candidates,
                                  num_kept)
    return {
        "video_id": source.video_id,
        "uri": source.uri,
        "size": source.size,
        "mtime": source.mtime,
        "label": source.label,
        "class": source.class_name,
        "license": source.license,
        "attribution": source.attribution,
        "sha256": info.sha256 if info else None,
        "status": status,
        "reason": reason,
        "message": outcome.message,
        "decoder": info.decoder if info else None,
        "fps": info.fps if info else None,
        "num_frames": info.num_frames if info else None,
        "duration": info.duration if info else None,
        "width": info.width if info else None,
        "height": info.height if info else None,
        **_display(info),
        "num_candidates": outcome.num_candidates,
        "num_kept": num_kept,
        "shot_starts": list(outcome.shots.starts) if outcome.shots else None,
        "shot_transitions": list(outcome.shots.transitions) if outcome.shots else None,
        "shots_too_short": outcome.shots.too_short if outcome.shots else None,
    }


def _display(info) -> Dict[str, Any]:
    if info is None:
        return dict.fromkeys(("display_width", "display_height", "rotation", "mirrored",
                              "sample_aspect", "field_order"))
    num, den = info.display.sample_aspect
    return {"display_width": info.display_width, "display_height": info.display_height,
            "rotation": info.display.rotation, "mirrored": info.display.mirrored,
            "sample_aspect": round(num / den, 6), "field_order": info.display.field_order}


def retried(failed_reason, retry_failed: str) -> bool:
    """Whether a video whose last attempt failed for `failed_reason` (None: it did not fail) is
    processed again under --retry-failed `retry_failed` ('transient' or 'all')."""
    return failed_reason is not None and (retry_failed == "all"
                                          or failed_reason in TRANSIENT_REASONS)


def video_status(decoded: bool, reason: Optional[str], num_candidates: int,
                 num_kept: int) -> Tuple[str, Optional[str]]:
    """(status, reason) of a video in videos.parquet: failed when it could not be decoded, ok
    when triples of it were written, else no_pairs. `reason`: the video's own, if any."""
    if not decoded:
        return "failed", reason or "decode_failed"
    # A reason on a decoded video: a failure cut it short after some pairs, which are kept.
    if num_kept:
        return "ok", reason
    if num_candidates:
        return "no_pairs", reason or "all_pairs_dropped"
    return "no_pairs", reason or "no_candidates"


def restated_status(row: Dict[str, Any], num_kept: int) -> Tuple[str, Optional[str]]:
    """(status, reason) of a videos.parquet row once `num_kept` of its triples are written (a
    re-caption keeps the pairs it captions again): video_status on the row's own reason."""
    if row["status"] == "failed":
        return row["status"], row["reason"]
    reason = None if row["reason"] in DEFAULT_REASONS else row["reason"]
    return video_status(True, reason, row["num_candidates"] or 0, num_kept)


def pair_row(outcome: PairOutcome) -> Dict[str, Any]:
    meta, caption, drop = outcome.meta, outcome.caption, outcome.drop
    scores = meta.scores
    return {
        "key": meta.key,
        "video_id": meta.source.video_id,
        "uri": meta.source.uri,
        "before_frame": meta.before_index,
        "after_frame": meta.after_index,
        "before_time": meta.timestamp(meta.before_index),
        "after_time": meta.timestamp(meta.after_index),
        "sampler": meta.sampler,
        "shot": meta.shot,
        "motion": scores.motion,
        "change": scores.change,
        "cut": scores.cut,
        "sharpness": scores.sharpness,
        "brightness": scores.brightness,
        "status": "kept" if drop is None else "rejected",
        "reason": drop.reason if drop else None,
        "reason_score": drop.score if drop else None,
        "message": drop.message if drop else None,
        "action": caption.action if caption else None,
        "action_source": caption.source if caption else None,
        "idp_score": caption.idp_score if caption else None,
        "idp_score_sum": caption.idp_score_sum if caption else None,
        "num_tokens": caption.num_tokens if caption else None,
        "caption_model": caption.model_id if caption else None,
        "caption_revision": caption.model_revision if caption else None,
        "prompt_id": caption.prompt_id if caption else None,
        "decoding": caption.decoding if caption else None,
        "qc_flags": list(outcome.qc_flags),
        "label": meta.source.label,
        "class": meta.source.class_name,
        "license": meta.source.license,
        "attribution": meta.source.attribution,
        "shard": outcome.shard,
    }


def table(rows, schema: pa.Schema, sort_by: Optional[str]) -> pa.Table:
    """Rows as a table, sorted so that the same rows always give the same file."""
    if sort_by:
        rows = sorted(rows, key=lambda row: row[sort_by])
    return pa.Table.from_pylist(list(rows), schema=schema)
