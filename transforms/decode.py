"""The decode stage of a build: VideoSources in, FramePairs and one VideoOutcome per video out.

The work on one video lives in transforms/decode_core.py, which the isolated decode child imports
without Apache Beam.
"""
from __future__ import annotations

import collections
from typing import Callable, Deque, Iterator

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from schemas.records import VideoOutcome, VideoSource
from transforms import metrics
from transforms.decode_core import DecodeConfig, stream_source
from transforms.decode_pool import join_pool, leave_pool
from transforms.isolation import ChildFailed
from transforms.pairs_out import PairsOut
from transforms.sample import SampleConfig


class _Video:
    """One video handed to the decoder: its results as they come, and how many pairs are out."""

    def __init__(self, source: VideoSource, results: Iterator, ready: Callable[[], bool],
                 timestamp, window, cancel: Callable[[], None] = lambda: None):
        self.source, self.results, self.ready, self.cancel = source, iter(results), ready, cancel
        self.timestamp, self.window = timestamp, window
        self.out, self.done = PairsOut(source), False


class _DecodeFn(beam.DoFn):
    """Hands each video to the process's pool of decode children and emits its pairs as they come
    back, in this call or a later one, or at the end of the bundle; the video's outcome follows
    its pairs."""
    VIDEOS = "videos"

    def __init__(self, decode: DecodeConfig, sample: SampleConfig, decode_fn=stream_source):
        self._decode = decode
        self._sample = sample
        self._decode_fn = decode_fn  # injectable: tests pass decoders that crash or hang
        self._pool = None
        self._pending: Deque[_Video] = collections.deque()  # in the order they came

    def setup(self):
        if self._decode.isolate:
            self._pool = join_pool(self._decode.timeout_seconds, (self._decode_fn.__module__,))

    def teardown(self):
        self._cancel_pending()
        if self._pool is not None:
            leave_pool(self._pool)
            self._pool = None

    def start_bundle(self):
        self._cancel_pending()  # anything left by a failed bundle is that bundle's

    def _cancel_pending(self):
        while self._pending:
            self._pending.popleft().cancel()

    def process(self, source: VideoSource, timestamp=beam.DoFn.TimestampParam,
                window=beam.DoFn.WindowParam):
        args = (source, self._decode, self._sample)
        if self._pool is None:  # decoded here, as it is read
            self._pending.append(_Video(source, self._decode_fn(*args), lambda: True,
                                        timestamp, window))
        else:
            task = self._pool.submit(self._decode_fn, *args)
            self._pending.append(_Video(source, task, task.ready, timestamp, window,
                                        task.cancel))
        # Videos in order; at most two per child in flight from this instance, each holding a
        # few pairs: memory stays bounded whatever the videos' lengths.
        limit = 2 * (self._pool.size if self._pool else 1)
        while self._pending:
            head = self._pending[0]
            yield from self._emit(head, wait=len(self._pending) > limit)
            if not head.done:
                break
            self._pending.popleft()

    def finish_bundle(self):
        while self._pending:
            yield from self._emit(self._pending.popleft(), wait=True)

    def _emit(self, video: _Video, wait: bool):
        """The video's results that are here (all of them, with `wait`), as outputs."""
        while not video.done and (wait or video.ready()):
            try:
                item = next(video.results)
            except ChildFailed as error:
                item = video.out.failed(error.reason, str(error))
            if isinstance(item, VideoOutcome):
                video.done = True
                _count(item)
                yield beam.pvalue.TaggedOutput(
                    self.VIDEOS, WindowedValue(item, video.timestamp, [video.window]))
            else:
                video.out.note(item)
                metrics.count("pairs_sampled")
                yield WindowedValue(item, video.timestamp, [video.window])


def _count(outcome: VideoOutcome) -> None:
    if outcome.info:  # a video cut short by a failure after some pairs counts as decoded
        metrics.count("videos_decoded")
    else:
        metrics.count("videos_failed")
        metrics.count(f"videos_{outcome.reason}")


class DecodeAndSample(beam.PTransform):
    """VideoSource -> {"pairs": FramePair, "videos": VideoOutcome (exactly one per video)}.

    `decode_fn(source, decode, sample)` yields a video's pairs, then its outcome."""

    def __init__(self, decode: DecodeConfig, sample: SampleConfig, decode_fn=stream_source):
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
