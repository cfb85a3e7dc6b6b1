"""Shot boundaries at known frames, and every sampler's pairs inside shots."""
import functools

import cv2
import numpy as np
import pytest

from synthetic_inputs.videos import scene_video, texture
from transforms import motion
from transforms.decode_core import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.sample import SampleConfig, sample_pairs
from transforms.shots import ShotConfig, ShotDetector
from transforms.shots.cuts import light_change
from transforms.shots.history import cell_weights

WIDTH, HEIGHT, FPS = 160, 90, 25


@functools.lru_cache(maxsize=4)
def backdrop(scene: int) -> np.ndarray:
    """Scene `scene`'s texture, softened as a photograph is."""
    big = texture(12 * WIDTH, HEIGHT, 10 + scene, ((60, 80, 110), (230, 210, 180))[scene % 2])
    return cv2.GaussianBlur(big, (0, 0), 3)


def view(scene: int, t: int, speed: float = 1.0) -> np.ndarray:
    """Frame t of a pan over scene `scene`'s backdrop, grey, analysis-sized."""
    big = backdrop(scene)
    x = int(speed * t)
    return cv2.cvtColor(np.ascontiguousarray(big[:, x:x + WIDTH]), cv2.COLOR_RGB2GRAY)


def detect(frames):
    detector = ShotDetector(ShotConfig(), FPS)
    analysis = motion.Analysis(detector)
    for gray in frames:
        analysis.add(gray)
    detector.finish()
    return [(t.first, t.last, t.kind) for t in detector.transitions]


def blend(a, b, alpha):
    return cv2.addWeighted(a, 1 - alpha, b, alpha, 0)


@pytest.mark.parametrize("height, width", [(90, 160), (120, 160), (68, 120), (160, 90), (3, 5)])
def test_cell_means_equal_opencv_area_resize(height, width):
    """The residual's 4x4 cell means, taken as two small products, are OpenCV's area resize."""
    image = np.random.default_rng(height).random((height, width), dtype=np.float32) * 3
    rows, columns = cell_weights(height, width)
    expected = cv2.resize(image, (4, 4), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(rows @ image @ columns, expected, rtol=1e-5, atol=1e-6)


def test_a_hard_cut_is_found_at_its_frame():
    frames = [view(0, t) for t in range(30)] + [view(1, t) for t in range(40)]
    assert detect(frames) == [(30, 29, "cut")]


def grainy_pan(cut: int, num_frames: int):
    """A pan over a grainy backdrop (camera grain, 640x360, shrunk as the analysis pass does),
    cut at frame `cut` to another backdrop and tint, a yellow square moving on across the cut:
    the grain keeps every frame's standardised residual high, so at the cut it rises less than
    cut_ratio times (2.8x); the grey-level histogram, blind to grain, jumps 10x."""
    width, height = 640, 360
    backdrops = []
    for seed, tint in ((7, (60, 80, 110)), (107, (230, 210, 180))):
        grain = np.random.default_rng(seed).integers(0, 256, (height, width + 200, 3), np.uint8)
        backdrops.append(cv2.addWeighted(texture(width + 200, height, seed, tint), 0.6,
                                         grain, 0.4, 0))
    for t in range(num_frames):
        frame = backdrops[t >= cut][:, 2 * t:2 * t + width].copy()
        frame[60:120, 40 + 3 * t:100 + 3 * t] = (255, 235, 0)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        yield cv2.resize(gray, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def test_a_cut_in_grainy_footage_is_found_at_its_frame():
    assert detect(grainy_pan(40, 70)) == [(40, 39, "cut")]


def test_a_cut_to_a_new_grainy_background_behind_the_same_subject_is_found():
    """A bright square in one place on grainy grounds, dark then bright: at the tiny size the
    two shots correlate as one relit picture (the square dominates); their detail does not."""
    def ground(seed, level, first, last):
        rng = np.random.default_rng(seed)
        backdrop = level + rng.normal(0, 30, (HEIGHT, 4 * WIDTH))
        for t in range(first, last):
            frame = backdrop[:, 2 * t:2 * t + WIDTH].copy()
            frame[25:65, 50 + t:90 + t] = 250
            yield np.clip(frame, 0, 255).astype(np.uint8)
    frames = [*ground(3, 60, 0, 40), *ground(9, 110, 40, 70)]
    assert light_change(cv2.resize(frames[39], (64, 36), interpolation=cv2.INTER_AREA)
                        .astype(np.float32).ravel(),
                        cv2.resize(frames[40], (64, 36), interpolation=cv2.INTER_AREA)
                        .astype(np.float32).ravel())
    assert detect(frames) == [(40, 39, "cut")]


def test_a_dissolve_is_found_over_its_frames():
    span = 15  # 0.6 s
    frames = [view(0, t) for t in range(30)]
    frames += [blend(view(0, 30 + i), view(1, i), (i + 1) / (span + 1)) for i in range(span)]
    frames += [view(1, span + t) for t in range(40)]
    [(first, last, kind)] = detect(frames)
    assert kind == "dissolve" and 28 <= first and last <= 30 + span + 1 and last - first >= 5


def test_a_fade_through_black_is_one_boundary():
    frames = [view(0, t) for t in range(30)]
    frames += [(view(0, 30 + i) * (1 - (i + 1) / 11)).astype(np.uint8) for i in range(10)]
    frames += [np.zeros((HEIGHT, WIDTH), np.uint8)] * 3
    frames += [(view(1, i) * ((i + 1) / 11)).astype(np.uint8) for i in range(10)]
    frames += [view(1, 10 + t) for t in range(40)]
    [(first, last, kind)] = detect(frames)
    assert kind == "fade" and 28 <= first <= 33 and 50 <= last <= 55


def test_a_dissolve_between_two_fast_pans_is_found():
    """Both shots move 5 px a frame: no frame inside is a blend of the window's ends."""
    span = 10
    frames = [view(0, t, speed=5) for t in range(40)]
    frames += [blend(view(0, 40 + i, speed=5), view(1, i, speed=5), (i + 1) / (span + 1))
               for i in range(span)]
    frames += [view(1, span + t, speed=5) for t in range(40)]
    [(first, last, kind)] = detect(frames)
    assert kind == "dissolve" and 38 <= first <= 41 and 48 <= last <= 51


def zoomed(frame: np.ndarray, scale: float) -> np.ndarray:
    """`frame` seen `scale` times closer, about its centre."""
    matrix = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), 0, scale)
    return cv2.warpAffine(frame, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)


def test_a_zoom_jump_within_one_scene_is_a_cut():
    """A locked-off view cut 3 % closer: the flow explains it (its residual stays below the cut
    threshold), the one-frame jump in motion gives it away."""
    frames = [view(0, 0)] * 40 + [zoomed(view(0, 0), 1.03)] * 40
    assert detect(frames) == [(40, 39, "cut")]


def test_a_light_slowly_brought_up_on_a_pan_is_no_boundary():
    """Over 0.4 s the picture brightens by two thirds: its histogram moves frame after frame as
    a dissolve's does, the flow still explains each standardised frame."""
    frames = [view(0, t, speed=2) for t in range(90)]
    for t in range(90):
        gain = 0.6 + 0.4 * min(max((t - 40) / 10, 0.0), 1.0)
        frames[t] = (frames[t] * gain).astype(np.uint8)
    assert detect(frames) == []


@pytest.mark.parametrize("event", ["fast_pan", "whip_pan", "flash", "light_on", "object_fades_in"])
def test_camera_and_light_events_are_no_boundary(event):
    frames = []
    for t in range(90):
        if event == "object_fades_in":  # locked-off camera; a square blends in over 0.4 s
            frame = view(0, 0).astype(np.float32)
            alpha = min(max((t - 40) / 10, 0.0), 1.0)
            frame[20:60, 30:75] = (1 - alpha) * frame[20:60, 30:75] + alpha * 250
            frame = frame.astype(np.uint8)
        elif event == "fast_pan":
            frame = view(0, t, speed=6)
        elif event == "whip_pan":  # 8 frames of 25 px/frame, motion-blurred
            shift = 25 * max(0, min(t, 48) - 40) + t
            blurred = np.mean([view(0, int(shift + k * 6)) for k in range(4)], axis=0)
            frame = blurred.astype(np.uint8) if 40 <= t < 48 else view(0, int(shift))
        else:
            frame = view(0, t).astype(np.float32)
            if event == "flash" and t in (45, 46):
                frame = frame + 0.85 * (255 - frame)
            if event == "light_on" and t < 45:
                frame = frame * 0.3
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        frames.append(frame)
    assert detect(frames) == []


@pytest.fixture(scope="module")
def edited_path(tmp_path_factory):
    """130 frames, a moving square, cuts at 40 and 90."""
    path = tmp_path_factory.mktemp("shots") / "edited.mp4"
    return scene_video(str(path), num_frames=130, motion_spans=((0, 130),), cut_at=(40, 90),
                       speed=2)


def pairs_of(path, **sample):
    source = expand_glob(path)[0]
    *pairs, outcome = decode_video(source, path, DecodeConfig(), SampleConfig(**sample))
    return pairs, outcome


@pytest.mark.parametrize("sample", [
    {"sampler": "keyframes", "min_gap": 8}, {"sampler": "first_last"},
    {"sampler": "stride", "stride_seconds": 0.4}, {"sampler": "stride", "stride_seconds": 0.4,
                                                   "max_pairs_per_video": 3}])
def test_every_sampler_pairs_frames_of_one_shot_only(edited_path, sample):
    pairs, outcome = pairs_of(edited_path, **sample)
    assert outcome.shots.starts == (0, 40, 90)
    assert outcome.shots.transitions == ("start", "cut", "cut")
    shot_of = {frame: sum(frame >= cut for cut in (40, 90)) for frame in range(130)}
    assert pairs and outcome.num_candidates == len(pairs)
    for pair in pairs:
        before, after = pair.meta.before_index, pair.meta.after_index
        assert shot_of[before] == shot_of[after] == pair.meta.shot
        # Two frames either side of a cut are never sampled.
        assert not any(cut - 2 <= frame <= cut + 1 for frame in (before, after)
                       for cut in (40, 90))
    if sample["sampler"] == "first_last":  # unlabelled: first and last usable frame of each shot
        assert [(p.meta.before_index, p.meta.after_index) for p in pairs] == \
            [(0, 37), (42, 87), (92, 129)]
    if sample.get("max_pairs_per_video"):  # spread over the video, not the first shot's
        assert len(pairs) == 3 and len({p.meta.shot for p in pairs}) == 3


def test_shots_off_gives_the_whole_video_pairs(edited_path):
    pairs, outcome = pairs_of(edited_path, sampler="keyframes", shots="off")
    video_signals = motion.analyse(_small(edited_path))
    assert [(p.meta.before_index, p.meta.after_index) for p in pairs] == \
        sample_pairs(video_signals, 25.0, SampleConfig(shots="off"))
    assert outcome.shots is None and all(p.meta.shot is None for p in pairs)


def _small(path):
    from transforms.video_io import PyAVVideo
    video = PyAVVideo(path)
    return video.small_gray(*motion.analysis_size(video.info.width, video.info.height, 160))


def test_a_video_of_only_short_shots_has_no_pairs(tmp_path):
    path = scene_video(str(tmp_path / "montage.mp4"), num_frames=96, motion_spans=((0, 96),),
                       cut_at=tuple(range(12, 96, 12)), speed=2)
    for sampler in ("keyframes", "stride"):
        pairs, outcome = pairs_of(path, sampler=sampler)
        assert pairs == [] and outcome.reason == "shots_too_short"
        assert len(outcome.shots.starts) == 8 and outcome.shots.too_short == 8
