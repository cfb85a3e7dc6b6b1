"""Counts of manifest rows that merge by addition.

Each part of a dataset's manifests carries the counts of its own rows, minus the counts of the
earlier rows it supersedes; a version's counts are the sum over the parts it lists. Nothing
counts old rows again. Counts are taken from pyarrow batches, so a part of any size is counted
in bounded memory.
"""
from __future__ import annotations

import collections
import json
from typing import Dict, Iterable, List

import pyarrow as pa
import pyarrow.compute as pc

from schemas import manifests

# The additive sections of stats.json; "triples" and "shards" come from the index's shard list.
SECTIONS = ("videos", "video_reasons", "pairs", "pair_reasons", "pair_stages", "action_sources",
            "qc_flags", "caption_models", "funnel")
VIDEO_COLUMNS = ["status", "reason", "num_candidates"]
PAIR_COLUMNS = ["status", "reason", "action", "action_source", "qc_flags", "caption_model",
                "caption_revision", "prompt_id", "decoding"]
CAPTION_SETTING = ("caption_model", "caption_revision", "prompt_id", "decoding")


def drop_stage(reason: str, has_action: bool) -> str:
    """Which stage rejected a pair, from its manifest row: pairs dropped before captioning carry
    no action; caption QC's reasons are caption_*; what else drops captioned pairs selects."""
    if reason == "caption_failed":
        return "caption"
    if not has_action:
        return "filters"
    return "caption QC" if reason.startswith("caption_") else "selection"


def caption_setting_key(model, revision, prompt_id, decoding) -> str:
    """A caption setting as a stats key (JSON keys are strings)."""
    return json.dumps([model, revision or "", prompt_id or "", decoding or ""])


def empty() -> Dict[str, Dict[str, int]]:
    return {"videos": {"total": 0, **{status: 0 for status in manifests.VIDEO_STATUSES}},
            "video_reasons": {}, "pairs": {"candidates": 0, "kept": 0, "rejected": 0},
            "pair_reasons": {}, "pair_stages": {}, "action_sources": {}, "qc_flags": {},
            "caption_models": {},
            "funnel": {"videos_with_candidates": 0, "kept_without_action": 0}}


def _value_counts(column) -> Dict[str, int]:
    counts = pc.value_counts(pc.drop_null(column)).to_pylist()
    return {item["values"]: item["counts"] for item in counts}


def _group_counts(table: pa.Table, columns: List[str]) -> List[tuple]:
    """(values of `columns`..., rows) for each distinct combination."""
    if table.num_rows == 0:
        return []
    grouped = table.select(columns).group_by(columns, use_threads=False).aggregate(
        [([], "count_all")]).to_pylist()
    return [(*(row[column] for column in columns), row["count_all"]) for row in grouped]


def _table(batch) -> pa.Table:
    return batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])


def count_videos(batch) -> Dict[str, Dict[str, int]]:
    """The counts of a batch (pyarrow RecordBatch or Table) of videos rows with VIDEO_COLUMNS."""
    table = _table(batch)
    statuses = _value_counts(table["status"])
    counts = empty()
    counts["videos"] = {"total": table.num_rows, **{status: statuses.get(status, 0)
                                                    for status in manifests.VIDEO_STATUSES}}
    counts["video_reasons"] = _value_counts(table["reason"])
    counts["funnel"]["videos_with_candidates"] = pc.sum(
        pc.greater(pc.fill_null(table["num_candidates"], 0), 0).cast(pa.int64())).as_py() or 0
    return counts


def count_pairs(batch) -> Dict[str, Dict[str, int]]:
    """The counts of a batch of pairs rows with PAIR_COLUMNS."""
    table = _table(batch)
    counts = empty()
    kept = table.filter(pc.equal(table["status"], "kept"))
    rejected = table.filter(pc.equal(table["status"], "rejected"))
    counts["pairs"] = {"candidates": table.num_rows, "kept": kept.num_rows,
                       "rejected": table.num_rows - kept.num_rows}
    counts["pair_reasons"] = _value_counts(table["reason"])
    stages = collections.Counter()
    with_action = rejected.append_column("has_action", pc.is_valid(rejected["action"]))
    for reason, has_action, rows in _group_counts(with_action, ["reason", "has_action"]):
        stages[drop_stage(reason or "", has_action)] += rows
    counts["pair_stages"] = dict(stages)
    counts["action_sources"] = _value_counts(pc.fill_null(kept["action_source"], "none"))
    counts["qc_flags"] = _value_counts(pc.list_flatten(kept["qc_flags"]))
    captioned = kept.filter(pc.is_valid(kept["caption_model"]))
    counts["caption_models"] = {caption_setting_key(*setting): rows for *setting, rows
                                in _group_counts(captioned, list(CAPTION_SETTING))}
    counts["funnel"]["kept_without_action"] = kept.num_rows - pc.sum(
        pc.is_valid(kept["action"]).cast(pa.int64())).as_py() if kept.num_rows else 0
    return counts


def count_rows(video_rows: Iterable[dict], pair_rows: Iterable[dict]) -> Dict[str, dict]:
    """The counts of plain manifest rows (dicts; absent columns count as null)."""
    return add(count_videos(pa.Table.from_pylist(list(video_rows), schema=manifests.VIDEOS)),
               count_pairs(pa.Table.from_pylist(list(pair_rows), schema=manifests.PAIRS)))


def count_parts(root: str, index: dict) -> Dict[str, dict]:
    """The counts of every latest row the index's parts hold: one streaming pass, for checks
    (validate) and for datasets whose stats predate a section."""
    from transforms.dataset import parts
    total = empty()
    for batch in parts.scan(root, index, "videos", VIDEO_COLUMNS):
        total = add(total, count_videos(batch))
    for batch in parts.scan(root, index, "pairs", PAIR_COLUMNS):
        total = add(total, count_pairs(batch))
    return total


def add(left: dict, right: dict, sign: int = 1) -> Dict[str, Dict[str, int]]:
    """left + sign * right, section by section; reasons that reach zero disappear."""
    total = {}
    for section in SECTIONS:
        merged = collections.Counter(left.get(section, {}))
        for name, value in right.get(section, {}).items():
            merged[name] += sign * value
        keep_zero = section in ("videos", "pairs", "funnel")
        total[section] = dict(sorted((name, value) for name, value in merged.items()
                                     if value or keep_zero))
    return total


def complete(stats: dict) -> bool:
    """Whether a stats.json has every additive section (those written before some did not)."""
    return all(section in stats for section in SECTIONS)


def additive(stats: dict) -> Dict[str, Dict[str, int]]:
    """The additive sections of a complete stats.json."""
    return {section: dict(stats[section]) for section in SECTIONS}
