import numpy as np
import pytest

from schemas.records import VideoSource
from transforms import video_io
from transforms.decode import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.sample import SampleConfig


def decode(path, **config):
    source = expand_glob(str(path))[0]
    return decode_video(source, str(path), DecodeConfig(**config), SampleConfig())


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_probe_and_pairs(scene_path, backend):
    outcome, pairs = decode(scene_path, backend=backend)
    info = outcome.info
    assert (info.fps, info.num_frames, info.width, info.height) == (25.0, 120, 160, 120)
    assert info.decoder == backend and info.duration == pytest.approx(4.8)
    assert outcome.num_candidates == len(pairs) > 0
    for pair in pairs:
        assert pair.before.shape == pair.after.shape == (120, 160, 3)
        assert pair.key == f"{outcome.source.video_id}_{pair.meta.before_index:07d}_" \
                           f"{pair.meta.after_index:07d}"


def test_both_backends_decode_the_same_frames(scene_path):
    frames = {}
    for backend in ("decord", "pyav"):
        video = video_io.open_video(scene_path, backend)
        frames[backend] = np.stack(video.frames([0, 35, 61, 119])).astype(int)
    # Same decoded pictures; colour conversion may differ by a level or two between libraries.
    assert np.abs(frames["decord"] - frames["pyav"]).mean() < 3


def test_falls_back_to_pyav_when_decord_cannot_open(scene_path, monkeypatch):
    def refuse(path):
        raise RuntimeError("decord refused")
    monkeypatch.setattr(video_io.DecordVideo, "__init__", lambda self, path: refuse(path))
    outcome, pairs = decode(scene_path)
    assert outcome.info.decoder == "pyav" and pairs


def test_only_kept_frames_are_decoded_at_full_resolution(scene_path, monkeypatch):
    asked = []
    original = video_io.DecordVideo.frames
    monkeypatch.setattr(video_io.DecordVideo, "frames",
                        lambda self, indices: asked.append(list(indices)) or original(self, indices))
    outcome, pairs = decode(scene_path, backend="decord")
    wanted = sorted({i for p in pairs for i in (p.meta.before_index, p.meta.after_index)})
    assert asked == [wanted] and len(wanted) <= 6


def test_output_max_side_downscales_stored_frames(scene_path):
    _, pairs = decode(scene_path, output_max_side=80)
    assert pairs[0].before.shape == (60, 80, 3)


def test_not_a_video_is_a_decode_error(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(video_io.DecodeError) as error:
        decode_video(VideoSource(str(path), "x"), str(path), DecodeConfig(), SampleConfig())
    assert error.value.reason == "decode_failed"


def test_limits_refuse_oversized_videos(scene_path):
    with pytest.raises(video_io.DecodeError) as error:
        decode(scene_path, max_pixels=100 * 100)
    assert error.value.reason == "too_large"
    with pytest.raises(video_io.DecodeError) as error:
        decode(scene_path, max_frames=50)
    assert error.value.reason == "too_long"
