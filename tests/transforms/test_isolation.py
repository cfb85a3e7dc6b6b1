import shutil

import apache_beam as beam
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from fixtures.faulty import crash_or_hang
from transforms.decode import DecodeAndSample
from transforms.decode_core import DecodeConfig
from transforms.discover import expand_glob
from transforms.sample import SampleConfig


def test_a_crashing_or_hanging_decoder_costs_one_video_only(scene_path, tmp_path):
    for name in ("crash.mp4", "hang.mp4", "good.mp4", "good-after-crash.mp4"):
        shutil.copy(scene_path, tmp_path / name)
    sources = expand_glob(str(tmp_path / "*.mp4"))
    config = DecodeConfig(timeout_seconds=20)
    with test_pipeline.TestPipeline() as pipeline:
        results = (pipeline | beam.Create(sources)
                   | DecodeAndSample(config, SampleConfig(), decode_fn=crash_or_hang))
        outcomes = results["videos"] | beam.Map(
            lambda o: (o.source.uri.rsplit("/", 1)[-1], o.reason if o.info is None else "ok"))
        assert_that(outcomes, equal_to([("crash.mp4", "decoder_crashed"),
                                        ("hang.mp4", "decode_timeout"), ("good.mp4", "ok"),
                                        ("good-after-crash.mp4", "ok")]))
