"""What a refresh costs as a dataset grows: a three-video refresh, `validate --since`, `inspect`
and the report, at 1M and 10M pair rows (more with --sizes), against the same refresh into an
empty dataset and into the small real one.

    python -m benchmarks.refresh_scale --work /tmp/refresh-scale [--sizes 1000000 10000000]

A real small dataset is built from 12 synthetic videos (`build --no-caption`); copies
of it are grown to each size with synthetic parts of its own schema (benchmarks/
grow_manifests.py, 5,000 videos and 50,000 pair rows a part, a few nights of a busy bucket).
Then each command runs as a user runs it, in its own process, timed with its process tree's
peak RSS (benchmarks/procwatch.py): the refresh adds three new 2-second videos with
`build --no-caption --sampler first_last` (it also writes the report, card and wids.json),
then `validate --since` the version before it, `inspect`, the report alone, and, up to
--whole-validate-max rows, a whole `validate`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

from benchmarks.grow_manifests import grow
from benchmarks.procwatch import Watch
from fixtures.videos import scene_video

REPORT = ("from pipelines.readers import open_dataset; from pipelines.report import "
          "write_report; import sys; write_report(open_dataset(sys.argv[1]))")


def videos(folder: str, seeds, **scene) -> str:
    os.makedirs(folder, exist_ok=True)
    for seed in seeds:
        path = os.path.join(folder, f"v{seed:03d}.mp4")
        if not os.path.exists(path):
            scene_video(path, width=160, height=120, seed=seed, **scene)
    return os.path.join(folder, "*")


# The real dataset: 12 videos of 4.8 s with two motions and a cut (pairs kept and rejected for
# several reasons); the refresh: three of 2 seconds (25 fps).
BASE = dict(num_frames=120, motion_spans=((10, 40), (70, 100)), cut_at=(60,), speed=2)
NEW = dict(num_frames=50, motion_spans=((5, 20), (30, 45)))


def timed(*argv: str) -> dict:
    watch = Watch([sys.executable, *argv], stdout=-1, stderr=-1).run()
    if watch.returncode != 0:
        raise RuntimeError(f"{argv} failed: {watch.stderr.decode()[-2000:]}")
    return {"wall_s": round(watch.wall_s, 2), "peak_rss_mib": round(watch.tree_peak_mib),
            "stdout": watch.stdout.decode()[-300:]}


def cli(*args) -> list:
    return ["-m", "pipelines.cli", *map(str, args)]


def refresh(new: str, output: str) -> dict:
    return timed(*cli("build", "--input", new, "--output", output, "--no-caption",
                      "--sampler", "first_last"))


def version(output: str) -> int:
    with open(os.path.join(output, "index.json")) as handle:
        return json.load(handle)["version"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--whole-validate-max", type=int, default=10_000_000)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    work = args.work
    base = videos(f"{work}/videos/base", range(12), **BASE)
    new = videos(f"{work}/videos/new", range(100, 103), **NEW)
    small = f"{work}/small"
    results = {"cpus": os.cpu_count()}
    if not os.path.exists(f"{small}/index.json"):
        results["small_build"] = timed(*cli("build", "--input", base, "--output", small,
                                            "--no-caption"))
    for attempt in range(2):  # the reference: the same refresh into an empty dataset
        shutil.rmtree(f"{work}/empty", ignore_errors=True)
        results[f"empty_refresh_{attempt}"] = refresh(new, f"{work}/empty")
    shutil.rmtree(f"{work}/small-run", ignore_errors=True)
    shutil.copytree(small, f"{work}/small-run")
    results["small_refresh"] = refresh(new, f"{work}/small-run")
    for size in args.sizes:
        folder = f"{work}/grown-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(small, folder)
        start = time.perf_counter()
        grown = grow(folder, size)
        entry = {"grown": grown, "grow_s": round(time.perf_counter() - start, 1)}
        before = version(folder)
        entry["refresh"] = refresh(new, folder)
        entry["validate_since"] = timed(*cli("validate", folder, "--since", before))
        entry["inspect"] = timed(*cli("inspect", folder))
        entry["report"] = timed("-c", REPORT, folder)
        if size <= args.whole_validate_max:
            entry["validate_whole"] = timed(*cli("validate", folder))
        entry["disk_mib"] = round(sum(os.path.getsize(os.path.join(top, name))
                                      for top, _, names in os.walk(folder)
                                      for name in names) / 2**20)
        results[f"rows_{size}"] = entry
        print(json.dumps({size: entry}, indent=1), flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
