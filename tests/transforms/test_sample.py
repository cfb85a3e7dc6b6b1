import numpy as np
import pytest

from transforms import motion
from transforms.sample import SampleConfig, sample_pairs
from transforms.samplers.keyframes import keyframes
from transforms.video_io import open_video


def signals_of(path):
    video = open_video(path)
    return motion.analyse(video.small_gray(*motion.analysis_size(
        video.info.width, video.info.height, 160)))


def test_keyframes_take_highest_motion_at_least_gap_apart():
    scores = np.zeros(100, np.float32)
    scores[[10, 12, 50, 95]] = [5, 9, 7, 1]
    # 12 beats 10 (too close to 12), then 50, then 95; the rest are ties broken by earlier frame.
    assert keyframes(scores, 3, 20) == [12, 50, 95]
    # Then still frames fill in, only where they keep the gap: 70 fits, nothing else does.
    assert keyframes(scores, 5, 20) == [12, 50, 70, 95]


def test_keyframes_are_deterministic_on_ties():
    assert keyframes(np.zeros(60, np.float32), 6, 20) == [0, 20, 40]


def test_motion_is_found_where_the_square_moves(scene_path):
    signals = signals_of(scene_path)
    assert signals.num_frames == 120
    moving = set(range(30, 40)) | set(range(80, 90))
    top = np.argsort(-signals.motion)[:12]
    # Besides the cut frame (flow is meaningless across a cut), every top frame is in a span.
    assert set(int(i) for i in top) - {60} <= moving
    still = [i for i in range(1, 120) if i not in moving and i != 60]
    assert signals.motion[still].max() < 0.2 * signals.motion[sorted(moving)].min()


def test_cut_score_spikes_only_at_the_cut(scene_path):
    signals = signals_of(scene_path)
    assert int(np.argmax(signals.cut)) == 60
    others = np.delete(signals.cut, 60)
    assert signals.cut[60] > 3 * others.max()


def test_keyframe_pairs_are_consecutive_in_time(scene_path):
    pairs = sample_pairs(signals_of(scene_path), 25.0, SampleConfig())
    assert pairs and all(a < b for a, b in pairs)
    assert all(first[1] == second[0] for first, second in zip(pairs, pairs[1:]))
    assert any(30 <= a <= 40 or 30 <= b <= 40 for a, b in pairs)


def test_first_last_and_stride(scene_path):
    signals = signals_of(scene_path)
    assert sample_pairs(signals, 25.0, SampleConfig(sampler="first_last")) == [(0, 119)]
    stride = sample_pairs(signals, 25.0, SampleConfig(sampler="stride", stride_seconds=1.0))
    assert stride == [(0, 25), (25, 50), (50, 75), (75, 100)]
    capped = SampleConfig(sampler="stride", stride_seconds=1.0, max_pairs_per_video=2)
    assert sample_pairs(signals, 25.0, capped) == [(0, 25), (25, 50)]


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="unknown sampler"):
        SampleConfig(sampler="random")
