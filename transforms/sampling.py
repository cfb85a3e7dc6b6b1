"""Runs a sampler (transforms/samplers/) over an opened video: the analysis pass over small grey
frames, then the full-resolution frames of its picks, each pair out as soon as it is complete.

Motion is analysed on small grey frames streamed once (memory bounded whatever the length);
full resolution is decoded only for the frames that the sampler kept. A sampler whose picks do
not depend on motion (stride) has its pairs come out of that one pass.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Dict, Iterator, Optional, Union

import cv2
import numpy as np

from schemas.records import FramePair, PairMeta, Shots, VideoInfo, VideoOutcome, VideoSource
from schemas.shard_layout import sample_key
from transforms import motion, scores
from transforms.decoder import holds_frames
from transforms.sample import SampleConfig, sample_pairs
from transforms.samplers import sampler_for
from transforms.shot_sampling import HoldPerShot, pairs_in_runs, shots_record, spread, usable_runs
from transforms.shots import ShotDetector
from transforms.storage import sha256_of
from transforms.streamed_shots import aligned, restart_grid, stream_in_shots
from transforms.video_io import DecodeError

Size = tuple  # (width, height) of the small grey frames


def resize(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return frame
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def sample_video(video, size: Size, path: str, source: VideoSource, sample: SampleConfig,
                 output_max_side: int) -> Iterator[Union[FramePair, VideoOutcome]]:
    """The video's pairs as they are made, then its outcome."""
    sampler = sampler_for(sample)
    detector = _detector(sample, source, video.info.fps)
    if holds_frames(video) and sampler.streams(video.info.fps) is not None:
        if detector is None:
            yield from _streamed(video, size, path, source, sample, output_max_side)
        else:
            yield from _streamed_in_shots(video, size, path, source, sample, output_max_side,
                                          sampler, detector)
        return
    analysis = motion.Analysis(detector)
    _analyse(video, size, analysis, sampler, detector, sample)
    signals = analysis.signals()
    if signals.num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    # Trust the frames actually decoded over the container's claimed count.
    info = dataclasses.replace(video.info, num_frames=signals.num_frames,
                               sha256=sha256_of(path))
    if detector is None:
        shots = None
        indices = [(None, pair) for pair in sample_pairs(signals, info.fps, sample)]
    else:
        detector.finish()
        runs = usable_runs(detector.transitions, signals.num_frames, sample.shot_edge_frames)
        is_pick = sampler.streams(info.fps)
        if is_pick is not None:  # the same picks as when they stream (PyAV)
            restart = restart_grid(is_pick, info.fps)
            runs = [(aligned(first, restart), last) for first, last in runs]
        found, too_short = pairs_in_runs(sampler, signals.motion, info.fps, runs)
        indices = spread(found, sample.max_pairs_per_video, signals.num_frames)
        shots = shots_record(detector.transitions, too_short)
    if not indices:
        yield no_pairs(source, info, sample, shots)
        return
    # Each pair goes out as soon as its later frame is decoded, and a frame is let go once the
    # last pair that needs it is out: memory holds a few frames, however many pairs there are.
    completes = collections.defaultdict(list)  # frame index -> the pairs it is the later frame of
    needed_until: Dict[int, int] = {}  # frame index -> the latest frame of a pair that uses it
    for shot, pair in indices:
        completes[max(pair)].append((shot, pair))
        for index in pair:
            needed_until[index] = max(needed_until.get(index, 0), max(pair))
    frames: Dict[int, np.ndarray] = {}
    for index, frame in video.iter_frames(sorted(needed_until)):
        frames[index] = resize(frame, output_max_side)
        for shot, (before, after) in completes[index]:
            yield make_pair(source, info, sample, (before, frames[before]),
                            (after, frames[after]), signals, shot=shot)
        for done in [i for i in frames if needed_until[i] <= index]:
            del frames[done]
    yield VideoOutcome(source, info, len(indices), shots=shots)


def _detector(sample: SampleConfig, source: VideoSource, fps: float) -> Optional[ShotDetector]:
    """None where the video is one shot: --shots off, or a labelled clip (its label describes
    the whole clip)."""
    if sample.shots == "off" or source.label:
        return None
    return ShotDetector(sample.shot_config(), fps)


def _analyse(video, size: Size, analysis: motion.Analysis, sampler, detector,
             sample: SampleConfig) -> None:
    """Streams the small grey frames once through `analysis`; a decoder that can holds the
    frames the sampler will likely keep."""
    policy = None
    if holds_frames(video) and sampler.holder() is not None:  # decord: small frames, no holds
        policy = sampler.holder() if detector is None else HoldPerShot(
            sampler, detector, analysis, video.info.fps, sample.shot_edge_frames)
    for gray in video.small_gray(*size):
        value = analysis.add(gray)
        if policy is None:
            continue
        keep, released = policy.offer(analysis.num_frames - 1, value)
        for old in released:
            video.release(old)
        if keep:
            video.hold_current(analysis.num_frames - 1)


def _streamed_in_shots(video, size: Size, path: str, source: VideoSource, sample: SampleConfig,
                       output_max_side: int, sampler, detector: ShotDetector):
    info = dataclasses.replace(video.info, sha256=sha256_of(path))
    made = 0
    stream = stream_in_shots(video, size, info.fps, info.num_frames, sampler.streams(info.fps),
                             detector, sample.shot_edge_frames, sample.max_pairs_per_video)
    while True:
        try:
            shot, (before, first), (after, second), signals, offset = next(stream)
        except StopIteration as end:
            num_frames, shots = end.value
            break
        yield make_pair(source, info, sample, (before, resize(first, output_max_side)),
                        (after, resize(second, output_max_side)), signals, offset, shot)
        made += 1
    if num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    info = dataclasses.replace(info, num_frames=num_frames)
    yield VideoOutcome(source, info, made, shots=shots) if made else \
        no_pairs(source, info, sample, shots)


def _streamed(video, size: Size, path: str, source: VideoSource, sample: SampleConfig,
              output_max_side: int) -> Iterator[Union[FramePair, VideoOutcome]]:
    """Each pair goes out as the analysis pass decodes its later frame, converted from the same
    decoded picture. One decode of the video, whatever its length, and only the latest pick held
    (the next pair's earlier frame).

    The pairs' info has the container's frame count; the outcome, the count decoded."""
    info = dataclasses.replace(video.info, sha256=sha256_of(path))
    is_pick = sampler_for(sample).streams(info.fps)
    cap = sample.max_pairs_per_video
    analysis = motion.Analysis()
    earlier = None  # (index, frame) of the latest pick
    made = 0
    for index, gray in enumerate(video.small_gray(*size)):
        analysis.add(gray)
        if not is_pick(index) or (cap and made >= cap):
            continue
        later = (index, resize(video.current_rgb(), output_max_side))
        if earlier is not None:
            yield make_pair(source, info, sample, earlier, later,
                            analysis.signals(earlier[0], index), offset=earlier[0])
            made += 1
        earlier = later
    if analysis.num_frames == 0:
        raise DecodeError("no_frames", "no frame could be decoded")
    info = dataclasses.replace(info, num_frames=analysis.num_frames)
    yield VideoOutcome(source, info, made) if made else no_pairs(source, info, sample, None)


def make_pair(source: VideoSource, info: VideoInfo, sample: SampleConfig, before, after,
              signals: motion.FrameSignals, offset: int = 0,
              shot: Optional[int] = None) -> FramePair:
    """The FramePair of (index, frame) `before` and `after`; `signals` from frame `offset` on."""
    (before_index, before_frame), (after_index, after_frame) = before, after
    meta = PairMeta(
        key=sample_key(source.video_id, before_index, after_index), source=source, info=info,
        before_index=before_index, after_index=after_index, sampler=sample.sampler,
        scores=scores.measure(before_frame, after_frame, signals, before_index - offset,
                              after_index - offset), shot=shot)
    return FramePair(meta=meta, before=before_frame, after=after_frame)


def no_pairs(source: VideoSource, info: VideoInfo, sample: SampleConfig,
             shots: Optional[Shots]) -> VideoOutcome:
    if shots is not None and len(shots.starts) > 1:
        return VideoOutcome(source, info, 0, "shots_too_short",
                            f"none of its {len(shots.starts)} shots was long enough for a pair "
                            f"with {sample.sampler}", shots=shots)
    return VideoOutcome(source, info, 0, "too_short",
                        f"{info.num_frames} frames gave no pair with {sample.sampler}", shots=shots)
