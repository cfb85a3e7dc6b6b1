"""validate must name each kind of damage; a clean dataset gives no problem."""
import json
import shutil

import pytest

from pipelines.validate import validate


@pytest.fixture(scope="module")
def dataset(uncaptioned_corpus):
    _, folder = uncaptioned_corpus
    return folder


@pytest.fixture
def copy(dataset, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(dataset, target)
    return target


def test_clean_dataset_and_cli_exit_codes(dataset, copy, cli):
    assert validate(str(dataset)) == []
    assert "OK" in cli("validate", dataset).stdout
    (copy / "index.json").unlink()
    assert "index.json is missing" in cli("validate", copy, expect=1).stdout


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
    committed = copy / json.loads((copy / "index.json").read_text())["stats"]
    stats = json.loads(committed.read_text())
    stats["triples"] += 1
    committed.write_text(json.dumps(stats))
    assert any("triple counts disagree" in p for p in validate(str(copy)))


def test_plain_copies_must_match_the_committed_version(copy):
    (copy / "stats.json").write_text("{}")
    assert any("stats.json differs from the committed" in p for p in validate(str(copy)))


def test_missing_shard(copy):
    (copy / "shards" / "shard-000000.tar").unlink()
    assert any("listed in the index but missing" in p for p in validate(str(copy)))


def test_a_run_of_mostly_broken_inputs_fails_loudly_without_an_index(video_folder, tmp_path, cli):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(video_folder / "a.mp4", inputs / "a.mp4")
    for name in ("x.mp4", "y.mp4"):
        (inputs / name).write_bytes(b"junk")
    done = cli("build", "--input", inputs / "*", "--output", tmp_path / "out", "--no-caption",
               "--direct_running_mode", "in_memory", "--max-failure-ratio", "0.5", expect=1)
    last_line = done.stderr.splitlines()[-1]
    assert "2 of 3 videos failed" in last_line and "decode_failed" in last_line
    assert not (tmp_path / "out" / "index.json").exists()
    assert not (tmp_path / "out" / "manifest").exists()
    assert not (tmp_path / "out" / "staging").exists()  # the staged sample of a.mp4 is gone
