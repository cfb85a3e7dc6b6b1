import shutil

import apache_beam as beam
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.faulty import crash_or_hang
from transforms.decode import DecodeAndSample
from transforms.decode_core import DecodeConfig
from transforms.discover import expand_glob
from transforms.sample import SampleConfig


def name(item):
    return item.source.uri.rsplit("/", 1)[-1] if hasattr(item, "source") else \
        item.meta.source.uri.rsplit("/", 1)[-1]


def test_a_crashing_or_hanging_decoder_costs_one_video_only(scene_path, tmp_path):
    for file in ("crash.mp4", "hang.mp4", "good.mp4", "good-after-crash.mp4",
                 "midway-crash.mp4"):
        shutil.copy(scene_path, tmp_path / file)
    sources = expand_glob(str(tmp_path / "*.mp4"))
    # The hang costs the whole timeout; a good video's decode (its child's start-up does not
    # count) takes a fraction of a second of it.
    config = DecodeConfig(timeout_seconds=8)
    with test_pipeline.TestPipeline() as pipeline:
        results = (pipeline | beam.Create(sources)
                   | DecodeAndSample(config, SampleConfig(), decode_fn=crash_or_hang))
        outcomes = results["videos"] | "Outcomes" >> beam.Map(
            lambda o: (name(o), o.reason or "ok", o.info is not None, o.num_candidates))
        # The video whose decoder died after two pairs keeps them, and its outcome counts them.
        assert_that(outcomes, equal_to([("crash.mp4", "decoder_crashed", False, 0),
                                        ("hang.mp4", "decode_timeout", False, 0),
                                        ("good.mp4", "ok", True, 4),
                                        ("good-after-crash.mp4", "ok", True, 4),
                                        ("midway-crash.mp4", "decoder_crashed", True, 2)]),
                    label="OneOutcomeEach")
        pairs = (results["pairs"] | "Names" >> beam.Map(name)
                 | "Count" >> beam.combiners.Count.PerElement())
        assert_that(pairs, equal_to([("good.mp4", 4), ("good-after-crash.mp4", 4),
                                     ("midway-crash.mp4", 2)]), label="PairsPerVideo")
