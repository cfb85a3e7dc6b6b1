"""What showing frames as a player does costs: CPU seconds of the decode stage of one video
(`process_source`: probe, analysis pass, full-resolution frames; in this process, no isolation)
for the source tree on PYTHONPATH.

    PYTHONPATH=TREE python benchmarks/display_cost.py [--cache DIR] [--repeat 3] [--what ...]

  open         opening a video (PyAVVideo: the probe), best of 20: the first frame it now decodes
               for the display matrix
  progressive  720p and 1080p 10 s H.264 (benchmarks/synth.py), samplers keyframes and stride:
               run it on this tree and on a checkout of the commit before it
               (`git archive COMMIT | tar -x -C DIR`) to see what progressive video pays
  idet         the same videos with --detect-interlacing (opt-in): what looking costs
  interlaced   a 576i 10 s clip tagged interlaced (deinterlaced by bwdif) against the same
               clip with its tag ignored (no bwdif): what deinterlacing costs

Each figure is the least CPU time of `--repeat` rounds (on a shared machine, the round least
slowed by others). Prints one JSON object per figure.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys

from benchmarks import synth
from schemas.records import VideoSource
from schemas.shard_layout import video_id_for
from transforms.decode_core import DecodeConfig, process_source
from transforms.sample import SampleConfig

SET = [("720p", 10), ("1080p", 10)]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(path: str, repeat: int, sampler: str = "keyframes", **decode) -> tuple:
    """(least CPU seconds over `repeat` decodes of the video, its outcome)."""
    known = {field.name for field in dataclasses.fields(DecodeConfig)}
    config = DecodeConfig(isolate=False, **{k: v for k, v in decode.items() if k in known})
    source = VideoSource(path, video_id_for(path), size=os.path.getsize(path))
    best, outcome = float("inf"), None
    for _ in range(repeat):
        start = _cpu()
        outcome, _ = process_source(source, config, SampleConfig(sampler=sampler))
        best = min(best, _cpu() - start)
    assert outcome.info is not None, outcome.message
    return best, outcome


def open_seconds(path: str, repeat: int = 20) -> float:
    from transforms.video_io import PyAVVideo
    best = float("inf")
    for _ in range(repeat):
        start = _cpu()
        PyAVVideo(path)
        best = min(best, _cpu() - start)
    return best


def interlaced_clip(cache: str) -> str:
    """A 720x576 25i clip, 10 s, tagged interlaced (top field first), from ffmpeg."""
    path = os.path.join(cache, "576i_10s.mp4")
    if not os.path.exists(path):
        subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=720x576:rate=50", "-t", "10", "-vf",
                        "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264",
                        "-preset", "veryfast", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
                        "-pix_fmt", "yuv420p", path], check=True)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.path.join(os.path.dirname(__file__), ".cache"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--what", default="open,progressive,idet,interlaced")
    args = parser.parse_args(argv)
    what = args.what.split(",")
    tree = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[DecodeConfig.__module__]
                                                           .__file__)))
    for name, seconds in SET:
        path = synth.video(args.cache, name, seconds)
        if "open" in what:
            print(json.dumps({"tree": tree, "video": f"{name}_{seconds}s",
                              "open_cpu_ms": round(1000 * open_seconds(path), 2)}))
        for sampler in ("keyframes", "stride"):
            if "progressive" in what:
                cpu, outcome = cpu_seconds(path, args.repeat, sampler)
                print(json.dumps({"tree": tree, "video": f"{name}_{seconds}s", "sampler": sampler,
                                  "cpu_s": round(cpu, 3), "pairs": outcome.num_candidates}))
            if "idet" in what and sampler == "keyframes":
                cpu, outcome = cpu_seconds(path, args.repeat, sampler, detect_interlacing=True)
                print(json.dumps({"tree": tree, "video": f"{name}_{seconds}s", "sampler": sampler,
                                  "detect_interlacing": True, "cpu_s": round(cpu, 3),
                                  "field_order": outcome.info.display.field_order}))
    if "interlaced" in what:
        path = interlaced_clip(args.cache)
        cpu, outcome = cpu_seconds(path, args.repeat)
        print(json.dumps({"tree": tree, "video": "576i_10s", "cpu_s": round(cpu, 3),
                          "field_order": outcome.info.display.field_order}))
        # The same clip with its tag ignored: no bwdif, so the difference is bwdif's cost.
        from transforms import probe
        probe.tagged_field_order = lambda stream, frame: "progressive"
        cpu, outcome = cpu_seconds(path, args.repeat)
        print(json.dumps({"tree": tree, "video": "576i_10s", "tag_ignored": True,
                          "cpu_s": round(cpu, 3),
                          "field_order": outcome.info.display.field_order}))


if __name__ == "__main__":
    main()
