"""Write a procedural dataset to a local folder: labelled image pairs (AURORA JSON), verifier
candidates (pairs.jsonl), labelled videos (videos.csv) and the provenance of it all (synth.json).

Every path inside is relative to the folder, so it can be moved or uploaded as a whole. The same
seed writes byte-identical images and JSON.
"""
from __future__ import annotations

import csv
import json
import os
from typing import Dict, List

from PIL import Image

from procedural.domain import CLASSES, action_class, action_text, apply, inverse
from procedural.episode import Episode, draw_episode, video_frames
from procedural.render import render
from synthetic_inputs.videos import write_video

VERSION = 1
VIDEO_COLUMNS = ("uri", "id", "label", "class", "inverse")


def write_synth(output: str, n: int, seed: int, size: int = 128, videos: bool = True,
                reversed_pairs: bool = True, frames: int = 24, fps: int = 12) -> Dict[str, int]:
    """Writes `n` independent episodes into `output`; returns how many of each action class."""
    if n < 1 or size < 32 or size % 2 or frames < 4 or fps < 1:
        raise ValueError("need n >= 1, an even size >= 32, frames >= 4 and fps >= 1")
    os.makedirs(os.path.join(output, "pairs"), exist_ok=True)
    if videos:
        os.makedirs(os.path.join(output, "videos"), exist_ok=True)
    counts = {name: 0 for name in CLASSES}
    aurora: List[dict] = []
    candidates: List[dict] = []
    rows: List[dict] = []
    for index in range(n):
        episode = draw_episode(seed, index)
        counts[action_class(episode.action)] += 1
        item = _write_pairs(output, episode, size)
        candidates.append(item)
        aurora.append({"instruction": item["action"], "input": item["before"],
                       "output": item["after"]})
        if reversed_pairs:
            aurora.append({"instruction": item["inverse"], "input": item["after"],
                           "output": item["before"]})
        if videos:
            uri = f"videos/{episode.id}.mp4"
            write_video(os.path.join(output, uri), video_frames(episode, size, frames), fps=fps)
            rows.append({"uri": uri, "id": episode.id, "label": item["action"],
                         "class": item["kind"], "inverse": item["inverse"]})
    _write_json(os.path.join(output, "aurora.json"), aurora)
    with open(os.path.join(output, "pairs.jsonl"), "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(item, sort_keys=True) + "\n" for item in candidates)
    if videos:
        with open(os.path.join(output, "videos.csv"), "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, VIDEO_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    _write_json(os.path.join(output, "synth.json"), {
        "generator": "idp-corpus synth", "version": VERSION, "seed": seed, "n": n,
        "size": size, "frames": frames, "fps": fps, "reversed_pairs": reversed_pairs,
        "videos": videos, "counts": counts})
    return counts


def _write_pairs(output: str, episode: Episode, size: int) -> dict:
    """The episode's images, and its pairs.jsonl line."""
    def save(name: str, scene) -> str:
        path = f"pairs/{episode.id}-{name}.png"
        # Fast compression: the grain barely compresses, and level 6 takes three times as long.
        Image.fromarray(render(scene, size)).save(os.path.join(output, path), format="PNG",
                                                  compress_level=1)
        return path

    before = save("before", episode.scene)
    after = save("after", apply(episode.scene, episode.action, 1.0))
    alternatives = [save(f"alt{number}", apply(episode.scene, action, 1.0))
                    for number, action in enumerate(episode.alternatives, start=1)]
    options = [after] + alternatives
    return {"id": episode.id, "before": before, "after": after,
            "action": action_text(episode.action),
            "inverse": action_text(inverse(episode.action)),
            "kind": action_class(episode.action),
            "candidates": [options[k] for k in episode.order], "answer": episode.answer}


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1, sort_keys=True)
        handle.write("\n")
