"""Realistic benchmark videos, made once and cached: H.264 720p / 1080p with a panning textured
background (every macroblock changes, as with a hand-held camera), a moving square and a hard
scene cut every 12 s. Long videos are a 60 s clip concatenated by stream copy (no re-encoding).
"""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np

from synthetic_inputs.videos import texture

FPS = 25
CUT_EVERY_S = 12
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def _background(width: int, height: int, seed: int, tint) -> np.ndarray:
    """Blotches plus fine, softened grain: camera-like detail, so the bitrate is realistic."""
    import cv2
    grain = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    grain = cv2.GaussianBlur(grain, (0, 0), 1.2)
    return cv2.addWeighted(texture(width, height, seed, tint), 0.6, grain, 0.4, 0)


def frames(width: int, height: int, seconds: float, seed: int = 0) -> Iterator[np.ndarray]:
    pan = 3  # px per frame
    span = int(seconds * FPS)
    margin = pan * CUT_EVERY_S * FPS + 8
    size = height // 5
    background = None
    for index in range(span):
        if index % (CUT_EVERY_S * FPS) == 0:
            scene = index // (CUT_EVERY_S * FPS)
            tint = (230, 210, 180) if scene % 2 else (60, 80, 110)
            background = _background(width + margin, height, seed + 100 * scene, tint)
            offset = 0
        offset += pan
        frame = background[:, offset:offset + width].copy()
        x = int((width - size) * (0.5 + 0.45 * np.sin(index / 20)))
        y = int((height - size) * (0.5 + 0.3 * np.cos(index / 33)))
        frame[y:y + size, x:x + size] = (250, 240, 20)
        yield frame


def concatenate(source: str, path: str, times: int) -> str:
    """`times` copies of `source` back to back, packets copied, timestamps shifted."""
    import av
    partial = path + ".partial.mp4"
    with av.open(source) as first:
        duration = None
        with av.open(partial, "w") as out:
            template = first.streams.video[0]
            stream = out.add_stream_from_template(template)
            for copy in range(times):
                with av.open(source) as src:
                    last = 0
                    for packet in src.demux(src.streams.video[0]):
                        if packet.dts is None:
                            continue
                        step = packet.duration or 0
                        offset = copy * duration if duration else 0
                        last = max(last, packet.pts + step)
                        packet.pts += offset
                        packet.dts += offset
                        packet.stream = stream
                        out.mux(packet)
                    if duration is None:
                        duration = last
    os.replace(partial, path)
    return path


def video(cache: str, name: str, seconds: float) -> str:
    """Cached `name` ("720p" or "1080p") video of `seconds` (a multiple of 60 above 60 s)."""
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, f"{name}_{int(seconds)}s.mp4")
    if os.path.exists(path):
        return path
    if seconds > 60:
        assert seconds % 60 == 0, "long videos are whole minutes"
        return concatenate(video(cache, name, 60), path, int(seconds // 60))
    width, height = SIZES[name]
    partial = path + ".partial.mp4"
    encode(partial, frames(width, height, seconds))
    os.replace(partial, path)
    return path


def encode(path: str, rgb_frames) -> None:
    """libx264 as cameras and sites ship it: CABAC, deblocking, B-frames (not the tests' ultrafast)."""
    import av
    with av.open(path, "w") as container:
        stream = None
        for rgb in rgb_frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=FPS)
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.options = {"preset": "veryfast", "crf": "23"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
