"""Offline demo inputs: synthetic videos with known motion and cuts, and a tiny random IDP model.

The tiny model has random weights: its actions are gibberish, but every stage runs for real.
"""
from __future__ import annotations

import os
from typing import Iterator

from synthetic_inputs.tiny_vlm import build_tiny_vlm
from synthetic_inputs.videos import scene_video


def write_demo_inputs(output: str, count: int = 4, seed: int = 0) -> Iterator[str]:
    videos = os.path.join(output, "videos")
    os.makedirs(videos, exist_ok=True)
    for index in range(count):
        path = os.path.join(videos, f"sample-{index:02d}.mp4")
        scene_video(path, num_frames=150, width=320, height=240, seed=seed + index,
                    motion_spans=((20 + 5 * index, 45 + 5 * index), (90, 120)),
                    cut_at=(70,) if index % 2 else ())
        yield path
    yield build_tiny_vlm(os.path.join(output, "tiny-idp-model"), seed=seed)
