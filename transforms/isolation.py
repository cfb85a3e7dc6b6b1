"""Run native decoding in a child process, so that a decoder that crashes or hangs on one file
costs that file, not the run.

The child is started once (spawn: safe beside the gRPC threads of a Beam worker) and reused for
every call; when it dies or overruns its time it is killed and replaced on the next call.
"""
from __future__ import annotations

import importlib
import multiprocessing
from typing import Any, Callable, Optional


class ChildFailed(Exception):
    """The child process died or timed out; `reason` is decoder_crashed or decode_timeout."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


STARTUP_SECONDS = 300.0  # importing the decoders in a fresh interpreter; not part of the timeout


def _import(modules) -> None:
    for module in modules:
        importlib.import_module(module)


def _serve(connection) -> None:
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            reply = ("ok", function(*args))
        except Exception as error:  # noqa: BLE001 - handed back to the parent, raised there
            reply = ("error", error)
        connection.send(reply)


class IsolatedCall:
    """`call(function, *args)` runs a picklable module-level function in the child process."""

    def __init__(self, timeout_seconds: float, preload=()):
        self._timeout = timeout_seconds
        self._preload = tuple(preload)
        self._context = multiprocessing.get_context("spawn")
        self._process: Optional[multiprocessing.Process] = None
        self._connection = None

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()
        child.close()
        self._connection = parent
        # Import what the calls need before any call is timed.
        self._connection.send((_import, (self._preload,)))
        if not self._connection.poll(STARTUP_SECONDS):
            self.close()
            raise RuntimeError("the decoder process did not start")
        self._connection.recv()

    def call(self, function: Callable, *args) -> Any:
        if self._process is None or not self._process.is_alive():
            self._start()
        try:
            self._connection.send((function, args))
            if not self._connection.poll(self._timeout):
                self.close()
                raise ChildFailed("decode_timeout",
                                  f"no result within {self._timeout:g} s; the decoder was killed")
            status, value = self._connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self._process.join(timeout=5)
            code = self._process.exitcode
            self.close()
            raise ChildFailed("decoder_crashed", f"the decoder process died (exit code {code})")
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None
