"""What a video's stream says about showing its pictures (schemas.records.Display), read with
PyAV: the display matrix, the sample aspect ratio and the field order.

decord reads none of these, so it relies on this probe too (transforms/decord_video.py).
"""
from __future__ import annotations

import logging
from typing import Optional, Tuple

import numpy as np

from schemas.records import Display
from transforms.display import matrix_turn
from transforms.interlace import detect_field_order, tagged_field_order

log = logging.getLogger(__name__)


def first_frame(container, stream) -> Optional[object]:
    """The stream's first decodable frame (packets the codec rejects skipped), or None."""
    import av
    # One thread (frame threads start and wait for several packets first), keyframes only (a
    # decoder holding back frames for reordering would decode the next ones before the first).
    stream.thread_count = 1
    stream.codec_context.skip_frame = "NONKEY"
    for packet in container.demux(stream):
        try:
            for frame in packet.decode():
                return frame
        except av.error.InvalidDataError:
            continue
    return None


def read_display(path: str, stream, first, detect_interlacing: bool = False
                 ) -> Tuple[Display, bool]:
    """(Display, whether its interlacing was detected rather than tagged) of an open stream
    whose first frame (`first_frame`, None where none decodes) is `first`.

    The display matrix rides on decoded frames: PyAV reads no stream-level side data. Detection
    decodes IDET_FRAMES frames more."""
    import av
    from av.sidedata.sidedata import Type
    matrix = first.side_data.get(Type.DISPLAYMATRIX) if first is not None else None
    rotation, mirrored = matrix_turn(np.frombuffer(bytes(matrix), np.int32)
                                     if matrix is not None else None)
    ratio = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    sample_aspect = (ratio.numerator, ratio.denominator) if ratio else (1, 1)
    field_order, detected = tagged_field_order(stream, first), False
    if field_order == "progressive" and detect_interlacing:
        with av.open(path) as again:
            found = detect_field_order(again, again.streams.video[0])
        if found:
            log.debug("%s: untagged interlacing found (%s)", path, found)
            field_order, detected = found, True
    return Display(rotation, mirrored, sample_aspect, field_order), detected
