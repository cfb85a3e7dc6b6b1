"""validate must name each kind of damage; a clean dataset gives no problem."""
import json
import shutil
import subprocess
import sys

import pytest

from pipelines.validate import validate


@pytest.fixture(scope="module")
def dataset(video_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("clean")
    command = [sys.executable, "-m", "pipelines.cli", "build", "--input", str(video_folder / "*"),
               "--output", str(folder), "--no-caption", "--samples-per-shard", "4",
               "--direct_running_mode", "in_memory"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture
def copy(dataset, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(dataset, target)
    return target


def test_clean_dataset_and_cli_exit_codes(dataset, copy):
    assert validate(str(dataset)) == []
    ok = subprocess.run([sys.executable, "-m", "pipelines.cli", "validate", str(dataset)],
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    (copy / "index.json").unlink()
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "validate", str(copy)],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "index.json is missing" in bad.stdout


def test_truncated_shard(copy):
    shard = copy / "shards" / "shard-000000.tar"
    shard.write_bytes(shard.read_bytes()[:5000])
    problems = validate(str(copy))
    assert any("sha256" in p for p in problems)
    assert any("samples, index says" in p or "not a readable tar" in p or "decode" in p
               for p in problems)


def test_stray_temporary_file(copy):
    (copy / "shards" / ".shard-000009.tar.tmp-1234abcd").write_bytes(b"partial")
    assert any("temporary file left behind" in p for p in validate(str(copy)))


def test_counts_that_disagree(copy):
    stats = json.loads((copy / "stats.json").read_text())
    stats["triples"] += 1
    (copy / "stats.json").write_text(json.dumps(stats))
    assert any("triple counts disagree" in p for p in validate(str(copy)))


def test_missing_shard(copy):
    (copy / "shards" / "shard-000000.tar").unlink()
    assert any("listed in the index but missing" in p for p in validate(str(copy)))


def test_a_run_of_mostly_broken_inputs_fails_loudly_without_an_index(video_folder, tmp_path):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(video_folder / "a.mp4", inputs / "a.mp4")
    for name in ("x.mp4", "y.mp4"):
        (inputs / name).write_bytes(b"junk")
    command = [sys.executable, "-m", "pipelines.cli", "build", "--input", str(inputs / "*"),
               "--output", str(tmp_path / "out"), "--no-caption",
               "--direct_running_mode", "in_memory", "--max-failure-ratio", "0.5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "2 of 3 videos failed" in done.stderr.splitlines()[-1]
    assert not (tmp_path / "out" / "index.json").exists()
    assert (tmp_path / "out" / "manifest" / "videos.parquet").exists()
