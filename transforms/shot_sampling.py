"""Sampling within shots: each shot's frames that may be sampled, every sampler's rule applied
to each shot on its own, what the analysis pass holds while shots are still being found, and a
cap on pairs spread over the video.

A shot's sampled frames stop short of its boundaries: `edge` frames next to a cut, and as many
again as a gradual transition's detected span lasts (its true span may be longer: the blend's
ends change too little to tell from the shot's own motion).
"""
from __future__ import annotations

from typing import List, Sequence, Set, Tuple

import numpy as np

from schemas.records import Shots
from transforms.samplers.base import Decision, Pair
from transforms.shots import Transition, shots_of

LIKELY_BOUNDARY = 0.08  # cut score (motion.FrameSignals.cut) of frames the holds skip
Run = Tuple[int, int]  # first and last frame that may be sampled, both included
ShotPair = Tuple[int, Pair]  # (shot index, pair)


def margin(transition: Transition, edge: int) -> int:
    """Frames on each side of a transition that are never sampled."""
    if transition.kind == "cut":
        return edge
    return edge + transition.last - transition.first + 1


def usable_runs(transitions: Sequence[Transition], num_frames: int, edge: int) -> List[Run]:
    """One run per shot (possibly empty: first > last)."""
    runs = []
    for index, (first, last) in enumerate(shots_of(list(transitions), num_frames)):
        if index > 0:
            first += margin(transitions[index - 1], edge)
        if index < len(transitions):
            last -= margin(transitions[index], edge)
        runs.append((first, last))
    return runs


def shots_record(transitions: Sequence[Transition], too_short: int) -> Shots:
    return Shots(starts=(0,) + tuple(t.next_start for t in transitions),
                 transitions=("start",) + tuple(t.kind for t in transitions),
                 too_short=too_short)


def pairs_in_runs(sampler, motion: np.ndarray, fps: float,
                  runs: Sequence[Run]) -> Tuple[List[ShotPair], int]:
    """The sampler's pairs in each shot's run, and how many shots gave none."""
    found: List[ShotPair] = []
    too_short = 0
    for shot, (first, last) in enumerate(runs):
        pairs = sampler.pairs(motion[first:last + 1], fps) if last > first else []
        if not pairs:
            too_short += 1
        found.extend((shot, (first + a, first + b)) for a, b in pairs)
    return found, too_short


def spread(pairs: List[ShotPair], cap: int, num_frames: int) -> List[ShotPair]:
    """At most `cap` pairs, evenly over the video: for each of `cap` evenly spaced moments the
    pair whose middle is nearest (the earlier one on a tie), in frame order."""
    if not cap or len(pairs) <= cap:
        return pairs
    left = list(pairs)
    chosen = []
    for k in range(cap):
        moment = (k + 0.5) * num_frames / cap
        best = min(left, key=lambda item: (abs(sum(item[1]) / 2 - moment), item[1]))
        left.remove(best)
        chosen.append(best)
    return sorted(chosen, key=lambda item: item[1])


def admits(made: int, before: int, cap: int, expected_frames: int) -> bool:
    """For pairs that leave as the pass goes: the cap spread over the container's frame count
    (the k-th pair starts no earlier than k/cap of the way through)."""
    return not cap or (made < cap and before >= made * expected_frames / cap)


class HoldPerShot:
    """A hold policy for a sampler that picks after the analysis pass, shot by shot: its own
    policy runs afresh in each shot; once a boundary is decided, the closed shot's picks are
    known, and every other picture held in it goes. Frames next to a boundary are never held.
    """

    def __init__(self, sampler, detector, analysis, fps: float, edge: int):
        self._sampler, self._detector, self._analysis = sampler, detector, analysis
        self._fps, self._edge = fps, edge
        self._handled = 0  # transitions seen
        self._start = 0  # first frame of the open shot's run
        self._policy = sampler.holder()
        self._held: Set[int] = set()  # held for the open shot
        self._picks: Set[int] = set()  # picks of closed shots: held to the end
        # Frames that look like a boundary, held outside the policy until their shot closes.
        self._aside: Set[int] = set()

    def offer(self, index: int, motion: float) -> Decision:
        released: List[int] = []
        for transition in self._detector.decided_since(self._handled):
            self._handled += 1
            released += self._close(transition, index)
        if index < self._start:
            return False, released
        if self._analysis.cut_at(index) > LIKELY_BOUNDARY:
            # A boundary frame's motion is the largest of all: offered, it would push its
            # neighbours in the next shot out of the policy before the boundary is decided.
            # Held aside instead: where no boundary is decided the sampler may pick it, and a
            # pick not held is decoded again by seeking (a group of pictures for one frame).
            self._aside.add(index)
            return True, released
        keep, let_go = self._policy.offer(index - self._start, motion)
        for relative in let_go:
            self._held.discard(self._start + relative)
            released.append(self._start + relative)
        if keep:
            self._held.add(index)
        return keep, released

    def _close(self, transition: Transition, index: int) -> List[int]:
        end = transition.first - 1 - margin(transition, self._edge)
        if end > self._start:
            motion = self._analysis.signals(self._start, end).motion
            for a, b in self._sampler.pairs(motion, self._fps):
                self._picks.update((self._start + a, self._start + b))
        released = sorted(i for i in self._held | self._aside if i < transition.next_start +
                          margin(transition, self._edge) and i not in self._picks)
        self._held -= set(released) | self._picks
        self._aside -= set(released) | self._picks
        self._start = transition.next_start + margin(transition, self._edge)
        self._policy = self._sampler.holder()
        # The new shot's frames already passed are offered again to its fresh policy; those it
        # keeps stay held if they were, those it lets go go.
        kept: Set[int] = set()
        for frame in range(self._start, index):
            keep, let_go = self._policy.offer(frame - self._start,
                                              float(self._analysis.motion_at(frame)))
            kept -= {self._start + r for r in let_go}
            if keep:
                kept.add(frame)
        for frame in sorted(self._held):
            if frame >= self._start and frame not in kept:
                released.append(frame)
        self._held = {frame for frame in self._held if frame in kept}
        return released
