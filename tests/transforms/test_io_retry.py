"""Transient read errors are retried; when they persist the video gets an io_error row."""
import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from transforms.decode_core import DecodeConfig, process_source
from transforms.discover import expand_input
from transforms.sample import SampleConfig


class FlakyFileSystem(MemoryFileSystem):
    """An object store whose first reads time out, like a congested bucket."""
    protocol = "flaky"
    failures_left = 0

    @classmethod
    def _strip_protocol(cls, path):
        return MemoryFileSystem._strip_protocol(path.removeprefix("flaky://"))

    def _open(self, path, mode="rb", **kwargs):
        if "r" in mode and FlakyFileSystem.failures_left > 0:
            FlakyFileSystem.failures_left -= 1
            raise ConnectionResetError("connection reset by peer")
        return super()._open(path, mode, **kwargs)


@pytest.fixture
def flaky_video(scene_path):
    fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)
    with open(scene_path, "rb") as handle:
        fsspec.filesystem("flaky").pipe("/bucket/scene.mp4", handle.read())
    return expand_input("flaky://bucket/*.mp4")[0]


@pytest.mark.parametrize("failures, reason", [(0, None), (2, None), (3, "io_error")])
def test_transient_errors_are_retried_then_recorded(flaky_video, failures, reason):
    FlakyFileSystem.failures_left = failures
    outcome, pairs = process_source(flaky_video, DecodeConfig(io_attempts=3), SampleConfig())
    assert outcome.reason == reason
    assert bool(pairs) == (reason is None)
    if reason:
        assert "connection reset" in outcome.message
