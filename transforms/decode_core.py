"""Decode, probe and sample one video: its candidate frame pairs and its outcome.

Free of Apache Beam on purpose: the decode child process of every worker imports this module,
and importing Beam there would cost ~1.5 CPU-s per worker start for nothing.

Motion is analysed on small grey frames streamed once (memory bounded whatever the length);
full resolution is decoded only for the frames that the sampler kept. Stride's picks do not
depend on motion, so its pairs come out of that one pass.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from typing import Dict, Iterator, Optional, Union

import cv2
import fsspec
import numpy as np

from schemas.records import FramePair, PairMeta, VideoInfo, VideoOutcome, VideoSource
from schemas.sample import sample_key
from transforms import motion, scores
from transforms.image_pairs import decode_image_pair
from transforms.sample import SampleConfig, sample_pairs, stride_step
from transforms.held_frames import policy_for
from transforms.decord_video import open_decord
from transforms.video_io import DecodeError, PyAVVideo, decoder_errors, open_video


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


def _analyse(video, decode: DecodeConfig, sample: SampleConfig):
    """The video's signals; a PyAV video also holds the frames the sampler will likely keep."""
    size = _small_size(video, decode)
    if not isinstance(video, PyAVVideo):  # decord decodes small frames: nothing to hold
        return motion.analyse(video.small_gray(*size))
    policy = policy_for(sample)

    def hold(index: int, motion_value: float) -> None:
        keep, released = policy.offer(index, motion_value)
        for old in released:
            video.release(old)
        if keep:
            video.hold_current(index)
    return motion.analyse(video.small_gray(*size), on_frame=hold)


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
    if sample.sampler == "stride" and isinstance(video, PyAVVideo):
        yield from _stride_in_one_pass(video, path, source, decode, sample)
        return
    signals = _analyse(video, decode, sample)
    if signals.num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    # Trust the frames actually decoded over the container's claimed count.
    info = dataclasses.replace(video.info, num_frames=signals.num_frames,
                               sha256=file_sha256(path))
    indices = sample_pairs(signals, info.fps, sample)
    if not indices:
        yield _too_short(source, info, sample)
        return
    # Each pair goes out as soon as its later frame is decoded, and a frame is let go once the
    # last pair that needs it is out: memory holds a few frames, however many pairs there are.
    completes = collections.defaultdict(list)  # frame index -> the pairs it is the later frame of
    needed_until: Dict[int, int] = {}  # frame index -> the latest frame of a pair that uses it
    for pair in indices:
        completes[max(pair)].append(pair)
        for index in pair:
            needed_until[index] = max(needed_until.get(index, 0), max(pair))
    frames: Dict[int, np.ndarray] = {}
    for index, frame in video.iter_frames(sorted(needed_until)):
        frames[index] = _resize(frame, decode.output_max_side)
        for before, after in completes[index]:
            yield _pair(source, info, sample, (before, frames[before]), (after, frames[after]),
                        signals)
        for done in [i for i in frames if needed_until[i] <= index]:
            del frames[done]
    yield VideoOutcome(source, info, len(indices))


def _stride_in_one_pass(video: PyAVVideo, path: str, source: VideoSource, decode: DecodeConfig,
                        sample: SampleConfig) -> Iterator[Union[FramePair, VideoOutcome]]:
    """Stride's picks do not depend on motion: each pair goes out as the analysis pass decodes
    its later frame, converted from the same decoded picture. One decode of the video, whatever
    its length, and only the latest pick held (the next pair's earlier frame).

    The pairs' info has the container's frame count; the outcome, the count decoded."""
    info = dataclasses.replace(video.info, sha256=file_sha256(path))
    step = stride_step(info.fps, sample)
    last_pick = sample.max_pairs_per_video * step if sample.max_pairs_per_video else None
    analysis = motion.Analysis()
    earlier = None  # (index, frame) of the latest pick
    made = 0
    for index, gray in enumerate(video.small_gray(*_small_size(video, decode))):
        analysis.add(gray)
        if index % step or (last_pick is not None and index > last_pick):
            continue
        later = (index, _resize(video.current_rgb(), decode.output_max_side))
        if earlier is not None:
            yield _pair(source, info, sample, earlier, later, analysis.signals(earlier[0], index),
                        offset=earlier[0])
            made += 1
        earlier = later
    if analysis.num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    info = dataclasses.replace(info, num_frames=analysis.num_frames)
    yield VideoOutcome(source, info, made) if made else _too_short(source, info, sample)


def _pair(source: VideoSource, info: VideoInfo, sample: SampleConfig, before, after,
          signals: motion.FrameSignals, offset: int = 0) -> FramePair:
    """The FramePair of (index, frame) `before` and `after`; `signals` from frame `offset` on."""
    (before_index, before_frame), (after_index, after_frame) = before, after
    meta = PairMeta(
        key=sample_key(source.video_id, before_index, after_index), source=source, info=info,
        before_index=before_index, after_index=after_index, sampler=sample.sampler,
        scores=scores.measure(before_frame, after_frame, signals, before_index - offset,
                              after_index - offset))
    return FramePair(meta=meta, before=before_frame, after=after_frame)


def _too_short(source: VideoSource, info: VideoInfo, sample: SampleConfig) -> VideoOutcome:
    return VideoOutcome(source, info, 0, "too_short",
                        f"{info.num_frames} frames gave no pair with {sample.sampler}")


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


def failed_outcome(source: VideoSource, reason: str, message: str, pairs_out: int = 0,
                   info: Optional[VideoInfo] = None) -> VideoOutcome:
    """The outcome of a video that failed. Pairs already sent on stay (they may be in shards by
    now): the outcome counts them and keeps the video's info, so the manifest shows it as cut
    short by `reason` rather than failed, and a retry of failed videos does not repeat them."""
    if pairs_out:
        message = f"stopped after {pairs_out} pairs, which are kept: {message}"
        return VideoOutcome(source, info, pairs_out, reason, message[:500])
    return VideoOutcome(source, None, 0, reason, message[:500])


def stream_source(source: VideoSource, decode: DecodeConfig,
                  sample: SampleConfig) -> Iterator[Union[FramePair, VideoOutcome]]:
    """One video's pairs, one at a time, then its outcome (always last); every per-file problem
    becomes an outcome with a reason."""
    pairs_out, info = 0, None
    try:
        for item in _stream(source, decode, sample):
            if isinstance(item, FramePair):
                pairs_out, info = pairs_out + 1, item.meta.info
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
    yield failed_outcome(source, reason, message, pairs_out, info)


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
