"""Checks that take seconds and save hours: run before any long work starts.

Each check returns None or one clear sentence naming what is wrong. `--skip-preflight` skips them.
"""
from __future__ import annotations

import logging
import os
import tempfile
import uuid
from typing import List, Optional, Tuple

import numpy as np

from pipelines.config import BuildConfig
from schemas.records import VideoSource
from schemas.shard_layout import READABLE_VERSIONS, SCHEMA_VERSION, is_readable_version
from transforms.discover import COLUMNS, MANIFEST_SUFFIXES, expand_input, unused_columns
from transforms.dataset.index import read_index
from transforms.dataset.layout import MARKERS
from transforms.schemes import scheme_problem
from transforms.storage import filesystem, join

PROBE_INPUTS = 3  # inputs whose codecs are probed
log = logging.getLogger("idp-corpus")


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
    if config.run.mode != "refresh":
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
    """Every input source, listed once for all checks, and the problem if there is none: an
    input that cannot be listed, or one that matches nothing (a typo in a glob would otherwise
    just make a smaller dataset) unless --allow-empty-input."""
    sources: List[VideoSource] = []
    for spec in config.discover.inputs:
        try:
            found = expand_input(spec, (config.write.output,))
        except UnicodeDecodeError as error:
            return sources, (f"the input {spec!r} is not UTF-8 text ({error}); save it as UTF-8 "
                             "(in Excel: CSV UTF-8)")
        except (OSError, ValueError, ImportError) as error:
            return sources, f"the input {spec!r} cannot be listed: {type(error).__name__}: {error}"
        if not found and not config.allow_empty_input:
            return sources, (f"no input matches {spec!r} (files under --output are not "
                             "inputs); give --allow-empty-input if that is expected")
        sources += found
    return sources, None


def warn_unused_columns(config: BuildConfig) -> None:
    """Once per manifest: columns nothing reads, with the ones that are read."""
    for spec in config.discover.inputs:
        if spec.endswith(MANIFEST_SUFFIXES):
            unused = [str(name) for name in unused_columns(spec)]
            if unused:
                log.warning("%s: column(s) %s are not used (a manifest is read for %s)", spec,
                            ", ".join(unused), ", ".join(COLUMNS))


def warn_unsupported(sources: List[VideoSource]) -> None:
    """Once per run, not once per row: rows whose filesystem is not installed."""
    unusable = [source for source in sources if source.problem == "unsupported_scheme"]
    if unusable:
        log.warning("%d input(s) cannot be read here and will be recorded as "
                    "unsupported_scheme, e.g. %s: %s", len(unusable), unusable[0].uri,
                    unusable[0].problem_detail)


def check_output_scheme(config: BuildConfig) -> Optional[str]:
    unusable = scheme_problem(config.write.output)
    return f"the output cannot be written: {unusable}" if unusable else None


def check_foreign(config: BuildConfig) -> Optional[str]:
    """A non-empty folder that is not an idp-corpus dataset is not written into (its
    shards/shard-000000.tar would be overwritten) unless --mode overwrite says so."""
    if config.run.mode == "overwrite":
        return None
    fs, path = filesystem(config.write.output)
    try:
        if not fs.isdir(path):
            return (f"the output {config.write.output!r} is a file, not a folder"
                    if fs.exists(path) else None)
        names = {entry.rstrip("/").rsplit("/", 1)[-1] for entry in fs.ls(path, detail=False)}
    except (OSError, ValueError):
        return None  # check_output says why it cannot be used
    names = {name for name in names if not name.startswith(".")}
    if not names or names & MARKERS:
        return None
    return (f"the output {config.write.output!r} is a non-empty folder that is not an "
            f"idp-corpus dataset (it holds {', '.join(sorted(names)[:5])}); write to a new or "
            "empty folder, or give --mode overwrite to write into it anyway")


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
    from synthetic_inputs.videos import scene_video
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
    from transforms.caption.handler import IdpModelHandler
    from transforms.caption.inputs import as_input
    from transforms.caption.loading import resolve_device
    if caption_config.device.startswith("cuda") and resolve_device("auto") != "cuda":
        raise RuntimeError(f"the caption stage asks for {caption_config.device} "
                           "but no GPU is visible")
    handler = IdpModelHandler(caption_config)
    model = handler.load_model()
    image = np.zeros((32, 32, 3), np.uint8)
    meta = PairMeta("preflight", VideoSource("preflight", "preflight"),
                    VideoInfo(25.0, 2, 32, 32, "pyav"), 0, 1, "preflight",
                    PairScores(0, 0, 0, 0, 0))
    result = list(handler.run_inference([as_input(FramePair(meta, image, image))], model))
    return result[0].inference.action


def check_model(config: BuildConfig) -> Optional[str]:
    if config.caption is None:
        return None
    return check_caption_model(config.caption)


def check_caption_model(caption) -> Optional[str]:
    """None, or why the model cannot caption (in a child process: nothing stays loaded here)."""
    from transforms.isolation import ChildFailed, IsolatedCall
    from transforms.caption.loading import missing_extra
    child = IsolatedCall(timeout_seconds=1800, preload=("transforms.caption.handler",))
    try:
        child.call(_caption_one_pair, caption)
    except ChildFailed as error:
        return (f"the model {caption.model!r} could not caption a test pair: {error}"
                + missing_extra(str(error)))
    except Exception as error:  # noqa: BLE001 - whatever loading raised is the message
        message = " ".join(str(error).split())  # one line, however the library wrapped it
        return (f"the model {caption.model!r} could not caption a test pair: "
                f"{type(error).__name__}: {message[:300]}" + missing_extra(message))
    finally:
        child.close()
    return None


def check_target(config: BuildConfig) -> None:
    """Raises PreflightError when the output is no place to write at all: run before the run's
    lease, which is its first write, so a foreign folder gets nothing of ours."""
    problem = check_output_scheme(config) or check_foreign(config)
    if problem is not None:
        raise PreflightError(problem)


def preflight(config: BuildConfig) -> None:
    """Raises PreflightError naming every problem found. Without a usable output or any input,
    the later checks would only repeat the same cause."""
    check_target(config)
    problem = check_output(config) or check_existing(config)
    if problem is None:
        sources, problem = list_inputs(config)
    if problem is not None:
        raise PreflightError(problem)
    warn_unsupported(sources)
    warn_unused_columns(config)
    problems = [p for p in (check_decoders(sources), check_model(config)) if p]
    if problems:
        raise PreflightError("; ".join(problems))
