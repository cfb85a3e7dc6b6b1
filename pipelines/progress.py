"""Live progress of a build on the terminal: counts per stage, rates and an ETA.

The figures are the pipeline's own Beam counters (namespace idp_corpus), read while it runs:
- On runners whose `run()` returns at once (Dataflow, portable runners), from
  `PipelineResult.metrics()`, polled.
- On the local runner, `run()` only returns when the pipeline has finished, so there is no
  result to poll. There the display asks the runner's bundle manager for each running bundle's
  progress (Beam's ProgressRequester: the SDK workers report their counters so far) and adds the
  counters of the bundles already finished. This reaches into two internals of Beam's
  FnApiRunner; where they are missing the display shows elapsed time only and says so. With
  `--direct_running_mode in_memory` a bundle runs inside the runner's own call, so the figures
  move only as bundles (about one per stage) finish; the default multi_threading mode and
  multi_processing report as they go.

Shown only when stderr is a terminal; the final counters are in the build's summary anyway.
"""
from __future__ import annotations

import collections
import contextlib
import shutil
import sys
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional

from transforms.metrics import NAMESPACE, dropped_by_reason, run_totals

INTERVAL = 1.0  # seconds between progress requests and between redraws
TERMINAL_STATES = ("DONE", "FAILED", "CANCELLED", "UPDATED", "DRAINED")


def counters_of(monitoring_infos: Iterable) -> Dict[str, int]:
    """The idp_corpus user counters in a list of Beam MonitoringInfos, summed over steps."""
    from apache_beam.metrics import monitoring_infos as mi
    totals: Dict[str, int] = collections.Counter()
    for info in monitoring_infos:
        if info.urn == mi.USER_COUNTER_URN and info.labels.get(mi.NAMESPACE_LABEL) == NAMESPACE:
            totals[info.labels[mi.NAME_LABEL]] += mi.extract_counter_value(info)
    return totals


class LiveCounters:
    """Counters of finished bundles plus the latest report of each running one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._finished: Dict[str, int] = collections.Counter()
        self._done_ids: set = set()
        self._running: Dict[str, Dict[str, int]] = {}

    def running(self, bundle_id: str, monitoring_infos) -> None:
        counters = counters_of(monitoring_infos)
        with self._lock:
            if bundle_id not in self._done_ids and counters:
                self._running[bundle_id] = counters

    def finished(self, bundle_id: str, monitoring_infos) -> None:
        counters = counters_of(monitoring_infos)
        with self._lock:
            self._done_ids.add(bundle_id)
            self._running.pop(bundle_id, None)
            self._finished.update(counters)

    def snapshot(self) -> Dict[str, int]:
        with self._lock:
            total = collections.Counter(self._finished)
            for counters in self._running.values():
                total.update(counters)
        return dict(total)


@contextlib.contextmanager
def local_runner_hooks(live: LiveCounters, interval: float = INTERVAL):
    """Feeds `live` from the local runner while the block runs; yields whether it could."""
    try:
        from apache_beam.runners.portability.fn_api_runner import fn_runner
        original_requester = fn_runner.ProgressRequester
        original_process = fn_runner.BundleManager.process_bundle
    except (ImportError, AttributeError):
        yield False
        return

    class Requester(original_requester):
        def __init__(self, worker_handler, instruction_id, frequency, callback=None):
            def report(progress):
                live.running(instruction_id, progress.monitoring_infos)
                if callback:
                    callback(progress)
            super().__init__(worker_handler, instruction_id, frequency or interval, report)

    def process_bundle(self, *args, **kwargs):
        result, splits = original_process(self, *args, **kwargs)
        live.finished(result.instruction_id, result.process_bundle.monitoring_infos)
        return result, splits

    fn_runner.ProgressRequester = Requester
    fn_runner.BundleManager.process_bundle = process_bundle
    try:
        yield True
    finally:
        fn_runner.ProgressRequester = original_requester
        fn_runner.BundleManager.process_bundle = original_process


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def render(counters: Dict[str, int], elapsed: float, live: bool = True,
           first_moved: Optional[Dict[str, float]] = None,
           last_moved: Optional[Dict[str, float]] = None) -> List[str]:
    """The display's lines for one moment of the run. `first_moved` and `last_moved` say when
    each counter first and last changed (seconds into the run): a stage's rate runs from when
    the stage before it first moved to when its own counter last moved, so it stays put once
    the stage is done."""
    first_moved, last_moved = first_moved or {}, last_moved or {}

    def rate(count: int, figure: str, after: str) -> float:
        seconds = last_moved.get(figure, elapsed) - first_moved.get(after, 0.0)
        return count / seconds if count and seconds > 0 else 0.0

    def shown(value: float) -> str:
        return f"{value:.1f}/s" if value else "-"

    c = collections.defaultdict(int, counters)
    head = f"idp-corpus build  {_clock(elapsed)}"
    if not live:
        return [head, "  (live counters are not available on this runner; the summary at the "
                      "end has them)"]
    processed = c["videos_decoded"] + c["videos_failed"]
    skipped = c["videos_already_in_dataset"] + c["videos_changed_not_reprocessed"]
    video_rate = rate(processed, "videos_processed", "videos_discovered")
    videos = f"  videos   {processed:,} processed"
    if c["videos_discovered"]:
        todo = c["videos_retried"] or max(c["videos_discovered"] - skipped, 0)
        videos = f"  videos   {processed:,} of {todo:,} processed"
        if todo and processed < todo:
            videos += f" ({processed / todo:.0%})"
            if video_rate:
                videos += f"  ETA {_clock((todo - processed) / video_rate)}"
    videos += f"  {shown(video_rate)}  failed {c['videos_failed']:,}"
    if skipped:
        videos += f"  already in dataset {skipped:,}"
    drops = sorted(((name, value) for name, value in dropped_by_reason(c).items() if value),
                   key=lambda item: -item[1])
    pairs = (f"  pairs    {c['pairs_sampled']:,} sampled  "
             f"{sum(value for _, value in drops):,} dropped")
    if drops:
        pairs += " (" + ", ".join(f"{name} {value:,}" for name, value in drops[:4]) + ")"
    lines = [head, videos, pairs]
    if c["num_inferences"]:
        lines.append(f"  caption  {c['num_inferences']:,} captioned  "
                     f"{shown(rate(c['num_inferences'], 'num_inferences', 'pairs_sampled'))}")
    lines.append(f"  write    {c['triples_written']:,} triples in {c['shards_written']:,} shards")
    return lines


class Display:
    """Redraws the lines in place on a terminal, from a thread, until stopped."""

    def __init__(self, source: Callable[[], Dict[str, int]], stream=None, live: bool = True,
                 interval: float = INTERVAL, clock=time.monotonic):
        self.source = source
        self.live = live
        self._stream = stream or sys.stderr
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._first_moved: Dict[str, float] = {}
        self._last_moved: Dict[str, float] = {}
        self._previous: Dict[str, int] = {}
        self._drawn = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="idp-progress", daemon=True)

    def _draw(self) -> None:
        elapsed = self._clock() - self._start
        counters = dict(self.source())
        counters["videos_processed"] = counters.get("videos_decoded", 0) + \
            counters.get("videos_failed", 0)
        for name, value in counters.items():
            if value and value != self._previous.get(name):
                self._first_moved.setdefault(name, elapsed)
                self._last_moved[name] = elapsed
        self._previous = counters
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        lines = [line[:width] for line in render(counters, elapsed, self.live,
                                                 self._first_moved, self._last_moved)]
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self._stream.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._draw()
            except Exception:  # noqa: BLE001 - a display glitch must never stop a build
                pass

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self._draw()


def run_with_progress(pipeline, enabled: Optional[bool] = None, stream=None,
                      interval: float = INTERVAL):
    """`pipeline.run()` and wait; with a live display on `stream` (stderr) when it is a
    terminal. Returns the PipelineResult."""
    stream = stream or sys.stderr
    if not (stream.isatty() if enabled is None else enabled):
        result = pipeline.run()
        result.wait_until_finish()
        return result
    live = LiveCounters()
    with local_runner_hooks(live, interval) as hooked:
        display = Display(live.snapshot, stream, live=hooked, interval=interval)
        with display:
            result = pipeline.run()
            if str(result.state).rsplit(".", 1)[-1] not in TERMINAL_STATES:
                display.source, display.live = (lambda: run_totals(result)), True
            result.wait_until_finish()
            display.source = lambda: run_totals(result)  # the exact figures, last
    return result
