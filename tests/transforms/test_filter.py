import apache_beam as beam
import cv2
import numpy as np
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import PairScores
from transforms.decode_core import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.filter import FilterConfig, FilterPairs, check, check_pair
from transforms.sample import SampleConfig

GOOD = PairScores(motion=2.0, change=0.1, cut=0.01, sharpness=300.0, brightness=0.4)


def with_(**changes):
    return PairScores(**{**vars(GOOD), **changes})


def test_each_predicate_names_its_reason_and_score():
    config = FilterConfig()
    assert check(GOOD, config) is None
    cases = {"dark": with_(brightness=0.01), "static": with_(change=0.001),
             "scene_cut": with_(cut=0.5), "too_different": with_(change=0.9),
             "blurry": with_(sharpness=1.0)}
    for reason, scores in cases.items():
        drop = check(scores, config)
        assert drop.reason == reason
        assert drop.score == {"dark": 0.01, "static": 0.001, "scene_cut": 0.5,
                              "too_different": 0.9, "blurry": 1.0}[reason]


def test_thresholds_are_config():
    assert check(with_(change=0.001), FilterConfig(min_change=0.0)) is None
    assert check(GOOD, FilterConfig(min_sharpness=1000.0)).reason == "blurry"


def test_inside_a_shot_the_detector_decides_cuts_unless_asked():
    """A flash or a car passing the lens raises the cut score inside one shot: the shot
    detector has judged that frame no cut, so --max-cut judges only pairs without shots."""
    flash = with_(cut=0.9)
    assert check(flash, FilterConfig(), within_shot=True) is None
    assert check(flash, FilterConfig()).reason == "scene_cut"
    asked = FilterConfig(filter_cuts_within_shots=True)
    assert check(flash, asked, within_shot=True).reason == "scene_cut"
    # Every other filter still judges pairs inside a shot.
    assert check(with_(cut=0.9, change=0.001), FilterConfig(), within_shot=True).reason == "static"


def pairs_of(path, **sample):
    source = expand_glob(path)[0]
    *pairs, _ = decode_video(source, path, DecodeConfig(), SampleConfig(**sample))
    return {(p.meta.before_index, p.meta.after_index): p for p in pairs}


def test_video_cut_and_static_pairs_get_the_right_reasons(scene_path):
    # 10-frame pairs over the whole video, one crossing its cut (shots would keep them apart).
    pairs = pairs_of(scene_path, sampler="stride", stride_seconds=0.4, shots="off")
    reasons = {span: (check(p.meta.scores, FilterConfig()) or None) for span, p in pairs.items()}
    reasons = {span: drop.reason if drop else "kept" for span, drop in reasons.items()}
    assert reasons[(50, 60)] == "scene_cut"
    assert reasons[(10, 20)] == "static" and reasons[(100, 110)] == "static"
    assert reasons[(30, 40)] == "kept" and reasons[(80, 90)] == "kept"


def test_blurred_and_dark_videos_are_dropped(tmp_path):
    from synthetic_inputs.videos import scene_frames, write_video
    frames = list(scene_frames(num_frames=60, motion_spans=((0, 60),)))
    blurred = write_video(str(tmp_path / "blur.mp4"),
                          (cv2.GaussianBlur(f, (0, 0), 6) for f in frames))
    dark = write_video(str(tmp_path / "dark.mp4"), ((f // 20).astype(np.uint8) for f in frames))
    for path, reason in ((blurred, "blurry"), (dark, "dark")):
        pairs = pairs_of(path, sampler="first_last")
        assert check(pairs[(0, 59)].meta.scores, FilterConfig()).reason == reason


def test_a_stride_pair_with_a_fast_square_inside_one_shot_is_kept(tmp_path):
    """A square moving two pixels a frame, MPEG-4 coded: the cut score passes --max-cut inside
    the one shot the detector finds; with shots off the same pair is a scene_cut."""
    from synthetic_inputs.videos import scene_video
    path = str(tmp_path / "fast.mkv")
    scene_video(path, num_frames=80, width=128, height=96, seed=5, codec="mpeg4",
                motion_spans=((10, 30), (45, 60)), speed=2)
    for shots, reason in (("auto", None), ("off", "scene_cut")):
        pair = pairs_of(path, sampler="stride", stride_seconds=1.6, shots=shots)[(0, 40)]
        assert pair.meta.scores.cut > FilterConfig().max_cut
        drop = check_pair(FilterConfig(), pair)
        assert (drop.reason if drop else None) == reason


def test_beam_wrapper_routes_and_counts(scene_path):
    pairs = list(pairs_of(scene_path, sampler="stride", stride_seconds=0.4).values())
    config = FilterConfig()
    with test_pipeline.TestPipeline() as pipeline:
        result = pipeline | beam.Create(pairs) | FilterPairs(config)
        assert_that(result["kept"] | "KeptKeys" >> beam.Map(lambda p: p.key),
                    equal_to([p.key for p in pairs if check_pair(config, p) is None]),
                    label="Kept")
        assert_that(result["dropped"] | beam.Map(lambda o: (o.meta.key, o.drop.reason)),
                    equal_to([(p.key, check_pair(config, p).reason) for p in pairs
                              if check_pair(config, p)]), label="Dropped")
