"""Decode children shared by the decode DoFns of one process, so no video waits behind another
while a child is free.

A local runner hands each worker a fixed slice of the videos (Beam's DirectRunner splits a bundle
into equal runs of elements, whatever their length): with one child per worker, the worker given
two long videos decodes them one after the other while the other worker's child sits idle. Here
each DoFn instance lends its child to the process's pool and hands its videos to whichever child
is free; its results come back as futures. The pool has as many children as the process has
decode DoFn instances, the same as one child each.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Dict, Tuple

from transforms.isolation import IsolatedCall

MAX_TASKS = 256  # running or waiting for a child; the DoFns bound their own share


class ChildPool:
    """IsolatedCall children lent out one task at a time."""

    def __init__(self):
        self._free: "queue.Queue[IsolatedCall]" = queue.Queue()
        self._executor = ThreadPoolExecutor(MAX_TASKS, thread_name_prefix="decode-child")
        self._size_lock = threading.Lock()
        self.size = 0

    def add(self, child: IsolatedCall) -> None:
        with self._size_lock:
            self.size += 1
        self._executor.submit(self._warm, child)

    def remove(self) -> None:
        """Takes one child out (waiting for it to be free) and closes it."""
        with self._size_lock:
            self.size -= 1
        self._free.get().close()

    def submit(self, function: Callable, *args) -> Future:
        return self._executor.submit(self._run, function, args)

    def _warm(self, child: IsolatedCall) -> None:
        try:
            child.start()  # imports the decoders now, beside the rest of the stage's set-up
        finally:
            self._free.put(child)

    def _run(self, function: Callable, args: Tuple):
        child = self._free.get()
        try:
            return child.call(function, *args)
        finally:
            self._free.put(child)


_POOLS: Dict[Tuple, ChildPool] = {}
_POOLS_LOCK = threading.Lock()


def join_pool(timeout_seconds: float, preload: Tuple[str, ...]) -> ChildPool:
    """This process's pool for these settings, one child larger."""
    with _POOLS_LOCK:
        pool = _POOLS.setdefault((timeout_seconds, preload), ChildPool())
        pool.add(IsolatedCall(timeout_seconds, preload=preload))
        return pool


def leave_pool(pool: ChildPool) -> None:
    pool.remove()  # not under _POOLS_LOCK: it waits for a busy child to finish its video
