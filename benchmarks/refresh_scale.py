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
`--rounds` times, alternating with the same refresh into an empty dataset (the dataset restored
after each), and the fastest of each is kept; then `validate --since` the version before one more
refresh, `inspect`, the report alone, and, up to --whole-validate-max rows, a whole `validate`.
With --baseline-code, the code before parts refreshes the same dataset rewritten in its layout.
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
from synthetic_inputs.videos import scene_video

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


def to_layout_before_parts(folder: str) -> None:
    """Rewrites a grown dataset as the commit wrote it before parts: one videos.parquet and
    pairs.parquet holding every row, named by the index (what --baseline-code can read)."""
    import pyarrow.parquet as pq
    from pipelines.readers import open_dataset
    from transforms.dataset.layout import version_folder
    from transforms.dataset.parts import json_bytes
    dataset = open_dataset(folder)
    index, stats = dataset.index, dataset.stats
    target = version_folder(index["version"])
    for name, key in (("videos", "uri"), ("pairs", "key")):
        table = dataset.table(name).sort_by(key)
        pq.write_table(table, f"{folder}/{target}/{name}.parquet", compression="zstd")
    old = {name: stats[name] for name in ("schema_version", "videos", "video_reasons", "pairs",
                                          "pair_reasons", "triples", "shards")}
    with open(f"{folder}/{target}/stats.json", "wb") as handle:
        handle.write(json_bytes(old))
    legacy = {key: index[key] for key in ("schema_version", "version", "num_samples")}
    legacy["shards"] = [{k: v for k, v in shard.items() if k != "version"}
                        for shard in index["shards"]]
    legacy["manifests"] = {"videos": f"{target}/videos.parquet",
                           "pairs": f"{target}/pairs.parquet"}
    legacy["stats"] = f"{target}/stats.json"
    with open(f"{folder}/index.json", "wb") as handle:
        handle.write(json_bytes(legacy))


def version(output: str) -> int:
    with open(os.path.join(output, "index.json")) as handle:
        return json.load(handle)["version"]


def baseline(folder: str, new: str, code: str) -> dict:
    """The refresh of the code before parts, and this code's first refresh (converting), each
    on a copy of the grown dataset rewritten in the old layout."""
    found = {}
    for name, pythonpath in (("baseline_refresh", code), ("converting_refresh", None)):
        copy = f"{folder}-old"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(folder, copy)
        to_layout_before_parts(copy)
        environment = dict(os.environ, PYTHONPATH=pythonpath or os.environ.get("PYTHONPATH", ""))
        watch = Watch([sys.executable, *cli("build", "--input", new, "--output", copy,
                                            "--no-caption", "--sampler", "first_last")],
                      stdout=-1, stderr=-1, env=environment).run()
        found[name] = {"wall_s": round(watch.wall_s, 2),
                       "peak_rss_mib": round(watch.tree_peak_mib), "rc": watch.returncode}
        shutil.rmtree(copy, ignore_errors=True)
    return found


class Snapshot:
    """What a refresh changes in a dataset folder, saved so that the same refresh can run again
    on the same dataset: the top-level files, and the version and shards it adds removed."""

    TOP = ("index.json", "stats.json", "wids.json", "report.html", "README.md",
           "manifest/videos.parquet", "manifest/pairs.parquet")

    def __init__(self, folder: str):
        self.folder = folder
        self.files = {name: open(f"{folder}/{name}", "rb").read() for name in self.TOP
                      if os.path.exists(f"{folder}/{name}")}
        self.index = json.loads(self.files["index.json"])

    def restore(self) -> None:
        with open(f"{self.folder}/index.json") as handle:
            index = json.load(handle)
        old = {shard["name"] for shard in self.index["shards"]}
        for shard in index["shards"]:
            if shard["name"] not in old:
                os.remove(f"{self.folder}/{shard['url']}")
        for number in range(self.index["version"] + 1, index["version"] + 1):
            shutil.rmtree(f"{self.folder}/versions/v{number:06d}", ignore_errors=True)
        for name in self.TOP:
            if name not in self.files and os.path.exists(f"{self.folder}/{name}"):
                os.remove(f"{self.folder}/{name}")
        for name, data in self.files.items():
            with open(f"{self.folder}/{name}", "wb") as handle:
                handle.write(data)


def fastest(runs: list) -> dict:
    """The fastest run, with every run's wall and peak: on a shared machine the fastest run is
    the one least slowed by others, for the reference and the refreshes alike."""
    best = min(runs, key=lambda run: run["wall_s"])
    return {"wall_s": best["wall_s"], "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
            "walls": [run["wall_s"] for run in runs]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--rounds", type=int, default=3,
                        help="refreshes per size, alternating with refreshes into an empty "
                             "dataset")
    parser.add_argument("--whole-validate-max", type=int, default=10_000_000)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--baseline-code", default=None,
                        help="a checkout of the code before parts: its refresh is timed too, on "
                             "the same dataset rewritten as it wrote them, and so is this code's "
                             "first refresh of that (the one-time conversion)")
    parser.add_argument("--baseline-max", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    work = args.work
    base = videos(f"{work}/videos/base", range(12), **BASE)
    new = videos(f"{work}/videos/new", range(100, 103), **NEW)
    small = f"{work}/small"
    results = {"cpus": os.cpu_count()}
    if not os.path.exists(f"{small}/index.json"):
        results["small_build"] = timed(*cli("build", "--input", base, "--output", small,
                                            "--no-caption"))

    def empty_refresh() -> dict:  # the reference: the same refresh into an empty dataset
        shutil.rmtree(f"{work}/empty", ignore_errors=True)
        return refresh(new, f"{work}/empty")

    def rounds(folder: str) -> dict:
        snapshot, empty, grown = Snapshot(folder), [], []
        for _ in range(args.rounds):
            empty.append(empty_refresh())
            grown.append(refresh(new, folder))
            snapshot.restore()
        return {"empty_refresh": fastest(empty), "refresh": fastest(grown)}

    shutil.rmtree(f"{work}/small-run", ignore_errors=True)
    shutil.copytree(small, f"{work}/small-run")
    results["small"] = rounds(f"{work}/small-run")
    for size in args.sizes:
        folder = f"{work}/grown-{size}"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(small, folder)
        start = time.perf_counter()
        grown = grow(folder, size)
        entry = {"grown": grown, "grow_s": round(time.perf_counter() - start, 1)}
        if args.baseline_code and size <= args.baseline_max:
            entry.update(baseline(folder, new, args.baseline_code))
        entry.update(rounds(folder))
        before = version(folder)
        entry["refresh_kept"] = refresh(new, folder)
        entry["validate_since"] = timed(*cli("validate", folder, "--since", before))
        entry["inspect"] = timed(*cli("inspect", folder))
        entry["report"] = timed("-c", REPORT, folder)
        if size <= args.whole_validate_max:
            entry["validate_whole"] = timed(*cli("validate", folder))
        entry["disk_mib"] = round(sum(os.path.getsize(os.path.join(top, name))
                                      for top, _, names in os.walk(folder)
                                      for name in names) / 2**20)
        for value in entry.values():
            if isinstance(value, dict):
                value.pop("stdout", None)
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
