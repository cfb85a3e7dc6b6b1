"""Video decoding backends: PyAV first, decord (transforms/decord_video.py) when PyAV cannot open
or read a file.

Both give the same two views of a video: a stream of small grey frames for motion analysis
(memory bounded by one window, whatever the video's length) and full-resolution RGB frames
for just the indices that were kept. PyAV goes first because it can hand over a frame's luma
plane as it is: no colour conversion for frames that are only analysed.
"""
from __future__ import annotations

import bisect
import itertools
import logging
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from schemas.records import VideoInfo
from transforms.display import coded_size, orient
from transforms.interlace import deinterlaced
from transforms.probe import read_display

log = logging.getLogger(__name__)

WINDOW = 32  # frames decoded per call when streaming: bounds memory, amortises call overhead
# Decoded pictures the analysis pass may hold for the full-resolution pass (the samplers' hold
# policies, transforms/samplers/): about 20 frames of 4K, 80 of 1080p. `iter_frames` lets go of
# them all.
# The keyframes sampler holds about a dozen, first_last two; stride holds none (it converts its
# picks as the analysis pass decodes them).
HOLD_BUDGET_BYTES = 256 << 20
# Decoder threads per video: one. A build runs one video per core already; slice threads save
# no CPU time and, on a loaded machine, cost 25-35% more (docs/performance.md).
DECODE_THREADS = 1


class DecodeError(Exception):
    """The file cannot be decoded as a video (a permanent, per-file failure)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # crosses the decoder process boundary with its reason intact
        return DecodeError, (self.reason, str(self))


def decoder_errors() -> tuple:
    """What the native decoders raise on a bad file (decord's own error is no RuntimeError)."""
    import av
    import decord
    return (RuntimeError, ValueError, OSError, IndexError, EOFError, decord.DECORDError,
            av.error.FFmpegError)


# 8-bit pixel formats whose first plane is luma: that plane is the grey image, read in place.
LUMA_FORMATS = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p",
                          "yuv440p", "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "gray"})
# Limited-range luma (16..235) stretched to 0..255, as a conversion to RGB and back would.
_LIMITED_TO_FULL = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)
MPEG_RANGE, JPEG_RANGE = 1, 2  # AVColorRange: 0 is unspecified


def downscale_gray(gray: np.ndarray, width: int, height: int) -> np.ndarray:
    """Anti-aliased downscale, cheap: halve by 2x2 averaging (OpenCV's fast area path) down to
    2-4x the target, blur 3x3 there, then one area step. One area resize from 720p costs 3x as
    much; and a box filter alone lets panning texture alias, doubling the frame-to-frame
    histogram distance past the scene-cut threshold. This keeps the scores of the bilinear
    scaler used before (docs/performance.md)."""
    import cv2
    while gray.shape[1] >= 4 * width and gray.shape[0] >= 4 * height:
        half_h, half_w = gray.shape[0] // 2, gray.shape[1] // 2
        gray = cv2.resize(gray[:2 * half_h, :2 * half_w], (half_w, half_h),
                          interpolation=cv2.INTER_AREA)
    if gray.shape[1] >= 2 * width and gray.shape[0] >= 2 * height:
        gray = cv2.GaussianBlur(gray, (3, 3), 0)
    if gray.shape[:2] != (height, width):
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    return gray if gray.base is None else gray.copy()  # never a view of the decoder's buffer


def small_luma(frame, width: int, height: int) -> np.ndarray:
    """A decoded PyAV frame as a (height, width) uint8 grey image, full range."""
    name = frame.format.name
    if name not in LUMA_FORMATS:  # 10-bit, RGB, palette...: let swscale convert
        return frame.to_ndarray(width=width, height=height, format="gray")
    import cv2
    plane = frame.planes[0]
    luma = np.frombuffer(plane, np.uint8)[:plane.height * plane.line_size]
    small = downscale_gray(luma.reshape(plane.height, plane.line_size)[:, :plane.width],
                           width, height)
    # Untagged YUV is limited range (as swscale assumes); untagged grey-only video is full.
    full = (name.startswith("yuvj") or frame.color_range == JPEG_RANGE
            or (name == "gray" and frame.color_range != MPEG_RANGE))
    return small if full else cv2.LUT(small, _LIMITED_TO_FULL)


def _frame_bytes(frame) -> int:
    return sum(plane.buffer_size for plane in frame.planes)


def _frame_count(container, stream, fps: float) -> int:
    """The container's frame count, or an estimate from its duration where it has none (MKV,
    WebM), so that the length limits apply before decoding."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    else:
        seconds = (container.duration or 0) / 1_000_000  # AV_TIME_BASE
    return max(0, int(round(seconds * fps)))


class PyAVVideo:
    """PyAV: the analysis pass reads each frame's luma plane in place (no colour conversion) and
    notes where the keyframes are, so that `iter_frames` seeks once per group of pictures. It
    can also hold decoded pictures (`hold_current`) that `iter_frames` then converts without
    decoding them again. Every picture it gives is deinterlaced, square-pixelled and turned as
    the stream says (`info.display`)."""

    def __init__(self, path: str, detect_interlacing: bool = False):
        import av
        self._av = av
        self._path = path
        container = av.open(path)
        try:
            if not container.streams.video:
                raise DecodeError("no_video_stream", "the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_count = DECODE_THREADS
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            # The display matrix rides on decoded frames: the first is decoded here, and the
            # analysis pass goes on from it (`_resume`) rather than decode it twice.
            frames = _decoded(av, path, container)
            first = next(frames, None)
            display, self._detected = read_display(path, stream, first, detect_interlacing)
            self.info = VideoInfo(fps=rate, num_frames=_frame_count(container, stream, rate),
                                  width=stream.codec_context.width,
                                  height=stream.codec_context.height, decoder="pyav",
                                  display=display)
        except BaseException:
            container.close()
            raise
        self._resume = (container, itertools.chain([first] if first is not None else [], frames))
        self._pts: List[Optional[int]] = []  # of every frame, in order: filled by a full pass
        self._keyframes: List[int] = []  # indices of the keyframes among them
        self._current = None  # the frame small_gray yielded last
        self._held: Dict[int, object] = {}  # index -> decoded frame, within HOLD_BUDGET_BYTES
        self._held_bytes = 0

    def _open(self):
        container = self._av.open(self._path)
        container.streams.video[0].thread_count = DECODE_THREADS
        return container

    def _decode(self, container, wanted_pts=None):
        """Frames in order, deinterlaced where the stream is interlaced. On the container the
        probe opened, from where it stopped (its first frame again first)."""
        order = self.info.display.field_order
        decoded = None
        if self._resume is not None and self._resume[0] is container:
            decoded, self._resume = self._resume[1], None
        if decoded is None:
            # bwdif rebuilds a frame from its neighbours: it must see all of them, skip none.
            decoded = _decoded(self._av, self._path, container,
                               wanted_pts if order == "progressive" else None)
        if order == "progressive":
            return decoded
        return deinterlaced(container.streams.video[0], decoded, order, self._detected)

    def _rgb(self, frame) -> np.ndarray:
        """A decoded picture as the player shows it: RGB in square pixels (swscale resamples
        as it converts, with the bicubic filter `ffmpeg -vf scale` uses), turned."""
        width = self.info.display.square_width(frame.width)
        if width == frame.width:
            rgb = frame.to_ndarray(format="rgb24")
        else:
            rgb = frame.to_ndarray(width=width, height=frame.height, format="rgb24",
                                   interpolation="BICUBIC")
        return orient(rgb, self.info.display)

    def _scan(self, container) -> Iterator:
        """Every frame, recording its pts and whether it is a keyframe."""
        self._pts, self._keyframes = [], []
        for index, frame in enumerate(self._decode(container)):
            self._pts.append(frame.pts)
            if frame.key_frame:
                self._keyframes.append(index)
            yield frame

    def small_gray(self, width: int, height: int) -> Iterator[np.ndarray]:
        """Display-shaped width x height grey frames: the coded luma scaled, then turned."""
        coded_width, coded_height = coded_size(width, height, self.info.display)
        container = self._resume[0] if self._resume is not None else self._open()
        with container:
            for frame in self._scan(container):
                self._current = frame
                yield orient(small_luma(frame, coded_width, coded_height), self.info.display)
            self._current = None

    def hold_current(self, index: int) -> None:
        """Holds the frame small_gray yielded last (as `index`), if it fits in HOLD_BUDGET_BYTES."""
        size = _frame_bytes(self._current)
        if index not in self._held and self._held_bytes + size <= HOLD_BUDGET_BYTES:
            self._held[index] = self._current
            self._held_bytes += size

    def current_rgb(self) -> np.ndarray:
        """The frame small_gray yielded last, in full: RGB at the source's resolution."""
        return self._rgb(self._current)

    def held_rgb(self, index: int) -> Optional[np.ndarray]:
        """A held picture in full, RGB (it stays held); None if it is not held."""
        frame = self._held.get(index)
        return None if frame is None else self._rgb(frame)

    def release(self, index: int) -> None:
        frame = self._held.pop(index, None)
        if frame is not None:
            self._held_bytes -= _frame_bytes(frame)

    def frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        return in_order(self, indices)

    def iter_frames(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """(index, RGB frame) for each distinct index, in increasing order, one at a time: held
        pictures converted, the rest decoded again. Lets go of every held picture."""
        wanted = sorted(set(indices))
        held = {i: self._held[i] for i in wanted if i in self._held}
        self._held, self._held_bytes = {}, 0  # the pictures not wanted go now
        rest = [i for i in wanted if i not in held]
        again = self._decode_again(rest) if rest else iter(())
        decoded: Dict[int, np.ndarray] = {}  # decoded again ahead of its turn (rare)
        for index in wanted:
            if index in held:
                yield index, self._rgb(held.pop(index))
                continue
            for found, frame in again:
                decoded[found] = frame
                if found == index:
                    break
            if index not in decoded:
                raise DecodeError("decode_failed", f"frame {index} could not be decoded")
            yield index, decoded.pop(index)

    def _decode_again(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        if not self._pts:
            with self._open() as container:
                for _ in self._scan(container):
                    pass
        pts = self._pts
        if None in pts or any(a >= b for a, b in zip(pts, pts[1:])):
            return self._frames_in_one_pass(indices)  # no increasing pts to seek by
        return self._frames_by_seeking(indices)

    def _frames_by_seeking(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """At most one seek per group of pictures holding wanted frames, then decode forward:
        the cost is the distance from each group's keyframe to its last wanted frame."""
        by_pts = {self._pts[i]: i for i in indices}
        found = set()
        position, decoded = -1, None  # the last frame decoded, and the decoder positioned after it
        with self._open() as container:
            stream = container.streams.video[0]
            for target in sorted(set(indices)):
                at = bisect.bisect_right(self._keyframes, target) - 1
                keyframe = self._keyframes[at] if at >= 0 else 0
                if decoded is None or not keyframe - 1 <= position < target:
                    container.seek(self._pts[keyframe], stream=stream, backward=True,
                                   any_frame=False)
                    decoded = self._decode(container, by_pts)
                for frame in decoded:
                    index = by_pts.get(frame.pts)
                    if index is not None and index not in found:
                        found.add(index)
                        yield index, self._rgb(frame)
                    if frame.pts is not None and frame.pts >= self._pts[target]:
                        break
                else:
                    decoded = None  # the end of the file: seek again for anything further
                position = target if target in found else -1

    def _frames_in_one_pass(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        wanted = set(indices)
        with self._open() as container:
            for index, frame in enumerate(self._decode(container)):
                if index in wanted:
                    yield index, self._rgb(frame)
                    wanted.discard(index)
                    if not wanted:
                        return


def _decoded(av, path: str, container, wanted_pts=None) -> Iterator:
    """Frames in order, skipping packets the codec rejects (corruption in mid-stream).

    With `wanted_pts`, pictures that no other picture refers to are not decoded unless
    wanted: on the way from a keyframe to a wanted frame, about half of an x264 stream.
    """
    stream = container.streams.video[0]
    context = stream.codec_context
    for packet in container.demux(stream):
        if wanted_pts is not None:
            context.skip_frame = ("NONREF" if packet.pts is not None
                                  and packet.pts not in wanted_pts else "DEFAULT")
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            log.debug("skipped a corrupt packet in %s", path)


def in_order(video, indices: Sequence[int]) -> List[np.ndarray]:
    """The frames at `indices`, in the order asked (all held in memory: for a few frames)."""
    found = dict(video.iter_frames(indices))
    return [found[i] for i in indices]


def open_video(path: str, backend: str = "auto", detect_interlacing: bool = False):
    """Open with PyAV, falling back to decord; raises DecodeError when neither can read it."""
    errors = []
    if backend in ("auto", "pyav"):
        try:
            video = PyAVVideo(path, detect_interlacing)
        except decoder_errors() as error:
            errors.append(f"pyav: {type(error).__name__}: {str(error)[:200]}")
        else:
            if video.info.width > 0 and video.info.height > 0:
                return video
            errors.append("pyav: no decodable frames")
    if backend in ("auto", "decord"):
        from transforms.decord_video import open_decord  # it builds on this module
        try:
            video = open_decord(path, detect_interlacing)
        except decoder_errors() as error:
            errors.append(f"decord: {type(error).__name__}: {str(error)[:200]}")
        except DecodeError as error:
            errors.append(f"decord: {error}")
        else:
            if video.info.width > 0 and video.info.height > 0:
                return video
            errors.append("decord: no decodable frames")
    raise DecodeError("decode_failed", "; ".join(errors) or "no backend")
