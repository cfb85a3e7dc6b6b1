"""decord, the fallback decoder: used when PyAV cannot open or read a file, or when asked.

It reads neither the display matrix's flips nor the pixel aspect, and turns frames in its own
way, so it takes what PyAV's probe read (transforms/probe.py) and gives pictures as PyAVVideo
does; where nothing can be read, or the video is interlaced, it refuses.
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np

from schemas.records import Display, VideoInfo
from transforms.display import coded_size, orient, upright
from transforms.probe import first_frame, read_display
from transforms.video_io import WINDOW, DecodeError, decoder_errors, downscale_gray, in_order

FULL_SIZE_BATCH = 4  # full-resolution frames decord decodes per call: a few, not every kept one


class DecordVideo:
    """decord reads neither the pixel aspect nor flips, and turns its full-size frames by the
    MP4 rotate tag but its scaled ones wrongly (measured with decord 0.6: docs/performance.md).
    So it is given what PyAV's probe read (`display`), finds out how it turned the first frame
    by comparing it with PyAV's, and gives pictures as PyAVVideo does. It cannot deinterlace,
    so it refuses interlaced video."""

    def __init__(self, path: str, display: Display):
        import decord
        if display.field_order != "progressive":
            raise DecodeError("decode_failed", f"the video is interlaced ({display.field_order}) "
                              "and decord cannot deinterlace it")
        self._decord = decord
        self._path = path
        reader = decord.VideoReader(path, num_threads=1)
        first = reader[0].asnumpy() if len(reader) else None
        # Degrees decord turned its frames counter-clockwise, to undo before our own turn.
        self._turned = _decord_turn(path, first) if first is not None and display.rotation else 0
        height, width = first.shape[:2] if first is not None else (0, 0)
        if self._turned in (90, 270):
            width, height = height, width
        self.info = VideoInfo(fps=float(reader.get_avg_fps()), num_frames=len(reader),
                              width=width, height=height, decoder="decord", display=display)
        del reader

    def _upright(self, frame: np.ndarray) -> np.ndarray:
        return upright(np.rot90(frame, -self._turned // 90) if self._turned else frame,
                       self.info)

    def small_gray(self, width: int, height: int) -> Iterator[np.ndarray]:
        """Display-shaped width x height grey frames."""
        import cv2
        coded_width, coded_height = coded_size(width, height, self.info.display)
        if self._turned:  # its scaled frames are wrong: scale full-size ones here
            reader = self._decord.VideoReader(self._path, num_threads=1)
        else:
            reader = self._decord.VideoReader(self._path, width=coded_width,
                                              height=coded_height, num_threads=1)
        total = len(reader)
        for start in range(0, total, WINDOW):
            batch = reader.get_batch(list(range(start, min(start + WINDOW, total)))).asnumpy()
            for rgb in batch:
                gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
                if self._turned:
                    rotated = np.ascontiguousarray(np.rot90(gray, -self._turned // 90))
                    gray = downscale_gray(rotated, coded_width, coded_height)
                yield orient(gray, self.info.display)

    def frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        return in_order(self, indices)

    def iter_frames(self, indices: Sequence[int]) -> Iterator[Tuple[int, np.ndarray]]:
        """(index, RGB frame) for each distinct index, in increasing order, a few at a time."""
        reader = self._decord.VideoReader(self._path, num_threads=1)
        wanted = sorted(set(indices))
        for start in range(0, len(wanted), FULL_SIZE_BATCH):
            chunk = wanted[start:start + FULL_SIZE_BATCH]
            for index, frame in zip(chunk, reader.get_batch(chunk).asnumpy()):
                yield index, self._upright(frame)


def _decord_turn(path: str, decord_first: np.ndarray) -> int:
    """The quarter turn (degrees counter-clockwise) that takes PyAV's coded first frame closest
    to decord's."""
    import av
    with av.open(path) as container:
        coded = first_frame(container, container.streams.video[0]).to_ndarray(format="rgb24")
    distances = {}
    for turns in range(4):
        turned = np.rot90(coded, turns)
        if turned.shape == decord_first.shape:
            distances[turns * 90] = float(np.abs(turned.astype(np.int16) - decord_first).mean())
    return min(distances, key=distances.get)


def _probe_display(path: str, detect_interlacing: bool) -> Display:
    import av
    with av.open(path) as container:
        if not container.streams.video:
            raise DecodeError("no_video_stream", "the file has no video stream")
        stream = container.streams.video[0]
        return read_display(path, stream, first_frame(container, stream),
                            detect_interlacing)[0]


def open_decord(path: str, detect_interlacing: bool = False,
                display: Optional[Display] = None) -> DecordVideo:
    """decord, with how the video is shown as `display` says or PyAV's probe reads it. Where
    neither can say, DecodeError: its pictures might be sideways or squashed."""
    if display is None:
        try:
            display = _probe_display(path, detect_interlacing)
        except (*decoder_errors(), DecodeError) as error:
            raise DecodeError("decode_failed", "its rotation and pixel aspect could not be read "
                              f"(PyAV: {type(error).__name__}: {str(error)[:200]}), and decord "
                              "cannot read them: its frames could be stored sideways or "
                              "squashed") from error
    return DecordVideo(path, display)
