"""Decode children shared by the decode DoFns of one process, so no video waits behind another
while a child is free.

A local runner hands each worker a fixed slice of the videos (Beam's DirectRunner splits a bundle
into equal runs of elements, whatever their length): with one child per worker, the worker given
two long videos decodes them one after the other while the other worker's child sits idle. Here
each DoFn instance lends its child to the process's pool and hands its videos to whichever child
is free. The pool has as many children as the process has decode DoFn instances, the same as one
child each.

A task's results come back one at a time (`Task`), read from the child by a pool thread into a
short queue: a child that runs ahead of its DoFn waits once the queue is full, so memory holds a
few pairs per video, however many pairs the video has. Children go to tasks strictly in the order
the tasks were submitted: each DoFn reads its oldest task first, so the oldest task of all always
has a child and a reader, and a full queue can never leave every child waiting.
"""
from __future__ import annotations

import collections
import queue
import threading
from typing import Callable, Dict, Iterator, List, Tuple

from transforms.isolation import IsolatedCall

# Results a task may hold before its child waits: the default sampler's five or so pairs of a
# video fit, so the child goes on to its next video; a long stride video waits for its reader.
QUEUED_RESULTS = 8


class Task:
    """The results of one call, in order, as the child makes them."""

    def __init__(self):
        self._results: "queue.Queue[Tuple[str, object]]" = queue.Queue(QUEUED_RESULTS)
        self._cancelled = threading.Event()

    def __iter__(self) -> Iterator:
        """Each result; raises what the call raised (ChildFailed for a crash or a timeout)."""
        while True:
            kind, value = self._results.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value

    def ready(self) -> bool:
        """Whether the next result (or the end) is here, so reading it would not wait."""
        return not self._results.empty()

    def cancel(self) -> None:
        """Nobody will read the rest: the child stops (and is replaced) instead of waiting."""
        self._cancelled.set()

    def put(self, kind: str, value=None) -> bool:
        """Queues a result, waiting for room; False once the task is cancelled."""
        while not self._cancelled.is_set():
            try:
                self._results.put((kind, value), timeout=0.5)
                return True
            except queue.Full:
                continue
        return False


class ChildPool:
    """IsolatedCall children lent out one task at a time, in the order the tasks came."""

    def __init__(self):
        self._free: List[IsolatedCall] = []
        self._turns: "collections.deque[object]" = collections.deque()  # waiting, oldest first
        self._changed = threading.Condition()
        self.size = 0

    def add(self, child: IsolatedCall) -> None:
        with self._changed:
            self.size += 1
        _in_thread(self._warm, child)

    def remove(self) -> None:
        """Takes one child out (waiting for it to be free) and closes it."""
        with self._changed:
            self.size -= 1
        self._take(self._queue_turn()).close()

    def submit(self, function: Callable, *args) -> Task:
        """Runs function(*args) on the next free child: a generator's items, or its value.
        Each task has a thread of its own (the DoFns bound how many are waiting): every turn in
        the line has a thread to take it."""
        task, turn = Task(), self._queue_turn()
        _in_thread(self._run, turn, task, function, args)
        return task

    def _queue_turn(self) -> object:
        turn = object()
        with self._changed:
            self._turns.append(turn)
        return turn

    def _take(self, turn: object) -> IsolatedCall:
        with self._changed:
            self._changed.wait_for(lambda: self._free and self._turns[0] is turn)
            self._turns.popleft()
            self._changed.notify_all()
            return self._free.pop()

    def _give(self, child: IsolatedCall) -> None:
        with self._changed:
            self._free.append(child)
            self._changed.notify_all()

    def _warm(self, child: IsolatedCall) -> None:
        try:
            child.start()  # imports the decoders now, beside the rest of the stage's set-up
        finally:
            self._give(child)

    def _run(self, turn: object, task: Task, function: Callable, args: Tuple) -> None:
        child = self._take(turn)
        try:
            results = child.stream(function, *args)
            try:
                for item in results:
                    if not task.put("item", item):
                        return
                task.put("end")
            finally:
                results.close()  # a stream left early kills its child; the next call starts one
        except Exception as error:  # noqa: BLE001 - the task's reader raises it
            task.put("error", error)
        finally:
            self._give(child)


def _in_thread(function: Callable, *args) -> None:
    threading.Thread(target=function, args=args, name="decode-child", daemon=True).start()


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
