"""Fixtures shared by the whole suite: synthetic videos with known content, a tiny random VLM."""
import json
import os
import subprocess
import sys

# Each pytest-xdist worker gets its share of the CPUs for torch's (OpenMP) threads, and so do the
# builds it starts (they inherit the variable): with a worker per CPU, each worker's threads
# spin against the other workers' and a training step takes more than twice as long. Set
# before anything imports torch; a value the caller set is kept.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(
        1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

import pytest  # noqa: E402 - after the thread share above

from synthetic_inputs.tiny_vlm import build_tiny_vlm  # noqa: E402
from synthetic_inputs.videos import scene_video  # noqa: E402
from tests.scheduling import slowest_first  # noqa: E402
from tests.shared_builds import FLAGGED_OPTIONS, shared_dataset  # noqa: E402

# A 120-frame video: the square moves in frames 30-39 and 80-89, the scene cuts at frame 60,
# everything else is static.
SCENE = dict(num_frames=120, width=160, height=120, motion_spans=((30, 40), (80, 90)),
             cut_at=(60,))


@pytest.fixture(scope="session")
def tiny_vlm_path(tmp_path_factory):
    return build_tiny_vlm(str(tmp_path_factory.mktemp("tiny_vlm")), seed=0)


@pytest.fixture(scope="session")
def scene_path(tmp_path_factory):
    return scene_video(str(tmp_path_factory.mktemp("videos") / "scene.mp4"), **SCENE)


@pytest.fixture(scope="session")
def video_folder(tmp_path_factory):
    """Three good videos of different sizes, codecs and lengths, plus one that is not a video."""
    folder = tmp_path_factory.mktemp("inputs")
    scene_video(str(folder / "a.mp4"), **SCENE)
    scene_video(str(folder / "b.mp4"), num_frames=90, width=192, height=108, seed=3,
                motion_spans=((10, 30), (50, 70)))
    scene_video(str(folder / "c.mkv"), num_frames=80, width=128, height=96, seed=5, codec="mpeg4",
                motion_spans=((10, 30), (45, 60)), speed=2)
    (folder / "broken.mp4").write_bytes(b"this is not a video at all")
    return folder


def run_cli(*args, expect: int = 0):
    """`idp-corpus ARGS` in a subprocess, as a user runs it; returns the finished process."""
    command = [sys.executable, "-m", "pipelines.cli", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == expect, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def build():
    """`idp-corpus build ARGS`; returns its summary {"dataset": stats, "run": counters}."""
    return lambda *args: json.loads(run_cli("build", *args).stdout)


@pytest.fixture(scope="session")
def flagged_corpus(video_folder, tiny_vlm_path, tmp_path_factory, build):
    """(summary, folder) of `idp-corpus build` over video_folder with FLAGGED_OPTIONS, run as a
    user runs it (default runner, preflight on). Read-only: copy it to change it."""
    folder = tmp_path_factory.mktemp("flagged")
    summary = build("--input", video_folder / "*", "--model", tiny_vlm_path, *FLAGGED_OPTIONS,
                    "--output", folder)
    yield from shared_dataset(folder, summary)


@pytest.fixture(scope="session")
def uncaptioned_corpus(video_folder, tmp_path_factory, build):
    """(summary, folder) of a `--no-caption` build over video_folder, four samples a shard.
    Read-only: copy it to change it."""
    folder = tmp_path_factory.mktemp("uncaptioned")
    summary = build("--input", video_folder / "*", "--output", folder, "--no-caption",
                    "--samples-per-shard", "4", "--direct_running_mode", "in_memory")
    yield from shared_dataset(folder, summary)


@pytest.fixture(scope="session")
def footage_clips(tmp_path_factory):
    """(folder, {clip: extra ffmpeg filter of its reference}) of tests/footage.py's clips:
    rotated, anamorphic, interlaced, newer codecs. Skips without the ffmpeg command."""
    import subprocess

    import av

    from tests import footage
    if footage.FFMPEG is None:
        pytest.skip("needs the ffmpeg command")
    encoders = subprocess.run([footage.FFMPEG, "-hide_banner", "-encoders"],
                              capture_output=True, text=True).stdout
    av1 = "libaom-av1" in encoders and "libdav1d" in av.codecs_available
    folder = tmp_path_factory.mktemp("footage")
    return folder, footage.make_clips(folder, tmp_path_factory.mktemp("photos"), av1=av1)


def pytest_collection_modifyitems(items):
    # Every xdist worker collects the same order; addopts' --no-loadscope-reorder keeps it.
    items[:] = slowest_first(items)
