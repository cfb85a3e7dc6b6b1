"""`python -m tests.pipelines.paused_commit build ...`: `idp-corpus build ...` whose commit
stops its own process (SIGSTOP) after its last lease check, just before it creates the version's
marker, so that a test can make another run commit in that window. With the in-memory runner
the commit runs in this process."""
import os
import signal

from pipelines import cli
from transforms.dataset import index


def stop_before(create):
    """`create` (the marker's create-only-if-absent write), preceded by a SIGSTOP."""
    def stopped_then_created(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGSTOP)
        return create(*args, **kwargs)
    return stopped_then_created


if __name__ == "__main__":
    index.create_bytes = stop_before(index.create_bytes)
    cli.entry()
