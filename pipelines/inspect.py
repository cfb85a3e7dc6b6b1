"""`idp-corpus inspect DIR`: what a dataset holds, in the terminal or as JSON for scripts.

Reads only index.json and what it points at: counts from the stats, score quantiles and sample
actions from a bounded sample of the manifest parts; shards are not opened, so it is quick on
any size of dataset.
"""
from __future__ import annotations

import random
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.card import caption_models, human_bytes
from pipelines.readers import Dataset
from pipelines.report import SCORES

QUANTILES = (0.0, 0.1, 0.5, 0.9, 1.0)
SAMPLE_ACTIONS = 5
# Score quantiles come from at most this many pair rows (whole row groups drawn at random), so
# inspect reads a bounded amount whatever the dataset's size; exact below it.
SAMPLE_ROWS = 200_000


def quantiles(values, sampled: bool = False) -> Optional[Dict[str, float]]:
    """Quantiles of a list or pyarrow array of numbers; nulls are left out."""
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = pa.array(values, pa.float64())
    values = np.asarray(pc.drop_null(values).to_numpy(), dtype=np.float64)
    if not len(values):
        return None
    points = np.quantile(values, QUANTILES)
    names = ("min", "p10", "p50", "p90", "max")
    return {"count": len(values), "sampled": sampled,
            **{name: round(float(point), 6) for name, point in zip(names, points)}}


def summary(dataset: Dataset, seed: int = 0) -> dict:
    """Everything `inspect` shows, as plain JSON-ready values. Counts come from the stats;
    score quantiles and sample actions from a bounded sample of the pair rows."""
    stats, index = dataset.stats, dataset.index
    sizes = [shard["size"] for shard in index["shards"]]
    counts = [shard["num_samples"] for shard in index["shards"]]
    pairs, sampled = dataset.sample("pairs", SAMPLE_ROWS, seed,
                                    ["key", "status", "action", *SCORES, "idp_score"])
    kept = pairs.filter(pc.equal(pairs["status"], "kept"))
    keys = sorted(kept["key"].to_pylist())
    picked = set(random.Random(seed).sample(keys, min(SAMPLE_ACTIONS, len(keys))))
    picked_rows = [row for row in kept.to_pylist() if row["key"] in picked]
    return {
        "dataset": dataset.root,
        "version": index.get("version", 1),
        "schema_version": index["schema_version"],
        "triples": stats["triples"],
        "shards": {"count": len(sizes), "bytes": sum(sizes),
                   "samples_min": min(counts, default=0), "samples_max": max(counts, default=0),
                   "bytes_min": min(sizes, default=0), "bytes_max": max(sizes, default=0)},
        "videos": stats["videos"],
        "video_reasons": stats["video_reasons"],
        "pairs": stats["pairs"],
        "pair_reasons": stats["pair_reasons"],
        "dropped_by_stage": dict(sorted(stats["pair_stages"].items())),
        "action_sources": dict(sorted(stats["action_sources"].items())),
        "qc_flags": dict(sorted(stats["qc_flags"].items())),
        "caption_models": [dict(zip(("model", "revision", "prompt_id", "decoding", "triples"),
                                    model)) for model in caption_models(stats)],
        "scores": {
            "kept": {name: quantiles(kept[name], sampled)
                     for name in (*SCORES, "idp_score")},
            "candidates": {name: quantiles(pairs[name], sampled)
                           for name in (*SCORES, "idp_score")},
        },
        "sample_actions": [{"key": row["key"], "action": row["action"],
                            "idp_score": row["idp_score"]}
                           for row in sorted(picked_rows, key=lambda row: row["key"])],
    }


def _counts(title: str, counts: Dict[str, int]) -> List[str]:
    if not counts:
        return [f"{title}: none"]
    width = max(len(name) for name in counts)
    return [f"{title}:"] + [f"  {name:<{width}}  {value:>8,}" for name, value in
                            sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _quantile_table(scores: Dict[str, Optional[dict]]) -> List[str]:
    lines = [f"  {'score':<11} {'count':>7} {'min':>10} {'p10':>10} {'p50':>10} {'p90':>10} "
             f"{'max':>10}"]
    for name, row in scores.items():
        if row is None:
            lines.append(f"  {name:<11} {0:>7}")
            continue
        lines.append(f"  {name:<11} {row['count']:>7,} " + " ".join(
            f"{row[point]:>10.4g}" for point in ("min", "p10", "p50", "p90", "max")))
    return lines


def render(info: dict) -> str:
    shards, videos, pairs = info["shards"], info["videos"], info["pairs"]
    lines = [
        f"{info['dataset']}  (version {info['version']}, schema {info['schema_version']})",
        f"triples   {info['triples']:,}",
        f"shards    {shards['count']:,}, {human_bytes(shards['bytes'])} "
        f"({shards['samples_min']:,}-{shards['samples_max']:,} samples, "
        f"{human_bytes(shards['bytes_min'])}-{human_bytes(shards['bytes_max'])} each)",
        f"videos    {videos['total']:,}: {videos['ok']:,} ok, {videos['no_pairs']:,} no pairs, "
        f"{videos['failed']:,} failed",
        f"pairs     {pairs['candidates']:,} candidates: {pairs['kept']:,} kept, "
        f"{pairs['rejected']:,} rejected",
        "",
        *_counts("rejected pairs by reason", info["pair_reasons"]),
        *_counts("rejected pairs by stage", info["dropped_by_stage"]),
        *_counts("videos without triples by reason", info["video_reasons"]),
        *_counts("kept actions by source", info["action_sources"]),
        *_counts("caption QC flags on kept triples", info["qc_flags"]),
        "",
    ]
    for model in info["caption_models"]:
        lines.append(f"caption model {model['model']} revision {model['revision'] or '-'} "
                     f"prompt {model['prompt_id']} decoding {model['decoding']}: "
                     f"{model['triples']:,} triples")
    sampled = any(row and row["sampled"] for row in info["scores"]["candidates"].values())
    of = f" (from a sample of about {SAMPLE_ROWS:,} pair rows)" if sampled else ""
    lines += ["", f"scores of kept triples{of}:", *_quantile_table(info["scores"]["kept"]),
              f"scores of all candidate pairs{of}:",
              *_quantile_table(info["scores"]["candidates"]),
              "", "sample actions:"]
    for sample in info["sample_actions"]:
        score = "" if sample["idp_score"] is None else f"  (IDP {sample['idp_score']:.3f})"
        lines.append(f"  {sample['key']}: {sample['action'] or '(no action)'}{score}")
    return "\n".join(lines)
