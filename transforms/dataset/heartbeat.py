"""Keeping a run's lease alive from every process that works for it.

The launcher beats, and so does each worker process (started from the setup of the stages'
DoFns): on Dataflow the launcher may be a pod that died while the job goes on, and the lease
must stay live as long as work is done for the run. A beat stops once the run's lease is
released or taken over, so a forgotten thread never revives a finished run.
"""
from __future__ import annotations

import logging
import threading
from typing import Dict

from transforms.dataset import lease

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread rewriting the run's beat every `run.beat_seconds`."""

    def __init__(self, run: lease.RunRef):
        self._run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{run.run_id}",
                                         daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self._run.beat_seconds):
            try:
                if not lease.owns(self._run):
                    return
                lease.beat(self._run)
            except OSError as error:  # a store hiccup: the next beat tries again
                log.warning("lease heartbeat of run %s failed: %s", self._run.run_id, error)


class _ProcessBeats:
    """One heartbeat per run per process, however many DoFn instances ask for it (a process
    runs many of them, in threads). A process-local cache, like a shared model handle."""
    lock = threading.Lock()
    beats: Dict[str, Heartbeat] = {}


def keep_alive(run) -> None:
    """Makes sure this process beats for `run` (a RunRef, or None when there is no lease)."""
    if run is None:
        return
    with _ProcessBeats.lock:
        current = _ProcessBeats.beats.get(run.run_id)
        if current is None or not current.alive():
            _ProcessBeats.beats[run.run_id] = Heartbeat(run).start()


def stop_beats(run) -> None:
    if run is None:
        return
    with _ProcessBeats.lock:
        current = _ProcessBeats.beats.pop(run.run_id, None)
    if current is not None:
        current.stop()
