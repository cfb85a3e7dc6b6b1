"""A fix for Beam's local runner: no timed flushes of worker output.

The DirectRunner's `multi_threading` workers (Beam 2.77; `EmbeddedGrpcWorkerHandler`) flush each
output buffer every second from a timer thread, whatever is being written at that moment; an
element whose encoding takes longer (a pickled frame pair: tens of milliseconds) can be cut in
two. The runner keeps the halves as separate chunks and may hand them to different workers:
"Error decoding input stream ... Unknown type tag", or elements that silently vanish (caught by
Finalize's LostPairs check). A batch run needs no timed flushes: output is still flushed by size
between elements, and at the end of every bundle.
"""
from __future__ import annotations

NEVER_MS = 2 ** 31 - 1  # about 25 days: the timer never fires within a run


def no_timed_flushes() -> None:
    """Makes local in-process workers created from now on flush only between elements."""
    try:
        from apache_beam.runners.portability.fn_api_runner import worker_handlers
    except ImportError:  # a Beam without this runner has no such workers either
        return
    if hasattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS"):
        worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = NEVER_MS
