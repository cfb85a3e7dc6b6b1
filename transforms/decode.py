"""The decode stage of a build: VideoSources in, FramePairs and one VideoOutcome per video out.

The work on one video lives in transforms/decode_core.py, which the isolated decode child imports
without Apache Beam.
"""
from __future__ import annotations

import apache_beam as beam

from schemas.records import VideoOutcome, VideoSource
from transforms.decode_core import DecodeConfig, process_source
from transforms.isolation import ChildFailed, IsolatedCall
from transforms.sample import SampleConfig


class _DecodeFn(beam.DoFn):
    VIDEOS = "videos"

    def __init__(self, decode: DecodeConfig, sample: SampleConfig, decode_fn=process_source):
        self._decode = decode
        self._sample = sample
        self._decode_fn = decode_fn  # injectable: tests pass decoders that crash or hang
        self._isolated = None

    def setup(self):
        if self._decode.isolate:
            self._isolated = IsolatedCall(self._decode.timeout_seconds,
                                          preload=(self._decode_fn.__module__,))

    def teardown(self):
        if self._isolated is not None:
            self._isolated.close()

    def process(self, source: VideoSource):
        args = (source, self._decode, self._sample)
        try:
            if self._isolated is None:
                outcome, pairs = self._decode_fn(*args)
            else:
                outcome, pairs = self._isolated.call(self._decode_fn, *args)
        except ChildFailed as error:
            outcome, pairs = VideoOutcome(source, None, 0, error.reason, str(error)), []
        if outcome.info:
            beam.metrics.Metrics.counter("idp_corpus", "videos_decoded").inc()
        else:
            beam.metrics.Metrics.counter("idp_corpus", "videos_failed").inc()
            beam.metrics.Metrics.counter("idp_corpus", f"videos_{outcome.reason}").inc()
        beam.metrics.Metrics.counter("idp_corpus", "pairs_sampled").inc(len(pairs))
        yield beam.pvalue.TaggedOutput(self.VIDEOS, outcome)
        yield from pairs


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
