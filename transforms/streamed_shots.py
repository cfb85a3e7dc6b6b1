"""A streaming sampler (stride) within shots: pairs leave the analysis pass as it goes, each
once no boundary can still be found between or next to its frames.

A boundary is decided up to `lookahead` frames after it passes (transforms/shots/), so a pick
is held, not converted, until then: the pictures held are the current shot's latest picks and,
for the restart of the next shot, every `RESTART_SECONDS`-th frame of the last lookahead (about
eight pictures at 25 fps). A pick whose picture was not held (the hold budget was full, or it
lies off that grid) is decoded again at the end of the pass. A shot's picks start at the first frame of that grid in
it (at most 0.2 s late), whether the pairs stream or not (decord).
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Set, Tuple

import numpy as np

from transforms import motion
from transforms.shot_sampling import admits, margin, shots_record
from transforms.shots import Transition

RESTART_SECONDS = 0.2  # grid of frames held while a boundary may still be found

Made = Tuple[int, Tuple[int, np.ndarray], Tuple[int, np.ndarray], motion.FrameSignals, int]


def restart_grid(is_pick, fps: float) -> int:
    """Frames between those held while a boundary may still be found, about RESTART_SECONDS:
    where it can, a divisor of the sampler's period, so that a restarted shot's later picks
    already passed were held too."""
    period = next((k for k in range(1, int(10 * max(fps, 1)) + 2) if is_pick(k)), 1)
    target = max(1, int(round(fps * RESTART_SECONDS)))
    divisor = max(d for d in range(1, min(period, target) + 1) if period % d == 0)
    return divisor if 2 * divisor >= target else target


class _Shot:
    def __init__(self, number: int, origin: int):
        self.number, self.origin = number, origin
        self.picks: List[int] = []


def aligned(frame: int, restart: int) -> int:
    """A streaming sampler's shot restarts at the first held frame of the restart grid."""
    return -(-frame // restart) * restart


def stream_in_shots(video, size, fps: float, expected_frames: int, is_pick, detector,
                    edge: int, cap: int) -> Iterator:
    """Yields (shot, (index, rgb), (index, rgb), signals, offset) per pair; returns
    (frames analysed, Shots record)."""
    analysis = motion.Analysis(detector)
    restart = restart_grid(is_pick, fps)
    window = detector.lookahead + restart + edge + detector.edge_reach
    shot = _Shot(0, 0)
    too_short = 0
    pending: List[Tuple[int, Tuple[int, int]]] = []  # formed, waiting for their shot to settle
    deferred: List[Tuple[int, Tuple[int, int]]] = []  # their pictures were not held
    held: Set[int] = set()
    cache: Dict[int, np.ndarray] = {}  # the latest converted pick
    handled = formed = 0
    index = -1

    def add_pick(frame: int) -> None:
        nonlocal formed
        if shot.picks and admits(formed, shot.picks[-1], cap, expected_frames):
            pending.append((shot.number, (shot.picks[-1], frame)))
            formed += 1
        shot.picks.append(frame)

    def close(transition: Transition, replay_to: int) -> None:
        """Ends the open shot at `transition`; the next one's picks before `replay_to`."""
        nonlocal shot, too_short, formed
        end = transition.first - 1 - margin(transition, edge)
        for item in [p for p in pending if p[0] == shot.number and p[1][1] > end]:
            pending.remove(item)
            formed -= 1
        if len([pick for pick in shot.picks if pick <= end]) < 2:
            too_short += 1  # not long enough for a pair (whatever the cap kept)
        start = transition.next_start + margin(transition, edge)
        shot = _Shot(shot.number + 1, aligned(start, restart))
        for frame in range(shot.origin, replay_to):
            if is_pick(frame - shot.origin):
                add_pick(frame)

    def picture(frame: int) -> Optional[np.ndarray]:
        if frame not in cache:
            rgb = video.held_rgb(frame)
            if rgb is None:
                return None
            cache.clear()
            cache[frame] = rgb
        return cache[frame]

    def emit(ready: List[Tuple[int, Tuple[int, int]]]):
        for number, (before, after) in ready:
            first, second = picture(before), picture(after)
            if first is None or second is None:
                deferred.append((number, (before, after)))
                continue
            yield (number, (before, first), (after, second), analysis.signals(before, after),
                   before)

    for index, gray in enumerate(video.small_gray(*size)):
        analysis.add(gray)
        for transition in detector.decided_since(handled):
            handled += 1
            close(transition, index)  # this frame's own pick is taken below
        if index % restart == 0 or (index >= shot.origin and is_pick(index - shot.origin)):
            video.hold_current(index)
            held.add(index)
        if index >= shot.origin and is_pick(index - shot.origin):
            add_pick(index)
        settled = detector.confirmed_through - edge - detector.edge_reach
        ready = [p for p in pending if p[1][1] <= settled]
        for item in ready:
            pending.remove(item)
        yield from emit(ready)
        needed = {f for _, pair in pending + deferred for f in pair} | set(shot.picks[-1:])
        for frame in [f for f in held if f not in needed and f < index - window]:
            video.release(frame)
            held.discard(frame)
    if index < 0:
        return 0, None
    for transition in detector.finish():
        handled += 1
        close(transition, index + 1)
    if len(shot.picks) < 2:
        too_short += 1
    yield from emit(pending)
    if deferred:  # decoded again: held ones converted, the rest by seeking
        wanted = sorted({f for _, pair in deferred for f in pair})
        completes: Dict[int, List[Tuple[int, Tuple[int, int]]]] = {}
        for item in deferred:
            completes.setdefault(item[1][1], []).append(item)
        frames: Dict[int, np.ndarray] = {}
        for frame, rgb in video.iter_frames(wanted):
            frames[frame] = rgb
            for number, (before, after) in completes.get(frame, []):
                yield (number, (before, frames[before]), (after, frames[after]),
                       analysis.signals(before, after), before)
    return analysis.num_frames, shots_record(detector.transitions, too_short)
