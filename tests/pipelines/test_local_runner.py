"""Beam's in-process workers flush output on a timer, which can cut an element in two; local runs
turn that timer off (pipelines/local_runner.py)."""
import time

import apache_beam as beam
from apache_beam.coders import coders
from apache_beam.runners.worker.data_plane import TimeBasedBufferingClosableOutputStream
from apache_beam.testing.util import assert_that, equal_to

from pipelines.build import pipeline_options

ENCODE_SECONDS = 0.3


class SlowToPickle:
    """Takes ENCODE_SECONDS to pickle, as a large frame pair does on a loaded machine."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        time.sleep(ENCODE_SECONDS)
        return SlowToPickle, (self.value,)


def test_beams_timed_flush_cuts_an_element_in_two():
    chunks = []
    stream = TimeBasedBufferingClosableOutputStream(
        close_callback=chunks.append, flush_callback=chunks.append, time_flush_threshold_ms=50)
    coders.FastPrimitivesCoder().get_impl().encode_to_stream(SlowToPickle(1), stream, True)
    stream.close()
    whole = b"".join(chunks)
    assert len([chunk for chunk in chunks if chunk]) > 1  # the timer flushed mid-element
    decoded = coders.FastPrimitivesCoder().get_impl().decode_from_stream(
        coders.coder_impl.create_InputStream(whole), True)
    assert decoded.value == 1  # only the chunks together make the element


def test_local_multi_threading_runs_keep_every_slow_element():
    options = pipeline_options(["--direct_running_mode", "multi_threading",
                                "--direct_num_workers", "2"])
    with beam.Pipeline(options=options) as pipeline:
        values = (pipeline
                  | beam.Create(list(range(12)))
                  | "Wrap" >> beam.Map(SlowToPickle)
                  | beam.Reshuffle()
                  | "Unwrap" >> beam.Map(lambda wrapped: wrapped.value))
        assert_that(values, equal_to(list(range(12))))
