"""Yield on the generated edit benchmark (benchmarks/edit_bench.py) with default settings, shots
found (`--shots auto`) beside `--shots off`: candidates, drops by reason, kept share, kept pairs
per minute of video, and kept pairs spanning a true boundary (frames in two shots, or in a
transition's own frames).

    PYTHONPATH=. python -m benchmarks.shot_yield --cache /tmp/edit-bench --sampler keyframes
    PYTHONPATH=. python -m benchmarks.shot_yield --set real --cache /tmp/real-edits
"""
from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

from benchmarks import edit_bench, real_edits


def spans_boundary(before: int, after: int, truth) -> bool:
    for transition in truth:
        first, last = transition["first"], max(transition["first"], transition["last"])
        if transition["kind"] == "cut":
            if before < first <= after:
                return True
        elif before <= last and after >= first:
            return True
    return False


def build(folder: str, output: str, *flags: str) -> None:
    command = [sys.executable, "-m", "pipelines.cli", "build", "--input",
               os.path.join(folder, "*.mp4"), "--output", output, "--no-caption",
               "--skip-preflight", *flags]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def measure(folder: str, videos: dict, *flags: str) -> dict:
    with tempfile.TemporaryDirectory() as output:
        build(folder, output, *flags)
        rows = []
        for path in glob.glob(os.path.join(output, "manifest", "**", "pairs*.parquet"),
                              recursive=True):
            rows += pq.read_table(path).to_pylist()
        video_rows = []
        for path in glob.glob(os.path.join(output, "manifest", "**", "videos*.parquet"),
                              recursive=True):
            video_rows += pq.read_table(path).to_pylist()
    truth = {os.path.abspath(p): v["truth"] for p, v in videos.items()}
    reasons = collections.Counter(row["reason"] or "kept" for row in rows)
    kept = [row for row in rows if row["status"] == "kept"]
    spanning = [row for row in kept if spans_boundary(row["before_frame"], row["after_frame"],
                                                       truth[row["uri"].replace("file://", "")])]
    candidates_spanning = sum(
        spans_boundary(row["before_frame"], row["after_frame"],
                       truth[row["uri"].replace("file://", "")]) for row in rows)
    minutes = sum(v["frames"] for v in videos.values()) / edit_bench.FPS / 60
    return {"candidates": len(rows), "reasons": dict(reasons), "kept": len(kept),
            "kept_share": round(len(kept) / max(1, len(rows)), 3),
            "kept_per_minute": round(len(kept) / minutes, 1),
            "candidates_spanning_boundary": candidates_spanning,
            "kept_spanning_boundary": len(spanning),
            "videos_without_triple": sum(1 for row in video_rows if row["status"] != "ok")}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/idp-edit-bench")
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--negatives-per-kind", type=int, default=3)
    parser.add_argument("--sampler", default="keyframes")
    parser.add_argument("--set", choices=("edit", "real"), default="edit",
                        help="edit: the generated benchmark; real: held-out real footage "
                             "edited by ffmpeg (benchmarks/real_edits.py)")
    args = parser.parse_args(argv)
    videos = real_edits.build(args.cache) if args.set == "real" else \
        edit_bench.build(args.cache, args.per_kind, args.negatives_per_kind)
    edits = {p: v for p, v in videos.items() if not v["negative"]}
    with tempfile.TemporaryDirectory() as folder:
        for path in edits:
            shutil.copy(path, os.path.join(folder, os.path.basename(path)))  # globs skip links
        links = {os.path.join(folder, os.path.basename(p)): v for p, v in edits.items()}
        results = {mode: measure(folder, links, "--sampler", args.sampler, "--shots", mode)
                   for mode in ("auto", "off")}
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
