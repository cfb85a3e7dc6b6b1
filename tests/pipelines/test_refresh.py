"""Reruns and refreshes: only new videos are decoded, nothing written is rewritten, and a run
killed at any point is completed by running the same command again."""
import json
import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from pipelines.validate import validate
from synthetic_inputs.videos import scene_video


def make_videos(folder, seeds):
    folder.mkdir(exist_ok=True)
    for seed in seeds:
        scene_video(str(folder / f"v{seed:02d}.mp4"), num_frames=60, width=96, height=72,
                    seed=seed, motion_spans=((5, 25), (35, 55)), speed=2)


def files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_adding_three_videos_to_ten_decodes_only_those_three(tmp_path, build):
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    make_videos(videos, range(10))
    options = ["--input", videos / "*", "--output", output, "--no-caption",
               "--samples-per-shard", "4", "--direct_running_mode", "in_memory"]
    first = build(*options)
    before = files(output)
    index_before = json.loads((output / "index.json").read_text())

    make_videos(videos, range(10, 13))
    second = build(*options)
    assert second["run"]["videos_already_in_dataset"] == 10
    assert second["run"]["videos_decoded"] == 3
    assert first["run"]["videos_decoded"] == 10
    after = files(output)
    for name in (n for n in before if n.startswith("shards/")):
        assert after[name] == before[name], f"{name} was rewritten"
    index = json.loads((output / "index.json").read_text())
    old = len(index_before["shards"])
    assert index["shards"][:old] == index_before["shards"]
    assert [s["name"] for s in index["shards"][old:]] == \
        [f"shard-{n:06d}.tar" for n in range(old, len(index["shards"]))]
    assert second["dataset"]["videos"]["total"] == 13
    assert len(pq.read_table(output / "manifest/videos.parquet")) == 13
    assert second["dataset"]["triples"] == first["dataset"]["triples"] + sum(
        s["num_samples"] for s in index["shards"][old:])
    assert validate(str(output)) == []

    # Nothing new: nothing decoded, and the dataset's files stay byte for byte as they were.
    third = build(*options)
    assert third["run"].get("videos_decoded", 0) == 0 and files(output) == after

    # A rebuild takes everything again, numbered from zero.
    rebuilt = build(*options, "--mode", "overwrite")
    assert rebuilt["run"]["videos_decoded"] == 13
    assert validate(str(output)) == []


def start_build(videos, output, model):
    command = [sys.executable, "-m", "pipelines.cli", "build", "--input", str(videos / "*"),
               "--output", str(output), "--model", model, "--samples-per-shard", "1",
               "--qc-policy", "flag",
               "--batch-size", "2"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def kill_when(process, ready, limit=120):
    deadline = time.time() + limit
    while not ready() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_vlm_path):
    root = tmp_path_factory.mktemp("kill")
    make_videos(root / "videos", range(4))
    output = root / "reference"
    assert start_build(root / "videos", output, tiny_vlm_path).wait(timeout=600) == 0
    return root, files(output)


@pytest.mark.parametrize("moment", ["early", "mid_shards"])
def test_a_killed_run_is_completed_by_the_same_command(uninterrupted, tiny_vlm_path, moment):
    root, reference = uninterrupted
    output = root / moment
    shards = output / "shards"
    ready = {
        "early": lambda: (root / "videos").exists() and time.sleep(1.5) is None,
        "mid_shards": lambda: shards.exists() and any(shards.iterdir()),
    }[moment]
    kill_when(start_build(root / "videos", output, tiny_vlm_path), ready)
    assert not (output / "index.json").exists()  # killed before the commit: nothing visible
    assert start_build(root / "videos", output, tiny_vlm_path).wait(timeout=600) == 0
    assert validate(str(output)) == []
    assert files(output) == reference


def test_retry_failed_reprocesses_only_transient_failures(tmp_path, build):
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    make_videos(videos, range(3))
    (videos / "broken.mp4").write_bytes(b"not a video")  # a permanent failure
    # Long enough to overrun a 1 s decode limit; the small ones take a fraction of that.
    scene_video(str(videos / "long.mp4"), num_frames=4000, width=640, height=360,
                motion_spans=((100, 300),))
    options = ["--input", videos / "*", "--output", output, "--no-caption",
               "--direct_running_mode", "in_memory", "--max-failure-ratio", "1"]
    first = build(*options, "--timeout-seconds", "1")
    rows = {r["uri"].rsplit("/", 1)[-1]: r
            for r in pq.read_table(output / "manifest/videos.parquet").to_pylist()}
    assert rows["long.mp4"]["reason"] == "decode_timeout"
    assert rows["broken.mp4"]["reason"] == "decode_failed"
    assert first["run"]["videos_decoded"] == 3
    shards_before = {n: b for n, b in files(output).items() if n.startswith("shards/")}

    retried = build(*options, "--retry-failed", "transient", "--timeout-seconds", "300")
    assert retried["run"]["videos_retried"] == 1 and retried["run"]["videos_decoded"] == 1
    rows = {r["uri"].rsplit("/", 1)[-1]: r
            for r in pq.read_table(output / "manifest/videos.parquet").to_pylist()}
    assert len(rows) == 5 and rows["long.mp4"]["status"] == "ok"
    assert rows["broken.mp4"]["reason"] == "decode_failed"
    after = files(output)
    assert all(after[name] == data for name, data in shards_before.items())
    assert validate(str(output)) == []


def test_a_refresh_that_dies_while_committing_leaves_the_old_version_whole(tmp_path, build,
                                                                            monkeypatch):
    """Simulates a death just before the new version's index is created (the commit point)."""
    from transforms.dataset import index as commit
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    make_videos(videos, range(3))
    options = ["--input", videos / "*", "--output", output, "--no-caption",
               "--samples-per-shard", "2", "--direct_running_mode", "in_memory"]
    build(*options)
    committed = files(output)
    make_videos(videos, range(3, 5))

    from pipelines import config as build_options
    from pipelines.build import run
    from pipelines.cli import parser
    real_write = commit.create_bytes

    def die_at_index(url, data, tmp_dir=None):
        if url.endswith("/index.json"):
            raise KeyboardInterrupt("killed while committing")
        real_write(url, data, tmp_dir)
    monkeypatch.setattr(commit, "create_bytes", die_at_index)
    args, beam_args = parser().parse_known_args(["build", *map(str, options)])
    with pytest.raises(BaseException, match="killed while committing"):
        run(build_options.build_config(args), beam_args)
    monkeypatch.setattr(commit, "create_bytes", real_write)

    assert validate(str(output)) == []  # readers still see the first version, whole
    assert all(files(output)[name] == data for name, data in committed.items())
    finished = build(*options)  # the same command completes the refresh
    assert finished["run"]["videos_decoded"] == 2 and finished["dataset"]["videos"]["total"] == 5
    assert validate(str(output)) == []
