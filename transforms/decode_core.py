"""Decode, probe and sample one video: its candidate frame pairs and its outcome.

Free of Apache Beam on purpose: the decode child process of every worker imports this module,
and importing Beam there would cost ~1.5 CPU-s per worker start for nothing.

Motion is analysed on small grey frames streamed once (memory bounded whatever the length);
full resolution is decoded only for the frames that the sampler kept.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from typing import Iterator, List

import cv2
import fsspec
import numpy as np

from schemas.records import FramePair, PairMeta, VideoInfo, VideoOutcome, VideoSource
from schemas.sample import sample_key
from transforms import motion, scores
from transforms.image_pairs import decode_image_pair
from transforms.sample import SampleConfig, sample_pairs
from transforms.held_frames import policy_for
from transforms.video_io import DecodeError, DecordVideo, PyAVVideo, decoder_errors, open_video


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    backend: str = dataclasses.field(default="auto", metadata={
        "help": "video decoder: auto (PyAV, then decord when PyAV fails), pyav or decord"})
    analysis_width: int = dataclasses.field(default=160, metadata={
        "help": "width of the small grey frames used for motion analysis, pixels"})
    output_max_side: int = dataclasses.field(default=0, metadata={
        "help": "downscale stored frames so their longer side is at most this (0: source size)"})
    max_pixels: int = dataclasses.field(default=3840 * 2160, metadata={
        "help": "refuse videos with more pixels per frame than this: too_large"})
    max_frames: int = dataclasses.field(default=500_000, metadata={
        "help": "refuse videos with more frames than this: too_long"})
    max_seconds: float = dataclasses.field(default=4 * 3600.0, metadata={
        "help": "refuse videos longer than this, seconds: too_long"})
    min_side: int = dataclasses.field(default=16, metadata={
        "help": "refuse videos whose shorter side is below this, pixels: too_small"})
    isolate: bool = dataclasses.field(default=True, metadata={
        "help": "decode in a child process, so a decoder crash or hang costs one video only"})
    timeout_seconds: float = dataclasses.field(default=900.0, metadata={
        "help": "give up on a video whose decoding takes longer than this: decode_timeout"})
    io_attempts: int = dataclasses.field(default=3, metadata={
        "help": "attempts at reading a remote file before recording io_error"})


PERMANENT_IO_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError)


@contextlib.contextmanager
def local_copy(uri: str, attempts: int = 3) -> Iterator[str]:
    """A local path for the decoders: the file itself, or a temporary copy of a remote object.

    Transient read errors (timeouts, dropped connections) are retried with backoff; missing or
    forbidden files are not.
    """
    fs, path = fsspec.core.url_to_fs(uri)
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    if protocol in ("file", "local"):
        with open(path, "rb"):  # surfaces missing and unreadable files as OSError here
            pass
        yield path
        return
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        for attempt in range(attempts):
            try:
                tmp.seek(0)
                tmp.truncate()
                with fs.open(path, "rb") as remote:
                    shutil.copyfileobj(remote, tmp, length=8 << 20)
                break
            except PERMANENT_IO_ERRORS:
                raise
            except (OSError, TimeoutError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5 * 2 ** attempt)
        tmp.flush()
        yield tmp.name


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _resize(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return frame
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _check_limits(info: VideoInfo, config: DecodeConfig) -> None:
    if info.width * info.height > config.max_pixels:
        raise DecodeError("too_large", f"{info.width}x{info.height} exceeds max_pixels")
    if min(info.width, info.height) < config.min_side:
        raise DecodeError("too_small", f"{info.width}x{info.height} is below min_side")
    if info.num_frames > config.max_frames:
        raise DecodeError("too_long", f"{info.num_frames} frames exceeds max_frames")
    if info.duration > config.max_seconds:
        raise DecodeError("too_long", f"{info.duration:.0f} s exceeds max_seconds")


def _analyse(video, decode: DecodeConfig, sample: SampleConfig):
    """The video's signals; a PyAV video also holds the frames the sampler will likely keep."""
    size = motion.analysis_size(video.info.width, video.info.height, decode.analysis_width)
    if not isinstance(video, PyAVVideo):  # decord decodes small frames: nothing to hold
        return motion.analyse(video.small_gray(*size))
    policy = policy_for(sample, video.info.fps)

    def hold(index: int, motion_value: float) -> None:
        keep, released = policy.offer(index, motion_value)
        for old in released:
            video.release(old)
        if keep:
            video.hold_current(index)
    return motion.analyse(video.small_gray(*size), on_frame=hold)


def decode_video(source: VideoSource, path: str, decode: DecodeConfig, sample: SampleConfig):
    """Pure core: returns (outcome, pairs). Raises DecodeError for a video that cannot be used.

    PyAV analyses fastest (it hands over the luma plane as it is); on a file where it fails
    mid-stream, decord decodes it all again.
    """
    if source.label and sample.labelled_sampler:
        # A label describes the whole clip: pair its first and last frames (as AURORA did).
        sample = dataclasses.replace(sample, sampler=sample.labelled_sampler)
    video = open_video(path, decode.backend)
    _check_limits(video.info, decode)
    try:
        return _sample_video(video, path, source, decode, sample)
    except decoder_errors() as error:
        if decode.backend == "auto" and video.info.decoder == "pyav":
            try:
                return _sample_video(DecordVideo(path), path, source, decode, sample)
            except decoder_errors() as fallback_error:
                error = fallback_error
        raise DecodeError("decode_failed", f"{type(error).__name__}: {error}") from error


def _sample_video(video, path: str, source: VideoSource, decode: DecodeConfig,
                  sample: SampleConfig):
    signals = _analyse(video, decode, sample)
    if signals.num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    # Trust the frames actually decoded over the container's claimed count.
    info = dataclasses.replace(video.info, num_frames=signals.num_frames,
                               sha256=file_sha256(path))
    indices = sample_pairs(signals, info.fps, sample)
    if not indices:
        return VideoOutcome(source, info, 0, "too_short",
                            f"{info.num_frames} frames gave no pair with {sample.sampler}"), []
    wanted = sorted({i for pair in indices for i in pair})
    frames = dict(zip(wanted, (_resize(f, decode.output_max_side) for f in video.frames(wanted))))
    pairs: List[FramePair] = []
    for before, after in indices:
        meta = PairMeta(
            key=sample_key(source.video_id, before, after), source=source, info=info,
            before_index=before, after_index=after, sampler=sample.sampler,
            scores=scores.measure(frames[before], frames[after], signals, before, after))
        pairs.append(FramePair(meta=meta, before=frames[before], after=frames[after]))
    return VideoOutcome(source, info, len(pairs)), pairs


@contextlib.contextmanager
def _opencv_threads(count: int) -> Iterator[None]:
    """A build already decodes one video per core. On frames this small OpenCV's worker threads
    mostly wait: one thread costs 40% less CPU in the optical flow (docs/performance.md)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def process_source(source: VideoSource, decode: DecodeConfig, sample: SampleConfig):
    """One video to (outcome, pairs); every per-file problem becomes an outcome with a reason."""
    def failed(reason: str, message: str):
        return VideoOutcome(source, None, 0, reason, message[:500]), []

    if source.problem:
        return failed(source.problem, f"unusable input: {source.problem}")
    if source.size == 0:
        return failed("empty_file", "the file is empty")
    try:
        with _opencv_threads(1):
            if source.images:
                return decode_image_pair(source, decode.analysis_width)
            with local_copy(source.uri, decode.io_attempts) as path:
                return decode_video(source, path, decode, sample)
    except FileNotFoundError as error:
        return failed("not_found", str(error))
    except (PermissionError, IsADirectoryError) as error:
        return failed("unreadable", str(error))
    except DecodeError as error:
        return failed(error.reason, str(error))
    except (OSError, TimeoutError) as error:  # still failing after retries: retry the run later
        return failed("io_error", f"{type(error).__name__}: {error}")
