import cv2
import numpy as np
import pytest

from schemas.records import VideoSource
from transforms import decord_video, motion, scores, video_io
from transforms.decode_core import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.sample import SampleConfig, sample_pairs
from transforms.shots import ShotDetector


def decode(path, **config):
    source = expand_glob(str(path))[0]
    *pairs, outcome = decode_video(source, str(path), DecodeConfig(**config), SampleConfig())
    return outcome, pairs


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


def test_auto_is_pyav_and_falls_back_to_decord_when_pyav_cannot_open(scene_path, monkeypatch):
    assert decode(scene_path)[0].info.decoder == "pyav"

    def refuse(self, path, *options):
        raise RuntimeError("pyav refused")
    monkeypatch.setattr(video_io.PyAVVideo, "__init__", refuse)
    outcome, pairs = decode(scene_path)
    assert outcome.info.decoder == "decord" and pairs


def test_falls_back_to_decord_when_pyav_fails_mid_stream(scene_path, monkeypatch):
    def fail(self, indices):
        raise EOFError("pyav stopped")
        yield
    monkeypatch.setattr(video_io.PyAVVideo, "iter_frames", fail)
    outcome, pairs = decode(scene_path)
    assert outcome.info.decoder == "decord" and pairs


@pytest.mark.parametrize("cls, backend", [(decord_video.DecordVideo, "decord"),
                                          (video_io.PyAVVideo, "pyav")])
def test_only_kept_frames_are_decoded_at_full_resolution(scene_path, monkeypatch, cls, backend):
    asked = []
    original = cls.iter_frames
    monkeypatch.setattr(cls, "iter_frames",
                        lambda self, indices: asked.append(list(indices)) or original(self, indices))
    outcome, pairs = decode(scene_path, backend=backend)
    wanted = sorted({i for p in pairs for i in (p.meta.before_index, p.meta.after_index)})
    assert asked == [wanted] and len(wanted) <= 6


def test_output_max_side_downscales_stored_frames(scene_path):
    _, pairs = decode(scene_path, output_max_side=80)
    assert pairs[0].before.shape == (60, 80, 3)


def test_not_a_video_is_a_decode_error(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(video_io.DecodeError) as error:
        list(decode_video(VideoSource(str(path), "x"), str(path), DecodeConfig(), SampleConfig()))
    assert error.value.reason == "decode_failed"


def test_limits_refuse_oversized_videos(scene_path):
    with pytest.raises(video_io.DecodeError) as error:
        decode(scene_path, max_pixels=100 * 100)
    assert error.value.reason == "too_large"
    with pytest.raises(video_io.DecodeError) as error:
        decode(scene_path, max_frames=50)
    assert error.value.reason == "too_long"


def encode(path, frames, pix_fmt="yuv420p", codec="libx264", options=None, gop=None):
    """Encode RGB frames with a chosen pixel format (write_video always takes yuv420p)."""
    import av
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.options = options or {}
        if gop:
            stream.codec_context.gop_size = gop
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return str(path)


def every_frame(path, convert):
    import av
    with av.open(str(path)) as container:
        return [convert(frame) for frame in container.decode(video=0)]


@pytest.mark.parametrize("pix_fmt, codec, size", [
    ("yuv420p", "libx264", (160, 120)), ("yuvj420p", "libx264", (160, 120)),
    ("yuv444p", "ffv1", (160, 120)), ("yuv420p", "ffv1", (161, 121)), ("gray", "ffv1", (161, 121)),
    ("yuv420p10le", "ffv1", (160, 120))])
def test_small_luma_is_the_grey_image(tmp_path, pix_fmt, codec, size):
    from synthetic_inputs.videos import scene_frames
    frames = list(scene_frames(num_frames=5, width=size[0], height=size[1]))
    path = encode(tmp_path / f"v.{'mkv' if codec == 'ffv1' else 'mp4'}", frames, pix_fmt, codec)
    # The luma plane, range-stretched, is what a conversion to RGB and then to grey gives.
    luma = every_frame(path, lambda f: video_io.small_luma(f, *size))
    grey = every_frame(path, lambda f: cv2.cvtColor(f.to_ndarray(format="rgb24"),
                                                    cv2.COLOR_RGB2GRAY))
    assert luma[0].shape == (size[1], size[0]) and luma[0].dtype == np.uint8
    assert np.abs(np.stack(luma).astype(int) - np.stack(grey)).mean() < 1.5
    # Smaller: that grey image shrunk (the 10-bit fallback is scaled by swscale instead).
    small = every_frame(path, lambda f: video_io.small_luma(f, 40, 30))
    expected = [video_io.downscale_gray(g, 40, 30) for g in luma]
    assert np.abs(np.stack(small).astype(int) - np.stack(expected)).mean() < 1


def test_downscale_gray_sizes_and_owns_its_pixels():
    gray = np.random.default_rng(0).integers(0, 256, (721, 1283), dtype=np.uint8)
    for size in ((160, 90), (161, 91), (1283, 721), (640, 360)):
        small = video_io.downscale_gray(gray[:, :], *size)
        assert small.shape == (size[1], size[0]) and small.flags.c_contiguous
        assert not np.shares_memory(small, gray)
    flat = np.full((720, 1280), 77, np.uint8)
    assert (video_io.downscale_gray(flat, 160, 90) == 77).all()
    # Anti-aliased: fine texture averages out instead of folding into a coarse pattern.
    checkers = (np.indices((720, 1280)).sum(axis=0) % 2 * 255).astype(np.uint8)
    assert np.abs(video_io.downscale_gray(checkers, 160, 90).astype(int) - 127).max() <= 1
    ramp = np.tile(np.linspace(0, 255, 1280).astype(np.uint8), (720, 1))
    area = cv2.resize(ramp, (160, 90), interpolation=cv2.INTER_AREA)
    small = video_io.downscale_gray(ramp, 160, 90)
    assert np.abs(small[:, 2:-2].astype(int) - area[:, 2:-2]).max() <= 1


@pytest.fixture(scope="module")
def short_gop_path(tmp_path_factory):
    """B-frames and a keyframe every 12 frames: seeking, continuing and skipping all happen."""
    from synthetic_inputs.videos import scene_frames
    frames = list(scene_frames(num_frames=80, motion_spans=((0, 80),), cut_at=(33,)))
    return encode(tmp_path_factory.mktemp("gop") / "gop.mp4", frames,
                  options={"preset": "veryfast", "crf": "23"}, gop=12)


@pytest.mark.parametrize("indices", [[0], [79], [11, 12, 13], [5, 6, 40, 41, 78],
                                     [3, 30, 31, 33, 34, 60, 79], list(range(0, 80, 7))])
def test_pyav_frames_equal_a_full_decode(short_gop_path, indices):
    expected = every_frame(short_gop_path, lambda f: f.to_ndarray(format="rgb24"))
    video = video_io.PyAVVideo(short_gop_path)
    list(video.small_gray(32, 24))
    assert len(video._keyframes) > 3  # the fixture does have several groups of pictures
    for got, index in zip(video.frames(indices), indices):
        assert np.array_equal(got, expected[index]), index
    # Without the analysis pass first (the preflight check), and in any order.
    fresh = video_io.PyAVVideo(short_gop_path)
    for got, index in zip(fresh.frames(indices[::-1]), indices[::-1]):
        assert np.array_equal(got, expected[index]), index


def test_pyav_frames_without_usable_pts_decode_in_one_pass(short_gop_path):
    expected = every_frame(short_gop_path, lambda f: f.to_ndarray(format="rgb24"))
    video = video_io.PyAVVideo(short_gop_path)
    list(video.small_gray(32, 24))
    video._pts[5] = video._pts[4]  # as in a file with repeated timestamps
    got = video.frames([4, 50, 79])
    assert all(np.array_equal(g, expected[i]) for g, i in zip(got, [4, 50, 79]))


def test_frame_count_is_estimated_where_the_container_has_none(tmp_path):
    from synthetic_inputs.videos import scene_frames
    path = encode(tmp_path / "v.mkv", list(scene_frames(num_frames=50)))
    info = video_io.PyAVVideo(path).info
    assert info.num_frames == pytest.approx(50, abs=1)


@pytest.mark.parametrize("sampler", ["keyframes", "first_last"])
@pytest.mark.parametrize("shots, share_decoded_again", [("off", 4), ("auto", 2)])
def test_frames_held_from_the_analysis_are_the_frames_decoded_again(
        short_gop_path, sampler, shots, share_decoded_again, monkeypatch):
    expected = every_frame(short_gop_path, lambda f: f.to_ndarray(format="rgb24"))
    source = expand_glob(short_gop_path)[0]
    sample = SampleConfig(sampler=sampler, min_gap=8, shots=shots)
    decoded_again = []
    original = video_io.PyAVVideo._decode_again
    monkeypatch.setattr(video_io.PyAVVideo, "_decode_again",
                        lambda self, indices: decoded_again.extend(indices)
                        or original(self, indices))

    def pairs():
        *result, _ = decode_video(source, short_gop_path, DecodeConfig(backend="pyav"), sample)
        for pair in result:
            assert np.array_equal(pair.before, expected[pair.meta.before_index])
            assert np.array_equal(pair.after, expected[pair.meta.after_index])
        indices = {i for p in result for i in (p.meta.before_index, p.meta.after_index)}
        return [pair.key for pair in result], indices

    held, wanted = pairs()
    # One video shot: at most one pick in four was not held (keyframes: one pick here, whose
    # stronger neighbour lost to a third frame) and had to be decoded again. In shots: a shot's
    # picks near its start compete with the shot before until its boundary is decided (about
    # 1.5 s later), so up to half.
    assert held and len(decoded_again) <= len(wanted) // share_decoded_again
    decoded_again.clear()
    monkeypatch.setattr(video_io, "HOLD_BUDGET_BYTES", 0)
    assert pairs() == (held, wanted) and sorted(decoded_again) == sorted(wanted)


@pytest.mark.parametrize("shots, max_pairs", [("off", 0), ("off", 4), ("auto", 0)])
def test_stride_decodes_the_video_once(short_gop_path, monkeypatch, shots, max_pairs):
    """Stride pairs come from the analysis pass itself: the same pairs, frames and scores as
    sampling its signals afterwards (in each shot, with shots), and no frame decoded twice."""
    expected = every_frame(short_gop_path, lambda f: f.to_ndarray(format="rgb24"))
    passes = []
    original = video_io.PyAVVideo._open
    monkeypatch.setattr(video_io.PyAVVideo, "_open",
                        lambda self: passes.append(1) or original(self))
    sample = SampleConfig(sampler="stride", stride_seconds=0.4, max_pairs_per_video=max_pairs,
                          shots=shots)
    source = expand_glob(short_gop_path)[0]
    *pairs, outcome = decode_video(source, short_gop_path, DecodeConfig(backend="pyav"), sample)
    assert not passes  # the analysis pass goes on from the probe's first frame: no reopening

    video = video_io.PyAVVideo(short_gop_path)
    size = motion.analysis_size(video.info.width, video.info.height, DecodeConfig().analysis_width)
    detector = ShotDetector(sample.shot_config(), video.info.fps)
    signals = motion.analyse(video.small_gray(*size)) if shots == "off" else None
    if shots == "off":
        indices = sample_pairs(signals, video.info.fps, sample)
        count = max_pairs or 7
    else:
        analysis = motion.Analysis(detector)
        for gray in video.small_gray(*size):
            analysis.add(gray)
        detector.finish()
        signals = analysis.signals()
        assert [(t.first, t.kind) for t in detector.transitions] == [(33, "cut")]
        # Shot 0: frames 0..30 (2 frames kept from the cut); shot 1 from 35, on the 0.2 s grid.
        indices = [(0, 10), (10, 20), (20, 30), (35, 45), (45, 55), (55, 65), (65, 75)]
        assert [p.meta.shot for p in pairs] == [0, 0, 0, 1, 1, 1, 1]
        assert outcome.shots.starts == (0, 33) and outcome.shots.transitions == ("start", "cut")
        count = 7
    assert [(p.meta.before_index, p.meta.after_index) for p in pairs] == indices
    assert len(indices) == count and outcome.num_candidates == len(indices)
    assert outcome.info.num_frames == 80 and outcome.reason is None
    for pair in pairs:
        before, after = pair.meta.before_index, pair.meta.after_index
        assert np.array_equal(pair.before, expected[before])
        assert np.array_equal(pair.after, expected[after])
        # Equal to float32 precision (optical flow's last bits vary from run to run).
        assert vars(pair.meta.scores) == pytest.approx(vars(scores.measure(
            expected[before], expected[after], signals, before, after)), rel=1e-6)


def test_stride_too_short_for_one_pair(short_gop_path):
    source = expand_glob(short_gop_path)[0]
    [outcome] = decode_video(source, short_gop_path, DecodeConfig(backend="pyav"),
                             SampleConfig(sampler="stride", stride_seconds=10.0, shots="off"))
    assert outcome.reason == "too_short" and outcome.info.num_frames == 80


def test_pairs_come_out_as_their_frames_are_decoded(scene_path, monkeypatch):
    analysed = []
    original = video_io.PyAVVideo.small_gray

    def spy(self, width, height):
        for gray in original(self, width, height):
            analysed.append(gray)
            yield gray
    monkeypatch.setattr(video_io.PyAVVideo, "small_gray", spy)
    source = expand_glob(str(scene_path))[0]
    stream = decode_video(source, str(scene_path), DecodeConfig(backend="pyav"),
                          SampleConfig(sampler="stride", stride_seconds=0.4, shots="off"))
    first = next(stream)
    # The first pair is out once its later frame is: not after the whole video.
    assert (first.meta.before_index, first.meta.after_index) == (0, 10) and len(analysed) == 11
    *rest, outcome = stream
    assert len(analysed) == 120 and len(rest) == 10
    assert outcome.num_candidates == 11 and outcome.reason is None
