"""Grow a real dataset's manifests synthetically: new parts of its own schema, the way nightly
refreshes would have added them, so that what a refresh costs can be measured at any size.

Each synthetic part holds `videos_per_part` videos with PAIRS_PER_VIDEO pair rows each, cut
from the real dataset's own rows (every column kept, identities renamed under
s3://corpus-bucket/synthetic/, scores varied at random). Synthetic pairs are rejected and their
videos gave no triples: the shards stay the real ones (no images are made), so the dataset
still validates.
Every part comes with its lookup file and counts, like a committed one, and one new index
lists the real parts followed by the synthetic ones.
"""
from __future__ import annotations

import itertools
import json
from typing import List

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.readers import open_dataset
from transforms.dataset import known, manifest_stats, parts
from transforms.dataset.commit import write_plain_copies
from transforms.dataset.layout import version_folder
from transforms.storage import join, write_bytes

PAIRS_PER_VIDEO = 10
FAILED_EVERY = 50  # one synthetic video in 50 failed to decode (no pair rows)
SCORES = ("motion", "change", "cut", "sharpness", "brightness", "reason_score")


def _strings(pattern: str, values) -> pa.Array:
    return pa.array([pattern.format(value) for value in values], pa.string())


def _part_tables(videos: pa.Table, pairs: pa.Table, reasons: List[str], part: int,
                 count: int):
    ids = [f"syn{part:05d}x{number:06d}" for number in range(count)]
    uris = [f"s3://corpus-bucket/synthetic/p{part:05d}/{number:06d}.mp4"
            for number in range(count)]
    failed = [number % FAILED_EVERY == FAILED_EVERY - 1 for number in range(count)]
    rows = videos.take(pa.array([number % videos.num_rows for number in range(count)]))
    rows = rows.set_column(rows.schema.get_field_index("video_id"), "video_id", pa.array(ids))
    rows = rows.set_column(rows.schema.get_field_index("uri"), "uri", pa.array(uris))
    for name, values in (
            ("status", ["failed" if bad else "no_pairs" for bad in failed]),
            ("reason", ["decode_failed" if bad else "all_pairs_dropped" for bad in failed]),
            ("num_candidates", [0 if bad else PAIRS_PER_VIDEO for bad in failed]),
            ("num_kept", [0] * count)):
        field = rows.schema.field(name)
        rows = rows.set_column(rows.schema.get_field_index(name), field,
                               pa.array(values, field.type))
    owners = [number for number in range(count) if not failed[number]]
    total = len(owners) * PAIRS_PER_VIDEO
    pair_rows = pairs.take(pa.array([number % pairs.num_rows for number in range(total)]))
    keys = [f"{ids[owner]}-{n:02d}" for owner in owners for n in range(PAIRS_PER_VIDEO)]
    columns = {"key": keys,
               "video_id": [ids[owner] for owner in owners for _ in range(PAIRS_PER_VIDEO)],
               "uri": [uris[owner] for owner in owners for _ in range(PAIRS_PER_VIDEO)],
               "status": ["rejected"] * total,
               "reason": list(itertools.islice(itertools.cycle(reasons), total)),
               "shard": [None] * total}
    for name, values in columns.items():
        field = pair_rows.schema.field(name)
        pair_rows = pair_rows.set_column(pair_rows.schema.get_field_index(name), field,
                                         pa.array(values, field.type))
    # Scores of real pairs are all different: a template's value times a random factor, so
    # the parts compress like real ones rather than like copies.
    rng = np.random.default_rng(part)
    for name in SCORES:
        values = pc.fill_null(pair_rows[name], 0.0).to_numpy()
        pair_rows = pair_rows.set_column(
            pair_rows.schema.get_field_index(name), pair_rows.schema.field(name),
            pa.array(values * rng.uniform(0.5, 1.5, len(values)), pa.float64()))
    return rows, pair_rows


def grow(root: str, pair_rows: int, videos_per_part: int = 5000) -> dict:
    """Adds synthetic parts to the dataset at `root` until its parts hold about `pair_rows`
    pair rows; commits one new index. Returns {"parts", "pair_rows", "video_rows"}."""
    dataset = open_dataset(root)
    index = dataset.index
    assert "parts" in index, "grow a dataset written with manifest parts"
    videos, pairs = dataset.table("videos"), dataset.table("pairs")
    rejected = [row["reason"] for row in dataset.rows("pairs", ["reason"])
                if row["reason"]] or ["static"]
    counts = parts.version_counts(root, index)
    listed, known_files = list(index["parts"]), list(index["known"])
    version = index["version"]
    have = parts.total_rows(index, "pairs")
    while have < pair_rows:
        version += 1
        video_table, pair_table = _part_tables(videos, pairs, sorted(rejected), version,
                                               videos_per_part)
        folder = version_folder(version)
        entry = {"version": version, "videos": f"{folder}/videos.parquet",
                 "pairs": f"{folder}/pairs.parquet", "meta": f"{folder}/part.json",
                 "known": f"{folder}/known.parquet",
                 "rows": {"videos": video_table.num_rows, "pairs": pair_table.num_rows},
                 "supersedes": {}}
        added = manifest_stats.add(manifest_stats.count_videos(video_table),
                                   manifest_stats.count_pairs(pair_table))
        write_bytes(join(root, entry["videos"]),
                    parts.parquet_bytes(video_table, parts.ROW_GROUP_ROWS))
        write_bytes(join(root, entry["pairs"]),
                    parts.parquet_bytes(pair_table, parts.ROW_GROUP_ROWS))
        write_bytes(join(root, entry["known"]),
                    known.lookup_bytes(known.lookup_from_videos(video_table)))
        write_bytes(join(root, entry["meta"]), parts.json_bytes(
            {"counts": added, "added": added, "superseded": manifest_stats.empty(),
             "supersedes": {}}))
        listed.append(entry)
        known_files.append({"version": version, "file": entry["known"]})
        counts = manifest_stats.add(counts, added)
        have += pair_table.num_rows
    stats = {**dataset.stats, **counts}
    write_bytes(join(root, version_folder(version), "stats.json"), parts.json_bytes(stats))
    grown = {**index, "version": version, "parts": listed, "known": known_files,
             "stats": f"{version_folder(version)}/stats.json"}
    write_bytes(join(root, "index.json"), parts.json_bytes(grown))
    write_plain_copies(root, grown)
    return {"parts": len(listed), "pair_rows": have,
            "video_rows": parts.total_rows(grown, "videos")}


if __name__ == "__main__":
    import sys
    print(json.dumps(grow(sys.argv[1], int(sys.argv[2]))))
