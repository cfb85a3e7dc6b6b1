"""CPU seconds of each step of decoding and analysing one video, in one process.

    python -m benchmarks.analysis_steps benchmarks/.cache/720p_30s.mp4 [--repeat 3]

Each step runs `--repeat` times, interleaved, and the least CPU time is kept: on a shared
machine the minimum is the figure least disturbed by other work. OpenCV runs on one thread,
as process_source runs it. CPU time counts every thread of the process.
"""
from __future__ import annotations

import argparse
import time

import av
import cv2

from transforms import motion, video_io
from transforms.decord_video import open_decord
from transforms.decode_core import DecodeConfig, process_source
from transforms.discover import expand_glob
from transforms.sample import SampleConfig, sample_pairs
from transforms.shots import ShotDetector


def plain_decode(path: str, threads: int) -> int:
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_count = threads
        return sum(1 for _ in container.decode(stream))


def swscale_gray(path: str, width: int, height: int) -> list:
    """The analysis decode as PyAV did it before: swscale to small grey frames."""
    with av.open(path) as container:
        return [frame.to_ndarray(width=width, height=height, format="gray")
                for frame in container.decode(video=0)]


def analyse_with_shots(grays, fps: float) -> None:
    detector = ShotDetector(SampleConfig().shot_config(), fps)
    analysis = motion.Analysis(detector)
    for gray in grays:
        analysis.add(gray)
    detector.finish()


def steps(path: str) -> dict:
    decord_video, pyav_video = open_decord(path), video_io.PyAVVideo(path)
    size = motion.analysis_size(pyav_video.info.width, pyav_video.info.height, 160)
    grays = list(pyav_video.small_gray(*size))
    signals = motion.analyse(grays)
    wanted = sorted({i for pair in sample_pairs(signals, pyav_video.info.fps, SampleConfig())
                     for i in pair})
    source = expand_glob(path)[0]
    return {
        "pyav decode, one thread, no conversion": lambda: plain_decode(path, 1),
        "pyav decode, slice threads (PyAV default)": lambda: plain_decode(path, 0),
        "analysis: decord small_gray (RGB resize + cvtColor)":
            lambda: list(decord_video.small_gray(*size)),
        "analysis: pyav swscale to grey": lambda: swscale_gray(path, *size),
        "analysis: pyav small_gray (luma plane + downscale_gray)":
            lambda: list(pyav_video.small_gray(*size)),
        "motion.analyse": lambda: motion.analyse(grays),
        "motion.analyse + shot detector": lambda: analyse_with_shots(grays, pyav_video.info.fps),
        f"full-res: decord frames({len(wanted)} kept)": lambda: decord_video.frames(wanted),
        f"full-res: pyav frames({len(wanted)} kept)": lambda: pyav_video.frames(wanted),
        "process_source (whole video, auto backend)":
            lambda: process_source(source, DecodeConfig(isolate=False), SampleConfig()),
        "process_source, --shots off":
            lambda: process_source(source, DecodeConfig(isolate=False),
                                   SampleConfig(shots="off")),
        "process_source, nothing held (frames decoded again)": lambda: nothing_held(source),
    }


def nothing_held(source) -> None:
    """process_source as it ran before the analysis pass held the sampler's likely picks."""
    budget = video_io.HOLD_BUDGET_BYTES
    video_io.HOLD_BUDGET_BYTES = 0
    try:
        process_source(source, DecodeConfig(isolate=False), SampleConfig())
    finally:
        video_io.HOLD_BUDGET_BYTES = budget


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    timings = {}
    for _ in range(args.repeat):
        for label, function in steps(args.video).items():
            cpu, wall = time.process_time(), time.perf_counter()
            function()
            timings.setdefault(label, []).append(
                (time.process_time() - cpu, time.perf_counter() - wall))
    for label, runs in timings.items():
        print(f"{label:55s} cpu {min(r[0] for r in runs):6.2f} s  "
              f"wall {min(r[1] for r in runs):6.2f} s", flush=True)


if __name__ == "__main__":
    main()
