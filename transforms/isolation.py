"""Run native decoding in a child process, so that a decoder that crashes or hangs on one file
costs that file, not the run.

The child is started once and reused for every call; when it dies or overruns its time it is
killed and replaced on the next call. It is a fresh interpreter (safe beside the gRPC threads of
a Beam worker) started by subprocess, not multiprocessing's spawn: spawn re-imports the parent's
main module in the child, which in a Beam worker is the whole SDK (about 1.3 CPU-seconds, and
the child's memory) for a process that needs only the decoders.
"""
from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import Any, Callable, Iterator, Optional


class ChildFailed(Exception):
    """The child process died or timed out; `reason` is decoder_crashed or decode_timeout."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


STARTUP_SECONDS = 300.0  # importing the decoders in a fresh interpreter; not part of the timeout


def _import(modules) -> None:
    for module in modules:
        importlib.import_module(module)


def serve(read_fd: int, write_fd: int) -> None:
    """The child's loop (see _serve)."""
    _serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False))


def _serve(requests: Connection, replies: Connection) -> None:
    """(function, args) in; out, what it returns, or each item of the generator it returns, as
    ("item", value) replies, then ("end", None), or ("error", exception) where it raised."""
    while True:
        try:
            function, args = requests.recv()
        except EOFError:
            return
        try:
            result = function(*args)
            for item in result if inspect.isgenerator(result) else (result,):
                replies.send(("item", item))  # blocks while the parent is behind: backpressure
            reply = ("end", None)
        except Exception as error:  # noqa: BLE001 - handed back to the parent, raised there
            reply = ("error", error)
        replies.send(reply)


class IsolatedCall:
    """`call(function, *args)` runs a picklable module-level function in the child process."""

    def __init__(self, timeout_seconds: float, preload=()):
        self._timeout = timeout_seconds
        self._preload = tuple(preload)
        self._process: Optional[subprocess.Popen] = None
        self._requests: Optional[Connection] = None
        self._replies: Optional[Connection] = None

    def start(self) -> None:
        """Starts the child now rather than on the first call."""
        if self._process is None or self._process.poll() is not None:
            self._start()

    def _start(self) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        # The child imports from the same places as this process (tests, editable installs).
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._process = subprocess.Popen(
            # The preloaded modules close the command line (unused there): they show in ps
            # what the child is for, a decoder or preflight's model check.
            [sys.executable, "-c", "import sys, transforms.isolation as i; "
             "i.serve(int(sys.argv[1]), int(sys.argv[2]))", str(request_read), str(reply_write),
             *self._preload],
            pass_fds=(request_read, reply_write), env=env, stdin=subprocess.DEVNULL)
        os.close(request_read)
        os.close(reply_write)
        self._requests = Connection(request_write, readable=False)
        self._replies = Connection(reply_read, writable=False)
        # Import what the calls need before any call is timed.
        self._requests.send((_import, (self._preload,)))
        status = "item"
        while status == "item":  # a failed import fails again, and shows, at the first call
            if not self._replies.poll(STARTUP_SECONDS):
                self.close()
                raise RuntimeError("the decoder process did not start")
            status, _ = self._replies.recv()

    def call(self, function: Callable, *args) -> Any:
        """What `function(*args)` returns."""
        [value] = self.stream(function, *args)
        return value

    def stream(self, function: Callable, *args) -> Iterator:
        """Each item of the generator `function(*args)` returns, as the child makes them.

        The timeout counts the time spent waiting for the child, not the time the caller takes
        between items. A stream left before its end costs the child (it would still be sending).
        """
        self.start()
        waited, ended = 0.0, False
        try:
            self._requests.send((function, args))
            while True:
                began = time.monotonic()
                ready = self._replies.poll(max(0.0, self._timeout - waited))
                waited += time.monotonic() - began
                if not ready:
                    raise ChildFailed("decode_timeout", f"no result within {self._timeout:g} s; "
                                                        "the decoder was killed")
                status, value = self._replies.recv()
                if status == "item":
                    yield value
                    continue
                ended = True
                if status == "error":
                    raise value
                return
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self._process.wait(timeout=5)
            raise ChildFailed("decoder_crashed", f"the decoder process died (exit code {code})")
        finally:
            if not ended:
                self.close()

    def close(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait(timeout=5)
        for connection in (self._requests, self._replies):
            if connection is not None:
                connection.close()
        self._process = self._requests = self._replies = None
