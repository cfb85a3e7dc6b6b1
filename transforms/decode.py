"""The decode stage of a build: VideoSources in, FramePairs and one VideoOutcome per video out.

The work on one video lives in transforms/decode_core.py, which the isolated decode child imports
without Apache Beam.
"""
from __future__ import annotations

import collections
from concurrent.futures import Future

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from schemas.records import VideoOutcome, VideoSource
from transforms.decode_core import DecodeConfig, process_source
from transforms.decode_pool import join_pool, leave_pool
from transforms.isolation import ChildFailed
from transforms.sample import SampleConfig


class _DecodeFn(beam.DoFn):
    """Hands each video to the process's pool of decode children and emits its results when
    they come back, in this call or a later one, or at the end of the bundle."""
    VIDEOS = "videos"

    def __init__(self, decode: DecodeConfig, sample: SampleConfig, decode_fn=process_source):
        self._decode = decode
        self._sample = sample
        self._decode_fn = decode_fn  # injectable: tests pass decoders that crash or hang
        self._pool = None
        self._pending = collections.deque()  # (source, future, timestamp, window), in order

    def setup(self):
        if self._decode.isolate:
            self._pool = join_pool(self._decode.timeout_seconds, (self._decode_fn.__module__,))

    def teardown(self):
        if self._pool is not None:
            leave_pool(self._pool)
            self._pool = None

    def start_bundle(self):
        self._pending.clear()  # anything left by a failed bundle is that bundle's

    def process(self, source: VideoSource, timestamp=beam.DoFn.TimestampParam,
                window=beam.DoFn.WindowParam):
        args = (source, self._decode, self._sample)
        if self._pool is None:
            result = _completed(self._decode_fn, *args)
        else:
            result = self._pool.submit(self._decode_fn, *args)
        self._pending.append((source, result, timestamp, window))
        # Results in order; at most two per child in flight from this instance: memory stays
        # bounded by a few videos' kept frames.
        limit = 2 * (self._pool.size if self._pool else 1)
        while self._pending and (len(self._pending) > limit or self._pending[0][1].done()):
            yield from self._emit(*self._pending.popleft())

    def finish_bundle(self):
        while self._pending:
            yield from self._emit(*self._pending.popleft())

    def _emit(self, source, result, timestamp, window):
        try:
            outcome, pairs = result.result()
        except ChildFailed as error:
            outcome, pairs = VideoOutcome(source, None, 0, error.reason, str(error)), []
        if outcome.info:
            beam.metrics.Metrics.counter("idp_corpus", "videos_decoded").inc()
        else:
            beam.metrics.Metrics.counter("idp_corpus", "videos_failed").inc()
            beam.metrics.Metrics.counter("idp_corpus", f"videos_{outcome.reason}").inc()
        beam.metrics.Metrics.counter("idp_corpus", "pairs_sampled").inc(len(pairs))
        yield beam.pvalue.TaggedOutput(
            self.VIDEOS, WindowedValue(outcome, timestamp, [window]))
        for pair in pairs:
            yield WindowedValue(pair, timestamp, [window])


def _completed(function, *args) -> Future:
    """`function(*args)` run here, as a finished future (its error kept for `result()`)."""
    future = Future()
    try:
        future.set_result(function(*args))
    except Exception as error:  # noqa: BLE001 - raised again by result(), where pool errors are
        future.set_exception(error)
    return future


class DecodeAndSample(beam.PTransform):
    """VideoSource -> {"pairs": FramePair, "videos": VideoOutcome (exactly one per video)}."""

    def __init__(self, decode: DecodeConfig, sample: SampleConfig, decode_fn=process_source):
        super().__init__()
        self._decode = decode
        self._sample = sample
        self._decode_fn = decode_fn

    def expand(self, sources):
        decode = _DecodeFn(self._decode, self._sample, self._decode_fn)
        results = (sources
                   | "Spread" >> beam.Reshuffle()
                   | "Decode" >> beam.ParDo(decode).with_outputs(
                       _DecodeFn.VIDEOS, main="pairs"))
        return {"pairs": results.pairs, "videos": results[_DecodeFn.VIDEOS]}
