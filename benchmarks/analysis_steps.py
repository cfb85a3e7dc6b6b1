"""CPU seconds of each step of the analysis pass on one video, in one process.

    python -m benchmarks.analysis_steps benchmarks/.cache/720p_30s.mp4
"""
from __future__ import annotations

import sys
import time

import av

from transforms import motion, video_io
from transforms.sample import SampleConfig, sample_pairs


def timed(label: str, function):
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    print(f"{label:45s} cpu {time.process_time() - cpu:6.2f} s  wall "
          f"{time.perf_counter() - wall:6.2f} s", flush=True)
    return result


def plain_decode(path: str, threads: bool) -> int:
    with av.open(path) as container:
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def main(path: str) -> None:
    timed("pyav decode, threads AUTO, no conversion", lambda: plain_decode(path, True))
    timed("pyav decode, one thread, no conversion", lambda: plain_decode(path, False))
    decord_video, pyav_video = video_io.DecordVideo(path), video_io.PyAVVideo(path)
    size = motion.analysis_size(decord_video.info.width, decord_video.info.height, 160)
    grays = timed("decord small_gray (analysis decode)", lambda: list(decord_video.small_gray(*size)))
    timed("pyav small_gray", lambda: list(pyav_video.small_gray(*size)))
    signals = timed("motion.analyse", lambda: motion.analyse(grays))
    wanted = sorted({i for pair in sample_pairs(signals, decord_video.info.fps, SampleConfig())
                     for i in pair})
    timed(f"decord frames({len(wanted)} kept)", lambda: decord_video.frames(wanted))
    timed(f"pyav frames({len(wanted)} kept)", lambda: pyav_video.frames(wanted))


if __name__ == "__main__":
    main(sys.argv[1])
