"""Interlaced video made progressive with FFmpeg's own deinterlacer, as players do before display.

A frame of interlaced video holds two fields taken 1/50 s apart: anything moving shows combing
(alternate lines from two moments), which the motion analysis reads as texture and a trainer
would learn as part of the picture. bwdif (yadif's successor) rebuilds each frame from its first
field and its neighbours; in `send_frame` mode it gives one frame per frame, so frame counts,
indices and times are those of the stream.

Streams whose header or first frame says interlaced are deinterlaced; progressive ones never pass
through a filter. Untagged interlacing (old captures, some broadcast rips) is found only on
request, by FFmpeg's `idet` over the first frames (`detect_interlacing`).
"""
from __future__ import annotations

import collections
from typing import Iterable, Iterator, Optional

FILTER = "bwdif"
# AVFieldOrder: 2 TT and 5 BT show the top field first; 3 BB and 4 TB the bottom one.
_FIELD_ORDERS = {2: "tff", 3: "bff", 4: "bff", 5: "tff"}
IDET_FRAMES = 64  # frames idet looks at: a couple of seconds, enough for its counts to settle


def tagged_field_order(stream, first_frame) -> str:
    """tff / bff when the stream says it is interlaced (its header, else its first frame's
    flag), progressive otherwise."""
    order = _FIELD_ORDERS.get(_as_int(stream.codec_context.field_order))
    if order:
        return order
    if first_frame is not None and first_frame.interlaced_frame:
        return "tff"  # the frames carry their own field order; bwdif's parity=auto reads it
    return "progressive"


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):  # a name, in PyAV versions that wrap the enum as text
        return {"tt": 2, "bb": 3, "tb": 4, "bt": 5}.get(str(value).lower(), 0)


def _graph(stream, name: str, options: Optional[str] = None):
    """buffer -> `name` -> buffersink, for frames of `stream`."""
    import av.filter
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    step = graph.add(name, options)
    sink = graph.add("buffersink")
    source.link_to(step)
    step.link_to(sink)
    graph.configure()
    return graph


def _pull(graph) -> Iterator:
    import av
    while True:
        try:
            yield graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def deinterlaced(stream, frames: Iterable, field_order: str, detected: bool = False) -> Iterator:
    """`frames` (decoded from `stream`, in order) deinterlaced one for one. Each frame keeps the
    pts and keyframe flag of the frame it came from: bwdif's output lags one frame behind (it
    needs the next field), and the caller seeks and counts by these."""
    # Tagged streams: only frames flagged interlaced, with their own parity. Detected ones carry
    # no flag: every frame, with the parity idet found.
    options = ("mode=send_frame:parity=auto:deint=interlaced" if not detected else
               f"mode=send_frame:parity={field_order}:deint=all")
    graph = _graph(stream, FILTER, options)
    waiting = collections.deque()  # (pts, key_frame) of frames pushed and not yet out
    for frame in frames:
        waiting.append((frame.pts, frame.key_frame))
        graph.push(frame)
        yield from _restamp(_pull(graph), waiting)
    graph.push(None)
    yield from _restamp(_pull(graph), waiting)


def _restamp(outputs: Iterable, waiting: collections.deque) -> Iterator:
    for frame in outputs:
        frame.pts, frame.key_frame = waiting.popleft()
        yield frame


def detect_field_order(container, stream, frames: int = IDET_FRAMES) -> Optional[str]:
    """tff / bff when FFmpeg's idet finds most of the first `frames` frames interlaced, else
    None. Decodes those frames once more: opt-in, its cost is in docs/performance.md."""
    graph = _graph(stream, "idet")
    counts = {}
    seen = 0
    for packet in container.demux(stream):
        for frame in packet.decode():
            graph.push(frame)
            for out in _pull(graph):
                counts = out.metadata
            seen += 1
        if seen >= frames:
            break
    tff, bff, progressive = (float(counts.get(f"lavfi.idet.multiple.{name}", 0))
                             for name in ("tff", "bff", "progressive"))
    if tff + bff <= progressive:
        return None
    return "tff" if tff >= bff else "bff"
