"""Decode, probe and sample one video: its candidate frame pairs and its outcome.

Free of Apache Beam on purpose: the decode child process of every worker imports this module,
and importing Beam there would cost ~1.5 CPU-s per worker start for nothing. The sampling itself
(analysis pass, picks, full-resolution frames) is transforms/sampling.py.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import time
from typing import Iterator, Union

import cv2
import fsspec

from schemas.records import FramePair, VideoInfo, VideoOutcome, VideoSource
from transforms import motion
from transforms.image_pairs import decode_image_pair
from transforms.decord_video import open_decord
from transforms.pairs_out import PairsOut
from transforms.sample import SampleConfig
from transforms.sampling import sample_video
from transforms.video_io import DecodeError, decoder_errors, open_video


@dataclasses.dataclass(frozen=True)
class DecodeConfig:
    backend: str = dataclasses.field(default="auto", metadata={
        "help": "video decoder: auto (PyAV, then decord when PyAV fails), pyav or decord"})
    analysis_width: int = dataclasses.field(default=160, metadata={
        "help": "width of the small grey frames used for motion analysis, pixels"})
    output_max_side: int = dataclasses.field(default=0, metadata={
        "help": "downscale stored frames so their longer side is at most this (0: the display "
                "size, after rotation and pixel aspect)"})
    max_pixels: int = dataclasses.field(default=3840 * 2160, metadata={
        "help": "refuse videos with more pixels per displayed frame than this: too_large"})
    max_frames: int = dataclasses.field(default=500_000, metadata={
        "help": "refuse videos with more frames than this: too_long"})
    max_seconds: float = dataclasses.field(default=4 * 3600.0, metadata={
        "help": "refuse videos longer than this, seconds: too_long"})
    min_side: int = dataclasses.field(default=16, metadata={
        "help": "refuse videos whose displayed shorter side is below this, pixels: too_small"})
    detect_interlacing: bool = dataclasses.field(default=False, metadata={
        "help": "look for interlacing that the stream does not tag (FFmpeg's idet over its "
                "first frames, decoding them once more) and deinterlace what it finds; tagged "
                "interlacing is always deinterlaced"})
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


def _check_limits(info: VideoInfo, config: DecodeConfig) -> None:
    """The limits apply to the frames as displayed (and stored), not as coded."""
    width, height = info.display_width, info.display_height
    if width * height > config.max_pixels:
        raise DecodeError("too_large", f"{width}x{height} (displayed) exceeds max_pixels")
    if min(width, height) < config.min_side:
        raise DecodeError("too_small", f"{width}x{height} (displayed) is below min_side")
    if info.num_frames > config.max_frames:
        raise DecodeError("too_long", f"{info.num_frames} frames exceeds max_frames")
    if info.duration > config.max_seconds:
        raise DecodeError("too_long", f"{info.duration:.0f} s exceeds max_seconds")


def _small_size(video, decode: DecodeConfig) -> tuple:
    return motion.analysis_size(video.info.display_width, video.info.display_height,
                                decode.analysis_width)


def decode_video(source: VideoSource, path: str, decode: DecodeConfig,
                 sample: SampleConfig) -> Iterator[Union[FramePair, VideoOutcome]]:
    """Pure core: the video's pairs as they are made, then its outcome. Raises DecodeError for a
    video that cannot be used.

    PyAV analyses fastest (it hands over the luma plane as it is); on a file where it fails
    before any pair is out, decord decodes it all again.
    """
    if source.label and sample.labelled_sampler:
        # A label describes the whole clip: pair its first and last frames (as AURORA did).
        sample = dataclasses.replace(sample, sampler=sample.labelled_sampler)
    video = open_video(path, decode.backend, decode.detect_interlacing)
    _check_limits(video.info, decode)
    made = 0
    try:
        for item in _sample_video(video, path, source, decode, sample):
            made += 1
            yield item
    except decoder_errors() as error:
        if decode.backend == "auto" and video.info.decoder == "pyav" and not made:
            try:
                decord = open_decord(path, display=video.info.display)
                yield from _sample_video(decord, path, source, decode, sample)
                return
            except decoder_errors() as fallback_error:
                error = fallback_error
            except DecodeError as fallback_error:  # decord cannot show it as PyAV would
                raise DecodeError("decode_failed", f"pyav: {type(error).__name__}: {error}; "
                                  f"decord: {fallback_error}") from fallback_error
        raise DecodeError("decode_failed", f"{type(error).__name__}: {error}") from error


def _sample_video(video, path: str, source: VideoSource, decode: DecodeConfig,
                  sample: SampleConfig) -> Iterator[Union[FramePair, VideoOutcome]]:
    return sample_video(video, _small_size(video, decode), path, source, sample,
                        decode.output_max_side)


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


def stream_source(source: VideoSource, decode: DecodeConfig,
                  sample: SampleConfig) -> Iterator[Union[FramePair, VideoOutcome]]:
    """One video's pairs, one at a time, then its outcome (always last); every per-file problem
    becomes an outcome with a reason."""
    out = PairsOut(source)
    try:
        for item in _stream(source, decode, sample):
            out.note(item)
            yield item
        return
    except FileNotFoundError as error:
        reason, message = "not_found", str(error)
    except (PermissionError, IsADirectoryError) as error:
        reason, message = "unreadable", str(error)
    except DecodeError as error:
        reason, message = error.reason, str(error)
    except (OSError, TimeoutError) as error:  # still failing after retries: retry the run later
        reason, message = "io_error", f"{type(error).__name__}: {error}"
    yield out.failed(reason, message)


def _stream(source: VideoSource, decode: DecodeConfig, sample: SampleConfig):
    if source.problem:
        raise DecodeError(source.problem, source.problem_detail or f"unusable input: "
                                                                    f"{source.problem}")
    if source.size == 0:
        raise DecodeError("empty_file", "the file is empty")
    with _opencv_threads(1):
        if source.images:
            outcome, pairs = decode_image_pair(source, decode.analysis_width,
                                               decode.max_pixels, decode.min_side)
            yield from pairs
            yield outcome
            return
        with local_copy(source.uri, decode.io_attempts) as path:
            yield from decode_video(source, path, decode, sample)


def process_source(source: VideoSource, decode: DecodeConfig, sample: SampleConfig):
    """One video to (outcome, pairs), all in memory: for a few pairs (tests, benchmarks)."""
    *pairs, outcome = stream_source(source, decode, sample)
    return outcome, pairs
