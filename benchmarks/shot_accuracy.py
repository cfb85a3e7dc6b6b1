"""Shot-boundary accuracy on the generated edit benchmark (benchmarks/edit_bench.py): precision,
recall and F1 per transition kind, and false boundaries per 10 minutes of the negatives, for the
shipped detector (transforms/shots/, fed by the real analysis pass) and for PySceneDetect's
detectors with their defaults, side by side.

    PYTHONPATH=. python -m benchmarks.shot_accuracy --cache /tmp/edit-bench

PySceneDetect is installed for this benchmark only (`pip install --no-deps scenedetect
platformdirs`): it needs opencv-python, whose cv2 the project's opencv-python-headless provides.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Dict, List, Tuple

from benchmarks import edit_bench, real_edits

TOLERANCE = 2  # frames a detected boundary may sit outside the true transition's span
Span = Tuple[int, int]


def ours(path: str) -> List[Span]:
    from transforms import motion
    from transforms.decode_core import DecodeConfig
    from transforms.shots import ShotConfig, ShotDetector
    from transforms.video_io import PyAVVideo
    video = PyAVVideo(path)
    detector = ShotDetector(ShotConfig(), video.info.fps)
    analysis = motion.Analysis(detector)
    size = motion.analysis_size(video.info.width, video.info.height, DecodeConfig().analysis_width)
    for gray in video.small_gray(*size):
        analysis.add(gray)
    detector.finish()
    return [(t.first, t.last) for t in detector.transitions]


def scenedetect(path: str, name: str) -> List[Span]:
    import scenedetect as sd
    detector = {"adaptive": sd.AdaptiveDetector, "content": sd.ContentDetector,
                "threshold": sd.ThresholdDetector}[name]()
    scenes = sd.detect(path, detector)
    return [(start.get_frames(), start.get_frames() - 1) for start, _ in scenes[1:]]


def _interval(first: int, last: int) -> Span:
    return (first, max(first, last))


def match(found: List[Span], truth: List[dict]) -> Tuple[int, int, int]:
    """(true positives, false positives, false negatives), each true transition matched once."""
    left = [_interval(t["first"], t["last"]) for t in truth]
    hits = 0
    for first, last in found:
        lo, hi = _interval(first, last)
        for k, (t_lo, t_hi) in enumerate(left):
            if lo <= t_hi + TOLERANCE and hi >= t_lo - TOLERANCE:
                hits += 1
                del left[k]
                break
    return hits, len(found) - hits, len(left)


def score(videos: Dict[str, dict], detect) -> Dict[str, dict]:
    totals: Dict[str, List[int]] = {}
    seconds = {}
    started = time.process_time()
    for path, video in videos.items():
        tp, fp, fn = match(detect(path), video["truth"])
        row = totals.setdefault(video["group"], [0, 0, 0])
        row[0], row[1], row[2] = row[0] + tp, row[1] + fp, row[2] + fn
        seconds[video["group"]] = seconds.get(video["group"], 0) + video["frames"] / edit_bench.FPS
    result = {}
    for group, (tp, fp, fn) in totals.items():
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[group] = {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 3),
                         "recall": round(recall, 3), "f1": round(f1, 3),
                         "false_per_10min": round(fp / seconds[group] * 600, 2)}
    negatives = {video["group"] for video in videos.values() if video["negative"]}
    fp = sum(totals[g][1] for g in negatives)
    result["negatives"] = {"false": fp, "minutes": round(sum(seconds[g] for g in negatives) / 60, 2),
                           "false_per_10min": round(fp / sum(seconds[g] for g in negatives) * 600,
                                                    2)}
    result["cpu_seconds"] = round(time.process_time() - started, 1)
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/idp-edit-bench")
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--negatives-per-kind", type=int, default=3)
    parser.add_argument("--detectors", default="ours,adaptive,content")
    parser.add_argument("--set", choices=("edit", "real"), default="edit",
                        help="edit: the generated benchmark the thresholds were set on; real: "
                             "held-out real footage edited by ffmpeg (benchmarks/real_edits.py)")
    args = parser.parse_args(argv)
    videos = real_edits.build(args.cache) if args.set == "real" else \
        edit_bench.build(args.cache, args.per_kind, args.negatives_per_kind)
    results = {}
    for name in args.detectors.split(","):
        detect = ours if name == "ours" else (lambda path, n=name: scenedetect(path, n))
        results[name] = score(videos, detect)
    print(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
