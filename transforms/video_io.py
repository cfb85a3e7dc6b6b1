"""Video decoding backends: decord first, PyAV when decord cannot open or read a file.

Both give the same two views of a video: a stream of small grey frames for motion analysis
(memory bounded by one window, whatever the video's length) and full-resolution RGB frames
for just the indices that were kept.
"""
from __future__ import annotations

import logging
from typing import Iterator, List, Sequence

import numpy as np

from schemas.records import VideoInfo

log = logging.getLogger(__name__)

WINDOW = 32  # frames decoded per call when streaming: bounds memory, amortises call overhead


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


class DecordVideo:
    def __init__(self, path: str):
        import decord
        self._decord = decord
        self._path = path
        reader = decord.VideoReader(path, num_threads=1)
        height, width = reader[0].shape[:2] if len(reader) else (0, 0)
        self.info = VideoInfo(fps=float(reader.get_avg_fps()), num_frames=len(reader),
                              width=width, height=height, decoder="decord")
        del reader

    def small_gray(self, width: int, height: int) -> Iterator[np.ndarray]:
        import cv2
        reader = self._decord.VideoReader(self._path, width=width, height=height, num_threads=1)
        total = len(reader)
        for start in range(0, total, WINDOW):
            batch = reader.get_batch(list(range(start, min(start + WINDOW, total)))).asnumpy()
            for rgb in batch:
                yield cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)

    def frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        reader = self._decord.VideoReader(self._path, num_threads=1)
        batch = reader.get_batch(list(indices)).asnumpy()
        return [np.ascontiguousarray(frame) for frame in batch]


class PyAVVideo:
    def __init__(self, path: str):
        import av
        self._av = av
        self._path = path
        with av.open(path) as container:
            if not container.streams.video:
                raise DecodeError("no_video_stream", "the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 0
            self.info = VideoInfo(fps=float(rate), num_frames=int(stream.frames or 0),
                                  width=stream.codec_context.width,
                                  height=stream.codec_context.height, decoder="pyav")
        self._pts: List[int] = []  # pts of every frame, filled by the streaming pass

    def _open(self):
        container = self._av.open(self._path)
        container.streams.video[0].thread_type = "AUTO"
        return container

    def _decode(self, container):
        """Frames in order, skipping packets the codec rejects (corruption in mid-stream)."""
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except self._av.error.InvalidDataError:
                log.debug("skipped a corrupt packet in %s", self._path)

    def small_gray(self, width: int, height: int) -> Iterator[np.ndarray]:
        self._pts = []
        with self._open() as container:
            for frame in self._decode(container):
                self._pts.append(frame.pts)
                yield frame.to_ndarray(width=width, height=height, format="gray")

    def frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        if not self._pts:
            for _ in self.small_gray(16, 16):
                pass
        wanted = {self._pts[i]: i for i in indices}
        found = {}
        with self._open() as container:
            stream = container.streams.video[0]
            for pts in sorted(wanted):
                # Seek to the keyframe at or before the target, then decode forward to it.
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                for frame in self._decode(container):
                    if frame.pts in wanted and wanted[frame.pts] not in found:
                        found[wanted[frame.pts]] = frame.to_ndarray(format="rgb24")
                    if frame.pts is not None and frame.pts >= pts:
                        break
        missing = [i for i in indices if i not in found]
        if missing:
            raise DecodeError("decode_failed", f"frames {missing} could not be decoded")
        return [found[i] for i in indices]


def open_video(path: str, backend: str = "auto"):
    """Open with decord, falling back to PyAV; raises DecodeError when neither can read it."""
    errors = []
    for name, cls in (("decord", DecordVideo), ("pyav", PyAVVideo)):
        if backend not in ("auto", name):
            continue
        try:
            video = cls(path)
        except decoder_errors() as error:
            errors.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
            continue
        if video.info.width > 0 and video.info.height > 0:
            return video
        errors.append(f"{name}: no decodable frames")
    raise DecodeError("decode_failed", "; ".join(errors) or "no backend")
