import numpy as np
import pytest

from transforms.samplers import sampler_for
from transforms.samplers.first_last import FirstAndLatest
from transforms.samplers.keyframes import MotionPeaks, keyframes
from transforms.sample import SampleConfig


def run(policy, motion, each_step=lambda held: None):
    """The frames a policy holds at the end of a stream, checking each step on the way."""
    held = set()
    for index, value in enumerate(motion):
        keep, released = policy.offer(index, float(value))
        assert set(released) <= held
        held -= set(released)
        if keep:
            held.add(index)
        each_step(held)
    return held


def test_motion_peaks_hold_separated_peaks_and_nothing_they_suppress():
    motion = np.zeros(400, np.float32)
    peaks = [15, 70, 130, 190, 250, 320, 380]
    for height, peak in enumerate(peaks, start=1):
        motion[peak - 3:peak + 4] = height * np.array([.2, .5, .8, 1, .8, .5, .2])
    held = run(MotionPeaks(count=6, min_gap=20), motion)
    assert set(peaks) <= held and len(held) == 12  # spare room: quiet frames far from peaks
    assert not any(0 < abs(frame - peak) < 20 for frame in held for peak in peaks)
    assert set(keyframes(motion, 6, 20)) <= held


def bounded_and_apart(held):
    assert len(held) <= 12
    assert all(b - a >= 20 for a, b in zip(sorted(held), sorted(held)[1:]))


def test_motion_peaks_stay_bounded_apart_and_hold_almost_every_greedy_pick():
    rng = np.random.default_rng(0)
    picks = held_picks = 0
    for trial in range(200):
        raw = rng.random(int(rng.integers(30, 1500))).astype(np.float32)
        width = int(rng.integers(1, 30))
        motion = np.convolve(raw, np.ones(width) / width, mode="same").astype(np.float32)
        held = run(MotionPeaks(count=6, min_gap=20), motion, bounded_and_apart)
        chosen = keyframes(motion, 6, 20)
        picks += len(chosen)
        held_picks += len(set(chosen) & held)
    # Misses (a pick whose stronger neighbour was suppressed by a third) are decoded again.
    assert held_picks / picks > 0.95


def test_motion_peaks_break_ties_as_the_greedy_rule_does():
    held = run(MotionPeaks(count=2, min_gap=5), [0, 1, 1, 0, 0, 0, 0, 0])
    assert 1 in held and 2 not in held
    assert keyframes(np.array([0, 1, 1, 0, 0, 0, 0, 0], np.float32), 2, 5)[0] == 1


def test_first_and_latest_holds_two_frames():
    assert run(FirstAndLatest(), range(50)) == {0, 49}
    assert run(FirstAndLatest(), range(1)) == {0}


def test_policy_follows_the_sampler():
    assert isinstance(sampler_for(SampleConfig()).holder(), MotionPeaks)
    assert isinstance(sampler_for(SampleConfig(sampler="first_last")).holder(), FirstAndLatest)
    stride = sampler_for(SampleConfig(sampler="stride"))
    assert stride.holder() is None  # stride picks during the analysis pass: nothing to hold
    assert stride.streams(25.0) is not None
