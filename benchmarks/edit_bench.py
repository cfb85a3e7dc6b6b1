"""A generated edit benchmark with exact ground truth: shots over real photographs (the ones
bundled in the scikit-image wheel, no download) and the repository's own generated footage,
panned, zoomed and with moving objects, joined by hard cuts, same-scene cuts (a clip looping to
its start, jump cuts), dissolves of 0.3-1 s and fades through black; plus negatives, single shots
with whip pans, flashes, strobes, a light switched on, fast zooms and a subject filling the frame.

Each video is written once (H.264, 25 fps) beside a JSON of its true transitions: frames
first..last belong to no shot, a cut being first = the new shot's first frame, last = first - 1.
"""
from __future__ import annotations

import json
import os
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np

from synthetic_inputs.videos import texture, write_video

FPS = 25
WIDTH, HEIGHT = 480, 272
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
          "hubble_deep_field", "retina", "colorwheel", "camera", "coins", "horse", "brick",
          "grass", "gravel", "moon", "clock", "cell", "page")
Shot = Callable[[int], np.ndarray]  # frame number within the shot -> RGB frame


def photo(name: str) -> np.ndarray:
    """A bundled photograph, RGB, at least 3x the output size (room to pan and zoom)."""
    import skimage.data
    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
    scale = max(3 * WIDTH / image.shape[1], 3 * HEIGHT / image.shape[0], 1.0)
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def generated(seed: int) -> np.ndarray:
    """The repository's own generated footage: its blotchy texture, tinted."""
    tint = [(60, 80, 110), (230, 210, 180), (120, 160, 90), (200, 90, 80)][seed % 4]
    return texture(3 * WIDTH, 3 * HEIGHT, 1000 + seed, tint)


def _crop(image: np.ndarray, cx: float, cy: float, scale: float) -> np.ndarray:
    """The output-sized view centred at (cx, cy) of `image` seen at `scale` (1: 3x wider)."""
    w, h = WIDTH * 1.5 / scale, HEIGHT * 1.5 / scale
    matrix = np.float32([[w / WIDTH, 0, cx - w / 2], [0, h / HEIGHT, cy - h / 2]])
    return cv2.warpAffine(image, matrix, (WIDTH, HEIGHT),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def moving_shot(image: np.ndarray, rng: np.random.Generator, style: str,
                sprite: np.ndarray = None) -> Shot:
    """A pan, a zoom, or a still view with an object crossing it."""
    ih, iw = image.shape[:2]
    cx0, cy0 = iw / 2 + rng.uniform(-iw / 8, iw / 8), ih / 2 + rng.uniform(-ih / 8, ih / 8)
    vx, vy = rng.uniform(-4, 4), rng.uniform(-2, 2)
    zoom = rng.uniform(-0.006, 0.006)

    def frame(t: int) -> np.ndarray:
        if style == "pan":
            return _crop(image, cx0 + vx * t, cy0 + vy * t, 1.0)
        if style == "zoom":
            return _crop(image, cx0, cy0, 1.0 + zoom * t)
        view = _crop(image, cx0, cy0, 1.0).copy()
        size = HEIGHT // 3
        x = int((t * 6) % (WIDTH + size)) - size
        y = HEIGHT // 2 - size // 2 + int(20 * np.sin(t / 9))
        patch = cv2.resize(sprite, (size, size))
        x0, x1 = max(0, x), min(WIDTH, x + size)
        if x1 > x0:
            view[y:y + size, x0:x1] = patch[:, x0 - x:x1 - x]
        return view
    return frame


def _source(rng: np.random.Generator, used: List[str]) -> np.ndarray:
    if rng.uniform() < 0.25:
        return generated(int(rng.integers(0, 1000)))
    names = [n for n in PHOTOS if n not in used[-3:]]
    name = names[int(rng.integers(0, len(names)))]
    used.append(name)
    return photo(name)


def _new_shot(rng, used) -> Shot:
    """A shot with something in it: a view of a photograph's flat part (night sky, a blank
    page) is drawn again, as an editor would not cut to it."""
    while True:
        style = ("pan", "zoom", "object")[int(rng.integers(0, 3))]
        sprite = _crop(photo(PHOTOS[int(rng.integers(0, len(PHOTOS)))]), 700, 400, 1.0)
        shot = moving_shot(_source(rng, used), rng, style, sprite)
        if shot(0).std() >= 10:
            return shot


def edited(kind: str, seed: int, shots: int = 8) -> Tuple[List[np.ndarray], List[dict]]:
    """A video of `shots` shots joined by transitions of one kind; (frames, true transitions)."""
    rng = np.random.default_rng(seed)
    used: List[str] = []
    frames: List[np.ndarray] = []
    truth: List[dict] = []
    shot, t = _new_shot(rng, used), 0
    for number in range(shots):
        length = int(rng.integers(2 * FPS, 4 * FPS))
        frames.extend(shot(t + i) for i in range(length))
        t += length
        if number == shots - 1:
            break
        if kind == "same_scene":
            if rng.uniform() < 0.5:
                t = 0  # the clip loops back to its start
            else:
                t += int(rng.integers(FPS, 3 * FPS))  # a jump cut: the same shot, later on
            truth.append({"kind": "cut", "first": len(frames), "last": len(frames) - 1})
            continue
        following = _new_shot(rng, used)
        if kind == "cut":
            truth.append({"kind": "cut", "first": len(frames), "last": len(frames) - 1})
        elif kind == "dissolve":
            span = int(rng.integers(int(0.3 * FPS), FPS + 1))
            first = len(frames)
            for i in range(span):
                alpha = (i + 1) / (span + 1)
                frames.append(cv2.addWeighted(shot(t + i), 1 - alpha, following(i), alpha, 0))
            truth.append({"kind": "dissolve", "first": first, "last": len(frames) - 1})
            t = span
            shot = following
            continue
        elif kind == "fade":
            out, black, into = (int(rng.integers(int(0.3 * FPS), int(0.6 * FPS))),
                                int(rng.integers(0, 6)), int(rng.integers(int(0.3 * FPS),
                                                                          int(0.6 * FPS))))
            first = len(frames)
            for i in range(out):
                frames.append((shot(t + i) * (1 - (i + 1) / (out + 1))).astype(np.uint8))
            frames.extend(np.zeros((HEIGHT, WIDTH, 3), np.uint8) for _ in range(black))
            for i in range(into):
                frames.append((following(i) * ((i + 1) / (into + 1))).astype(np.uint8))
            truth.append({"kind": "fade", "first": first, "last": len(frames) - 1})
            shot, t = following, into
            continue
        shot, t = following, 0
    return frames, truth


def negative(kind: str, seed: int, seconds: int = 12) -> List[np.ndarray]:
    """One shot, no transition, with an event that fools naive detectors in its middle."""
    rng = np.random.default_rng(seed)
    image = _source(rng, [])
    ih, iw = image.shape[:2]
    count, middle = seconds * FPS, seconds * FPS // 2
    frames = []
    cx, cy, scale = iw / 2, ih / 2, 1.0
    for t in range(count):
        dt = t - middle
        if kind == "whip_pan":  # a fast pan with motion blur, 8 frames, to elsewhere
            speed = 70 * np.sin(np.pi * dt / 8) if 0 <= dt < 8 else 1.5
            subframes = [_crop(image, cx + speed * k / 4, cy, scale) for k in range(4)]
            cx += speed
            frames.append(np.mean(subframes, axis=0).astype(np.uint8))
            continue
        if kind == "fast_zoom":
            scale *= 1.07 if 0 <= dt < 12 else 1.0
        elif kind == "shake":
            cx, cy = iw / 2 + rng.normal(0, 8), ih / 2 + rng.normal(0, 8)
        else:
            cx += 1.0
        view = _crop(image, cx, cy, scale).astype(np.float32)
        if kind == "flash" and dt in (0, 1):
            view = view + 0.85 * (255 - view)
        elif kind == "strobe" and 0 <= dt < 24 and dt % 4 == 0:
            view = view + 0.7 * (255 - view)
        elif kind == "light_on":
            view *= 0.3 if dt < 0 else (0.65 if dt == 0 else 1.0)
        elif kind == "filling":  # a subject comes at the camera until it fills the frame
            sprite = _crop(generated(seed), 700, 400, 1.0)
            grow = min(1.0, max(0.0, (dt + FPS) / (2 * FPS)))
            if grow > 0:
                w, h = max(2, int(WIDTH * 1.4 * grow)), max(2, int(HEIGHT * 1.4 * grow))
                patch = cv2.resize(sprite, (w, h)).astype(np.float32)
                x0, y0 = (WIDTH - w) // 2, (HEIGHT - h) // 2
                sx, sy = max(0, -x0), max(0, -y0)
                view[max(0, y0):max(0, y0) + h - 2 * sy, max(0, x0):max(0, x0) + w - 2 * sx] = \
                    patch[sy:h - sy, sx:w - sx][:HEIGHT, :WIDTH]
        frames.append(np.clip(view, 0, 255).astype(np.uint8))
    return frames


EDIT_KINDS = ("cut", "same_scene", "dissolve", "fade")
NEGATIVE_KINDS = ("whip_pan", "flash", "strobe", "light_on", "fast_zoom", "filling", "shake")


def build(folder: str, per_kind: int = 3, negatives_per_kind: int = 3) -> Dict[str, dict]:
    """Writes the benchmark's videos (once) and returns {path: {"group", "truth"}}."""
    os.makedirs(folder, exist_ok=True)
    plan = [(kind, seed, True) for kind in EDIT_KINDS for seed in range(per_kind)]
    plan += [(kind, seed, False) for kind in NEGATIVE_KINDS for seed in range(negatives_per_kind)]
    videos = {}
    for kind, seed, is_edit in plan:
        path = os.path.join(folder, f"{kind}-{seed}.mp4")
        truth_path = path[:-4] + ".json"
        if not os.path.exists(truth_path):
            if is_edit:
                frames, truth = edited(kind, 100 * seed + EDIT_KINDS.index(kind))
            else:
                frames, truth = negative(kind, 500 + seed), []
            write_video(path, frames, fps=FPS)
            with open(truth_path, "w") as handle:
                json.dump({"group": kind, "negative": not is_edit, "frames": len(frames),
                           "truth": truth}, handle)
        with open(truth_path) as handle:
            videos[path] = json.load(handle)
    return videos
