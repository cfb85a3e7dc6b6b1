"""Checks that take seconds and save hours: run before any long work starts.

Each check returns None or one clear sentence naming what is wrong. `--skip-preflight` skips them.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from typing import List, Optional, Tuple

import numpy as np

from pipelines.config import BuildConfig
from schemas.records import VideoSource
from schemas.sample import READABLE_VERSIONS, SCHEMA_VERSION, is_readable_version
from transforms.discover import expand_input
from transforms.existing import read_index
from transforms.storage import filesystem, join

PROBE_INPUTS = 3  # inputs whose codecs are probed


class PreflightError(Exception):
    pass


def check_output(config: BuildConfig) -> Optional[str]:
    output = config.write.output
    probe = join(output, f".preflight-{uuid.uuid4().hex[:8]}")
    try:
        fs, path = filesystem(probe)
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(path, "wb") as handle:
            handle.write(b"ok")
        with fs.open(path, "rb") as handle:
            readable = handle.read() == b"ok"
        fs.rm(path)
    except (OSError, ValueError) as error:
        return f"the output {output!r} is not writable: {type(error).__name__}: {error}"
    return None if readable else f"the output {output!r} does not read back what was written"


def check_existing(config: BuildConfig) -> Optional[str]:
    """A refresh extends the committed dataset: its samples must be of a version this one reads
    (its shards stay as they are; the new ones are written in the current version)."""
    if config.write.mode != "refresh":
        return None
    index = read_index(config.write.output)
    if index is None:
        return None
    schema = index.get("schema_version")
    if not is_readable_version(schema):
        return (f"the output {config.write.output!r} holds a dataset of schema {schema}, and this "
                f"build writes schema {SCHEMA_VERSION} and reads {', '.join(READABLE_VERSIONS)}: "
                "a refresh cannot extend it. Rebuild it with --mode overwrite, or write to a new "
                "--output")
    return None


def list_inputs(config: BuildConfig) -> Tuple[List[VideoSource], Optional[str]]:
    """Every input source, listed once for all checks, and the problem if there is none."""
    sources: List[VideoSource] = []
    for spec in config.discover.inputs:
        try:
            sources += expand_input(spec)
        except (OSError, ValueError) as error:
            return sources, f"the input {spec!r} cannot be listed: {type(error).__name__}: {error}"
    return sources, None if sources else f"no input matches {list(config.discover.inputs)}"


def _probe_codec(path: str) -> Optional[str]:
    """None when PyAV can open the file and has a decoder for its video codec."""
    import av
    try:
        with av.open(path) as container:
            if not container.streams.video:
                return "no video stream"
            name = container.streams.video[0].codec_context.name
            av.codec.Codec(name, "r")
    except av.error.FFmpegError as error:
        return f"cannot be opened ({error})"
    except (ValueError, av.codec.codec.UnknownCodecError) as error:
        return f"uses a codec with no decoder here ({error})"
    return None


def check_decoders(sources: List[VideoSource]) -> Optional[str]:
    """The decoders read a fresh H.264 file, and the first inputs' codecs have decoders."""
    from fixtures.videos import scene_video
    from transforms.video_io import open_video
    with tempfile.TemporaryDirectory() as folder:
        path = scene_video(os.path.join(folder, "probe.mp4"), num_frames=8, width=64, height=48)
        for backend in ("decord", "pyav"):
            try:
                frames = open_video(path, backend).frames([0, 7])
            except Exception as error:  # noqa: BLE001 - any failure here is the message
                return f"the {backend} decoder cannot read H.264: {error}"
            if len(frames) != 2:
                return f"the {backend} decoder returned {len(frames)} of 2 frames"
    problems = []
    sources = [s for s in sources if not s.images and not s.problem][:PROBE_INPUTS]  # videos
    for source in sources:
        from transforms.decode_core import local_copy
        try:
            with local_copy(source.uri) as path:
                problem = _probe_codec(path)
        except OSError as error:
            problem = f"cannot be read ({error})"
        if problem:
            problems.append(f"{source.uri}: {problem}")
    if sources and len(problems) == len(sources):
        return ("none of the first inputs is a decodable video: " + "; ".join(problems) +
                " (use --skip-preflight if the rest of the inputs are good)")
    return next((p for p in problems if "no decoder" in p), None)


def _caption_one_pair(caption_config) -> str:
    """In a child process: load the model as the caption stage will, caption one tiny pair."""
    from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource
    from transforms.idp_model import IdpModelHandler, resolve_device
    if caption_config.device.startswith("cuda") and resolve_device("auto") != "cuda":
        raise RuntimeError(f"the caption stage asks for {caption_config.device} "
                           "but no GPU is visible")
    handler = IdpModelHandler(caption_config)
    model = handler.load_model()
    image = np.zeros((32, 32, 3), np.uint8)
    meta = PairMeta("preflight", VideoSource("preflight", "preflight"),
                    VideoInfo(25.0, 2, 32, 32, "pyav"), 0, 1, "preflight",
                    PairScores(0, 0, 0, 0, 0))
    result = list(handler.run_inference([FramePair(meta, image, image)], model))
    return result[0].inference.action


def check_model(config: BuildConfig) -> Optional[str]:
    if config.caption is None:
        return None
    from transforms.isolation import ChildFailed, IsolatedCall
    child = IsolatedCall(timeout_seconds=1800, preload=("transforms.idp_model",))
    try:
        child.call(_caption_one_pair, config.caption)
    except ChildFailed as error:
        return f"the model {config.caption.model!r} could not caption a test pair: {error}"
    except Exception as error:  # noqa: BLE001 - whatever loading raised is the message
        return (f"the model {config.caption.model!r} could not caption a test pair: "
                f"{type(error).__name__}: {str(error)[:300]}")
    finally:
        child.close()
    return None


def preflight(config: BuildConfig) -> None:
    """Raises PreflightError naming every problem found. Without a usable output or any input,
    the later checks would only repeat the same cause."""
    problem = check_output(config) or check_existing(config)
    if problem is None:
        sources, problem = list_inputs(config)
    if problem is not None:
        raise PreflightError(problem)
    problems = [p for p in (check_decoders(sources), check_model(config)) if p]
    if problems:
        raise PreflightError("; ".join(problems))
