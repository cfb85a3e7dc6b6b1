"""A build that fails inside Beam fails cleanly: its own staging is removed and its lease ended,
so a full disk is not left fuller and the next run is not refused."""
import errno
import os
import subprocess

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from pipelines.cli import main
from transforms.dataset import layout

PROTOCOL = "fulldisk"


class FullDisk(LocalFileSystem):
    """The local disk, except that writing a staging file fails as on a full disk."""
    protocol = PROTOCOL

    def __init__(self, **kwargs):
        super().__init__(auto_mkdir=True, **kwargs)

    @classmethod
    def _strip_protocol(cls, path):
        path = str(path)
        if path.startswith(f"{PROTOCOL}://"):
            path = path[len(PROTOCOL) + 3:]
        return super()._strip_protocol(path)

    def _open(self, path, mode="rb", **kwargs):
        handle = super()._open(path, mode, **kwargs)
        if "w" in mode and "/staging/" in path:
            def no_space(data):
                handle.f.write(data[: len(data) // 2])  # part of it lands, as on a real disk
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            handle.write = no_space
        return handle


@pytest.fixture
def full_disk():
    fsspec.register_implementation(PROTOCOL, FullDisk, clobber=True)
    yield
    from fsspec.registry import _registry
    _registry.pop(PROTOCOL, None)


def test_a_build_onto_a_full_disk_fails_and_leaves_no_staging(tmp_path, video_folder, full_disk,
                                                              capsys):
    output = tmp_path / "out"
    code = main(["build", "--input", str(video_folder / "b.mp4"), "--output",
                 f"{PROTOCOL}://{output}", "--no-caption",
                 "--direct_running_mode", "in_memory"])
    assert code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("idp-corpus build failed: no space left on device") and \
        "while staging images" in last, last  # the cause and the step, in the last line
    left = [os.path.relpath(os.path.join(root, name), output)
            for root, _, names in os.walk(output) for name in names]
    assert left == []  # no staging, no lease, no index: nothing of the run
    assert not os.listdir(output / layout.RUNS_DIR)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs: room for the lease and the preflight probe, not for a run's staging.
    Skipped where this process may not mount one (not root, no CAP_SYS_ADMIN)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_build_onto_a_full_tmpfs_fails_and_leaves_no_staging(tmp_path, small_tmpfs, capsys):
    from synthetic_inputs.videos import scene_video
    video = scene_video(str(tmp_path / "big.mp4"), num_frames=40, width=640, height=480,
                        motion_spans=((5, 35),), speed=3)
    output = small_tmpfs / "out"
    code = main(["build", "--input", video, "--output", str(output), "--no-caption",
                 "--sampler", "first_last", "--direct_running_mode", "in_memory"])
    err = capsys.readouterr().err
    assert code == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("idp-corpus build failed: no space left on device"), last
    left = [os.path.relpath(os.path.join(root, name), output)
            for root, _, names in os.walk(output) for name in names]
    assert left == []
