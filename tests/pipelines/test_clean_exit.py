"""A run never hangs at the end: workers, decoder processes and model servers all stop."""
import os
import signal
import subprocess
import sys
import time

EXIT_BOUND_SECONDS = 60


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_build_exits_on_its_own_soon_after_the_commit(video_folder, tiny_vlm_path, tmp_path):
    output = tmp_path / "corpus"
    command = [sys.executable, "-m", "pipelines.cli", "build", "--input", str(video_folder / "*"),
               "--output", str(output), "--model", tiny_vlm_path, "--qc-policy", "flag"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not (output / "index.json").exists() and process.poll() is None:
            assert time.monotonic() < deadline, "the build never committed"
            time.sleep(0.05)
        committed = time.monotonic()
        assert process.wait(timeout=EXIT_BOUND_SECONDS) == 0
        exited = time.monotonic()
        # Nothing it started lives on: SDK workers, decoder children, model servers.
        while group_alive(process.pid) and time.monotonic() < exited + 10:
            time.sleep(0.1)
        assert not group_alive(process.pid)
        assert exited - committed < EXIT_BOUND_SECONDS
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
