"""Pictures as a player shows them, at the decoders: the display matrix read as a turn and a
mirror, the analysis frames upright, decord given what PyAV's probe read, interlacing handled
only where there is some."""
import math
import subprocess

import cv2
import numpy as np
import pytest

from schemas.records import Display, VideoInfo
from tests import footage
from transforms import decord_video, interlace, video_io
from transforms.decode_core import DecodeConfig, _check_limits, decode_video
from transforms.discover import expand_glob
from transforms.display import matrix_turn, orient
from transforms.sample import SampleConfig

MIN_PSNR = 35.0


def _matrix(degrees: float, hflip: bool = False, vflip: bool = False):
    """libavutil's av_display_rotation_set, then av_display_matrix_flip."""
    radians = -math.radians(degrees)
    c, s = math.cos(radians), math.sin(radians)
    matrix = [round(c * 65536), round(s * 65536), 0, round(-s * 65536), round(c * 65536), 0,
              0, 0, 1 << 30]
    flip = (-1 if hflip else 1, -1 if vflip else 1, 1)
    return [value * flip[i % 3] for i, value in enumerate(matrix)]


@pytest.mark.parametrize("degrees, hflip, vflip, expected", [
    (0, False, False, (0, False)), (90, False, False, (90, False)),
    (180, False, False, (180, False)), (-90, False, False, (270, False)),
    (270, False, False, (270, False)), (90, True, False, (90, True)),
    (0, True, False, (0, True)), (0, False, True, (180, True)), (88.0, False, False, (90, False)),
])
def test_display_matrix_is_read_as_a_turn_and_a_mirror(degrees, hflip, vflip, expected):
    assert matrix_turn(_matrix(degrees, hflip, vflip)) == expected
    assert matrix_turn(None) == (0, False)


def test_orient_turns_counter_clockwise_then_mirrors():
    image = np.arange(6).reshape(2, 3)  # [[0 1 2] [3 4 5]]
    assert orient(image, Display(rotation=90)).tolist() == [[2, 5], [1, 4], [0, 3]]
    assert orient(image, Display(rotation=90, mirrored=True)).tolist() == [[5, 2], [4, 1], [3, 0]]
    assert orient(image, Display(rotation=180)).tolist() == [[5, 4, 3], [2, 1, 0]]


def test_display_size_is_the_coded_size_in_square_pixels_turned():
    info = VideoInfo(25.0, 10, 720, 480, "pyav", display=Display(90, False, (32, 27)))
    assert (info.square_width, info.display_width, info.display_height) == (853, 480, 853)
    assert VideoInfo(25.0, 10, 352, 240, "pyav",
                     display=Display(sample_aspect=(8, 9))).display_width == 312  # as ffmpeg


def _grey(rgb: np.ndarray, size) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("backend", ["pyav", "decord"])
@pytest.mark.parametrize("name", ["rotate90.mp4", "rotate180.mp4", "rotate270.mp4",
                                  "sar32x27.mp4", "sar8x9.mp4"])
def test_both_decoders_give_analysis_and_full_frames_as_ffmpeg_shows_them(footage_clips, backend,
                                                                        name):
    folder, extras = footage_clips
    path = str(folder / name)
    video = video_io.open_video(path, backend)
    assert video.info.decoder == backend
    reference = [footage.reference_frame(path, index, extras[name]) for index in (0, 20)]
    for frame, expected in zip(video.frames([0, 20]), reference):
        assert frame.shape == expected.shape and footage.psnr(frame, expected) >= MIN_PSNR
    # Motion and cut signals are computed on upright frames of the display's shape.
    size = (80, round(80 * reference[0].shape[0] / reference[0].shape[1] / 2) * 2)
    small = list(video.small_gray(*size))
    assert len(small) == 25 and small[0].shape == size[::-1]
    assert footage.psnr(small[20], _grey(reference[1], size)) >= 28  # two scalers, tiny frames


def test_decord_refuses_interlaced_video_it_cannot_deinterlace(footage_clips):
    folder, _ = footage_clips
    with pytest.raises(video_io.DecodeError, match="decord cannot deinterlace") as error:
        video_io.open_video(str(folder / "interlaced_tff.mp4"), "decord")
    assert error.value.reason == "decode_failed"


def test_decord_without_a_probe_fails_saying_why(footage_clips, monkeypatch):
    """Where PyAV cannot read how the video is shown, decord is not trusted to store it."""
    folder, _ = footage_clips
    path = str(folder / "rotate90.mp4")

    def unreadable(*args):
        raise OSError("probe refused")
    monkeypatch.setattr(video_io.PyAVVideo, "__init__", unreadable)
    monkeypatch.setattr(decord_video, "read_display", unreadable)
    source = expand_glob(path)[0]
    with pytest.raises(video_io.DecodeError) as error:
        list(decode_video(source, path, DecodeConfig(), SampleConfig()))
    assert error.value.reason == "decode_failed"
    assert "rotation and pixel aspect could not be read" in str(error.value)


def test_decord_fallback_mid_stream_keeps_what_pyav_read(footage_clips, monkeypatch):
    folder, extras = footage_clips
    path = str(folder / "rotate270.mp4")

    def fail(self, indices):
        raise EOFError("pyav stopped")
        yield
    monkeypatch.setattr(video_io.PyAVVideo, "iter_frames", fail)
    source = expand_glob(path)[0]
    *pairs, outcome = decode_video(source, path, DecodeConfig(),
                                   SampleConfig(sampler="first_last"))
    assert outcome.info.decoder == "decord" and outcome.info.display.rotation == 270
    expected = footage.reference_frame(path, pairs[0].meta.after_index)
    assert footage.psnr(pairs[0].after, expected) >= MIN_PSNR


def test_progressive_video_never_enters_a_filter(footage_clips, monkeypatch):
    folder, _ = footage_clips
    monkeypatch.setattr(video_io, "deinterlaced", None)  # calling it would raise
    video = video_io.open_video(str(folder / "sar8x9.mp4"))
    assert len(list(video.small_gray(64, 48))) == 25 and len(video.frames([3, 17])) == 2


def test_interlaced_frames_decoded_again_by_seeking_are_deinterlaced(footage_clips):
    """Frames not held from the analysis pass are decoded again after a seek: through bwdif too,
    one frame per frame, so index i is still frame i."""
    folder, extras = footage_clips
    path = str(folder / "interlaced_bff.mp4")
    video = video_io.open_video(path)
    assert video.info.display.field_order == "bff"
    for index, frame in zip((5, 13, 24), video.frames([5, 13, 24])):
        expected = footage.reference_frame(path, index, extras["interlaced_bff.mp4"])
        assert footage.psnr(frame, expected) >= MIN_PSNR


def test_untagged_interlacing_is_found_only_on_request(footage_clips, tmp_path):
    """A clip woven from fields but coded as progressive: idet finds it when asked."""
    folder, _ = footage_clips
    untagged = tmp_path / "untagged.mp4"
    subprocess.run([footage.FFMPEG, "-v", "error", "-i", str(folder / "interlaced_tff.mp4"),
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "14", "-pix_fmt",
                    "yuv420p", "-vf", "setfield=prog", str(untagged)], check=True)
    assert video_io.open_video(str(untagged)).info.display.field_order == "progressive"
    found = video_io.open_video(str(untagged), detect_interlacing=True)
    assert found.info.display.field_order == "tff" and found._detected
    assert len(list(found.small_gray(64, 48))) == 25
    plain = video_io.open_video(str(folder / "sar8x9.mp4"), detect_interlacing=True)
    assert plain.info.display.field_order == "progressive"


def test_field_order_names_from_either_pyav_spelling():
    assert interlace._as_int(2) == 2 and interlace._as_int("BB") == 3
    assert interlace._as_int("progressive") == 0


def test_limits_and_output_size_apply_to_the_display_size(footage_clips):
    """352x240 coded at 8:9 shows 312x240 (74,880 pixels), at 32:27 417x240 (100,080); a
    176x144 phone clip turned a quarter shows 144x176."""
    folder, _ = footage_clips

    def outcome(name, **config):
        path = str(folder / name)
        *pairs, result = decode_video(expand_glob(path)[0], path, DecodeConfig(**config),
                                      SampleConfig(sampler="first_last"))
        return pairs, result

    assert outcome("sar8x9.mp4", max_pixels=80_000)[1].info.display_width == 312
    with pytest.raises(video_io.DecodeError, match="417x240 .displayed. exceeds") as error:
        outcome("sar32x27.mp4", max_pixels=80_000)
    assert error.value.reason == "too_large"
    narrow = VideoInfo(25.0, 25, 256, 240, "pyav", display=Display(sample_aspect=(8, 9)))
    with pytest.raises(video_io.DecodeError, match="227x240 .displayed. is below min_side"):
        _check_limits(narrow, DecodeConfig(min_side=235))  # coded 256x240 would pass
    pairs, _ = outcome("rotate90.mp4", output_max_side=88)
    assert pairs[0].before.shape == (88, 72, 3)


def test_a_mirrored_display_matrix_is_applied_after_the_turn(tmp_path):
    """FFmpeg's matrix flip mirrors the displayed picture (av_display_matrix_flip): written by
    PyAV, read back turned, then mirrored left-right. (Debian's ffmpeg 5.1 ignores flips, so
    this one has no ffmpeg reference.)"""
    import av
    from synthetic_inputs.videos import scene_frames
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix")
    frames = list(scene_frames(num_frames=5, width=64, height=48))
    paths = {}
    for name, mirrored in (("plain", False), ("mirrored", True)):
        paths[name] = str(tmp_path / f"{name}.mp4")
        with av.open(paths[name], "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            stream.options = {"preset": "ultrafast", "qp": "0"}
            if mirrored:
                stream.set_display_rotation(90, hflip=True)
            for rgb in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            container.mux(stream.encode())
    video = video_io.open_video(paths["mirrored"])
    assert video.info.display == Display(rotation=90, mirrored=True)
    plain = video_io.open_video(paths["plain"]).frames([2])[0]
    assert np.array_equal(video.frames([2])[0], np.fliplr(np.rot90(plain)))
