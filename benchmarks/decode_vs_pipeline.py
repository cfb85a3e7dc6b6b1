"""CPU path benchmark: decode-only baseline vs `idp-corpus build`, memory, length, scaling.

    python -m benchmarks.decode_vs_pipeline [--cache benchmarks/.cache] [--skip long,scaling]

Synthesizes (once, cached) H.264 videos, then reports in one run:
  decode      every frame decoded by plain PyAV (no colour conversion), best of one thread,
              threaded and one-process-per-core; frames/s and video-seconds per core-second
  no_caption  `idp-corpus build --no-caption` on the same videos: frames analysed per second
  shots       the analysis pass alone (luma decode, optical flow, cut distance, and the shot
              detector where on), in this process on one OpenCV thread, `auto` and `off`
              alternating, least CPU of `--repeat` rounds each: the shot detector's cost; and
              the no_caption build with `--shots auto` (the default) and `--shots off` the same
              way, whose difference also holds the work of the pairs shots add
  tiny_model  the same build captioned by the tiny random VLM (synthetic_inputs.tiny_vlm)
  long        720p 60 s vs 600 s, one process (`--direct_running_mode in_memory --no-isolate`):
              time and peak RSS; and the default isolated mode's decode child; both again
              with `--sampler stride` (a pair a second: 60 vs 600 pairs)
  long_captioned  60 s vs 600 s at `--sampler stride` captioned by the tiny VLM with
              selection on (default mode, one worker); and `idp-corpus caption` of the same
              pairs built `--no-caption` (the second pass that reads every stored pair)
  scaling     eight 720p 60 s videos, `--direct_num_workers` 1 vs 2, with and without the
              fixed start-up (a build of one 3-second video), and the 2-worker build's ratio
              to a plain decode of the same videos; beside them, what one process per core
              gives a plain decode over one process (the machine's own ceiling)
Decode-only, no_caption and scaling run `--repeat` rounds (default 3), baseline and builds
alternating, and each figure is the fastest of its rounds: on a shared machine the fastest run
is the one least slowed by others, for the baseline and the builds alike.
Peak RSS is read from /proc (VmHWM) for every process of the build's process tree.
"""
from __future__ import annotations

import argparse
import glob
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from benchmarks import synth
from benchmarks.procwatch import Watch

SET = [("720p", 30), ("720p", 60), ("1080p", 30)]
DECODE_MODES = ("one_thread", "threaded", "process_per_core")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def decode_all(path: str, threads: bool) -> int:
    import av
    count = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        else:  # PyAV's default would use slice threads on multi-slice streams
            stream.thread_count = 1
        for _ in container.decode(stream):
            count += 1
    return count


def _warm(_) -> None:
    import av  # noqa: F401
    time.sleep(0.1)  # long enough for every process of the pool to take one


def _decode_one_thread(path: str):
    start = _cpu()
    count = decode_all(path, threads=False)
    return count, _cpu() - start


def decode_only(paths, seconds) -> dict:
    """Plain PyAV decoding of every frame: one process on one thread (the reference for what a
    second core adds), one process with threads, and one single-threaded process per core."""
    results = {}
    start, cpu = time.perf_counter(), _cpu()
    frames = sum(decode_all(path, threads=False) for path in paths)
    results["one_thread"] = dict(frames=frames, wall_s=time.perf_counter() - start,
                                 cpu_s=_cpu() - cpu)
    start, cpu = time.perf_counter(), _cpu()
    frames = sum(decode_all(path, threads=True) for path in paths)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    results["threaded"] = dict(frames=frames, wall_s=wall, cpu_s=cpu)
    with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as pool:
        pool.map(_warm, range(os.cpu_count()), 1)  # process start and imports are not decoding
        start = time.perf_counter()
        parts = pool.map(_decode_one_thread, sorted(paths, key=os.path.getsize, reverse=True), 1)
        wall = time.perf_counter() - start
    results["process_per_core"] = dict(frames=sum(p[0] for p in parts), wall_s=wall,
                                       cpu_s=sum(p[1] for p in parts))
    for row in results.values():
        row["frames_per_s"] = row["frames"] / row["wall_s"]
        row["video_s_per_core_s"] = seconds / row["cpu_s"]
    return _summarised(results)


def _summarised(results: dict) -> dict:
    results["best_frames_per_s"] = max(results[mode]["frames_per_s"] for mode in DECODE_MODES)
    # What the machine itself gives a second process: the ceiling of any two-worker speedup.
    results["process_per_core_speedup"] = (results["process_per_core"]["frames_per_s"]
                                           / results["one_thread"]["frames_per_s"])
    return results


def fastest_decode(rounds) -> dict:
    """Each decode-only mode's fastest run over the rounds, and the figures derived from them."""
    return _summarised({mode: max((r[mode] for r in rounds), key=lambda row: row["frames_per_s"])
                        for mode in DECODE_MODES})


def fastest_build(rounds, key: str) -> dict:
    """The round's build under `key` with the least wall time, noting every round's."""
    fastest = min((r[key] for r in rounds), key=lambda row: row["wall_s"])
    return dict(fastest, every_wall_s=[r[key]["wall_s"] for r in rounds])


def frames_in(output: str) -> int:
    import pyarrow.parquet as pq
    table = pq.read_table(os.path.join(output, "manifest", "videos.parquet"))
    return int(sum(n or 0 for n in table.column("num_frames").to_pylist()))


def pairs_in(output: str) -> int:
    import pyarrow.parquet as pq
    return pq.read_metadata(os.path.join(output, "manifest", "pairs.parquet")).num_rows


def analysis_pass(paths, shots: bool) -> dict:
    """CPU seconds of the analysis pass over the videos, as the decode stage runs it."""
    import cv2
    from transforms import motion, video_io
    from transforms.decode_core import DecodeConfig
    from transforms.sample import SampleConfig
    from transforms.shots import ShotDetector
    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    frames, cpu = 0, time.process_time()
    for path in paths:
        video = video_io.PyAVVideo(path)
        size = motion.analysis_size(video.info.width, video.info.height,
                                    DecodeConfig().analysis_width)
        detector = ShotDetector(SampleConfig().shot_config(), video.info.fps) if shots else None
        analysis = motion.Analysis(detector)
        for gray in video.small_gray(*size):
            analysis.add(gray)
        if detector is not None:
            detector.finish()
        frames += analysis.num_frames
    cpu = time.process_time() - cpu
    cv2.setNumThreads(previous_threads)
    return dict(frames=frames, cpu_s=round(cpu, 3), cpu_ms_per_frame=round(1000 * cpu / frames, 3))


def _least_cpu(runs) -> dict:
    return min(runs, key=lambda run: run["cpu_s"])


def shots_cost(videos: str, paths, repeat: int) -> dict:
    """The analysis pass and the build, shots on and off alternating, the least CPU of each."""
    passes, builds = {"auto": [], "off": []}, {"auto": [], "off": []}
    for _ in range(repeat):
        for mode in passes:
            passes[mode].append(analysis_pass(paths, mode == "auto"))
            builds[mode].append(build(f"{videos}/*.mp4", "--no-caption", "--shots", mode))
    result = {"analysis_pass": {mode: _least_cpu(runs) for mode, runs in passes.items()},
              "build": {mode: _least_cpu(runs) for mode, runs in builds.items()}}
    for part in result.values():
        part["cpu_ratio_auto_to_off"] = round(part["auto"]["cpu_s"] / part["off"]["cpu_s"], 4)
    return result


def build(input_glob: str, *args: str) -> dict:
    output = tempfile.mkdtemp(prefix="idp-bench-")
    argv = [sys.executable, "-m", "pipelines.cli", "build", "--input", input_glob,
            "--output", output, "--mode", "overwrite", *args]
    watch = Watch(argv, stdout=-1, stderr=-1, text=True).run()
    if watch.returncode != 0:
        raise RuntimeError(f"build failed: {' '.join(argv)}\n{watch.stderr[-3000:]}")
    frames, pairs = frames_in(output), pairs_in(output)
    shutil.rmtree(output, ignore_errors=True)
    return dict(args=" ".join(args), frames=frames, pairs=pairs, wall_s=watch.wall_s,
                cpu_s=watch.cpu_s,
                frames_per_s=frames / watch.wall_s, peak_rss_mib=watch.roles(),
                tree_peak_rss_mib=round(watch.tree_peak_mib, 1))


def recaption(input_glob: str, model: str) -> dict:
    """`idp-corpus caption` of a `--no-caption --sampler stride` build of the videos (the build
    itself untimed): a second captioning pass, which reads every stored pair back."""
    output = tempfile.mkdtemp(prefix="idp-bench-")
    subprocess.run([sys.executable, "-m", "pipelines.cli", "build", "--input", input_glob,
                    "--output", output, "--mode", "overwrite", "--no-caption", "--sampler",
                    "stride"], check=True, capture_output=True)
    argv = [sys.executable, "-m", "pipelines.cli", "caption", output, "--model", model,
            "--select-top-k", "100000", "--direct_num_workers", "1"]
    watch = Watch(argv, stdout=-1, stderr=-1, text=True).run()
    shutil.rmtree(output, ignore_errors=True)
    if watch.returncode != 0:
        raise RuntimeError(f"caption failed: {' '.join(argv)}\n{watch.stderr[-3000:]}")
    return dict(args=" ".join(argv[5:]), wall_s=watch.wall_s, cpu_s=watch.cpu_s,
                peak_rss_mib=watch.roles(), tree_peak_rss_mib=round(watch.tree_peak_mib, 1))


def tiny_model(cache: str) -> str:
    from synthetic_inputs.tiny_vlm import build_tiny_vlm
    model = os.path.join(cache, "tiny-idp-model")
    if not os.path.isdir(model):
        build_tiny_vlm(model)
    return model


def folder(cache: str, name: str, videos) -> str:
    """A folder of hard links to cached videos (copies under distinct names when repeated)."""
    path = os.path.join(cache, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for index, (size, seconds) in enumerate(videos):
        os.link(synth.video(cache, size, seconds),
                os.path.join(path, f"{index:02d}_{size}_{seconds}s.mp4"))
    return path


def scaling(cache: str, repeat: int) -> dict:
    """1 vs 2 workers on eight 720p 60 s videos (12,000 frames), and the same builds of one
    3-second video: their wall time is mostly the fixed start-up (Beam, SDK workers, decode
    children), which the second speedup leaves out."""
    work = folder(cache, "scaling", [("720p", 60)] * 8)
    startup = folder(cache, "startup", [("720p", 3)])
    rounds = []
    for _ in range(repeat):  # each figure below is the fastest of its rounds
        # The same frames decoded by plain PyAV: the CPU path's ratio once start-up is amortised.
        round_ = {"decode": decode_only(sorted(glob.glob(os.path.join(work, "*.mp4"))), 8 * 60)}
        for workers in ("1", "2"):
            round_[workers] = build(f"{work}/*.mp4", "--no-caption",
                                    "--direct_num_workers", workers)
            round_[f"{workers}_startup"] = build(f"{startup}/*.mp4", "--no-caption",
                                                 "--direct_num_workers", workers)
        rounds.append(round_)
    result = {"decode": fastest_decode([r["decode"] for r in rounds])}
    for key in ("1", "2", "1_startup", "2_startup"):
        result[key] = fastest_build(rounds, key)
    result["speedup"] = result["1"]["wall_s"] / result["2"]["wall_s"]
    result["ratio_2_workers_to_decode"] = (
        result["2"]["frames_per_s"] / result["decode"]["best_frames_per_s"])
    result["speedup_after_startup"] = (
        (result["1"]["wall_s"] - result["1_startup"]["wall_s"])
        / (result["2"]["wall_s"] - result["2_startup"]["wall_s"]))
    result["plain_decode_speedup"] = result["decode"]["process_per_core_speedup"]
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.path.join(os.path.dirname(__file__), ".cache"))
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the decode-only baseline and the builds it is compared "
                             "with (set and scaling); each keeps its fastest")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    report = {"machine": machine()}

    videos = folder(args.cache, "set", SET)
    paths = sorted(glob.glob(os.path.join(videos, "*.mp4")))
    seconds = sum(s for _, s in SET)
    rounds = []
    for _ in range(args.repeat if {"decode", "no_caption"} - skip else 0):
        round_ = {}
        if "decode" not in skip:
            round_["decode"] = decode_only(paths, seconds)
        if "no_caption" not in skip:
            round_["no_caption"] = build(f"{videos}/*.mp4", "--no-caption")
        print(json.dumps(round_, indent=1), flush=True)
        rounds.append(round_)
    if "decode" not in skip:
        report["decode"] = fastest_decode([r["decode"] for r in rounds])
    if "no_caption" not in skip:
        report["no_caption"] = fastest_build(rounds, "no_caption")
    if {"decode", "no_caption"}.isdisjoint(skip):
        report["no_caption"]["ratio_each_round"] = [
            r["no_caption"]["frames_per_s"] / r["decode"]["best_frames_per_s"] for r in rounds]
    if "shots" not in skip:
        report["shots"] = shots_cost(videos, paths, args.repeat)
        print(json.dumps({"shots": report["shots"]}, indent=1), flush=True)
    if "tiny_model" not in skip:
        report["tiny_model"] = build(f"{videos}/*.mp4", "--model", tiny_model(args.cache))
        print(json.dumps({"tiny_model": report["tiny_model"]}, indent=1), flush=True)
    if "decode" in report:
        base = report["decode"]["best_frames_per_s"]
        for key in ("no_caption", "tiny_model"):
            if key in report:
                report[key]["ratio_to_decode"] = report[key]["frames_per_s"] / base
    if "long" not in skip:
        report["long"] = {}
        for seconds in (60, 600):
            path = folder(args.cache, f"long{seconds}", [("720p", seconds)])
            report["long"][f"{seconds}s_one_process"] = build(
                f"{path}/*.mp4", "--no-caption", "--direct_running_mode", "in_memory",
                "--no-isolate")
            report["long"][f"{seconds}s_default"] = build(
                f"{path}/*.mp4", "--no-caption", "--direct_num_workers", "1")
            # One pair a second: pairs grow with length, the memory that holds them must not.
            for mode, flags in (("one_process", ("--direct_running_mode", "in_memory",
                                                 "--no-isolate")),
                                ("default", ("--direct_num_workers", "1"))):
                report["long"][f"{seconds}s_stride_{mode}"] = build(
                    f"{path}/*.mp4", "--no-caption", "--sampler", "stride", *flags)
            print(json.dumps({"long": report["long"]}, indent=1), flush=True)
    if "long_captioned" not in skip:
        report["long_captioned"] = {}
        for seconds in (60, 600):
            path = folder(args.cache, f"long{seconds}", [("720p", seconds)])
            # The caption checks group a video's triples, selection ranks them all.
            report["long_captioned"][f"{seconds}s_stride_tiny_model"] = build(
                f"{path}/*.mp4", "--model", tiny_model(args.cache), "--sampler", "stride",
                "--select-top-k", "100000", "--direct_num_workers", "1")
            report["long_captioned"][f"{seconds}s_stride_recaption"] = recaption(
                f"{path}/*.mp4", tiny_model(args.cache))
            print(json.dumps({"long_captioned": report["long_captioned"]}, indent=1), flush=True)
    if "scaling" not in skip:
        report["scaling"] = scaling(args.cache, args.repeat)
        print(json.dumps({"scaling": report["scaling"]}, indent=1), flush=True)
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    return report


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import av
    return {"cpu": model, "cores": os.cpu_count(), "python": sys.version.split()[0],
            "pyav": av.__version__}


if __name__ == "__main__":
    main()
