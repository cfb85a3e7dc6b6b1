"""A build over every kind of broken input completes, accounts for each, and loses nothing else."""
import json

import pyarrow.parquet as pq
import pytest

from pipelines.validate import validate
from tests.pipelines.bad_inputs import LIMITS, OK, write_bad_inputs

LIMIT_FLAGS = ["--max-pixels", str(LIMITS["max_pixels"]),
               "--max-seconds", str(LIMITS["max_seconds"])]


def build_bad(build, manifest, output):
    return build("--input", manifest, "--output", output, "--no-caption",
                 "--max-failure-ratio", "1.0", *LIMIT_FLAGS)["dataset"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad inputs")
    return folder, write_bad_inputs(str(folder))


@pytest.fixture(scope="module")
def mixed(inputs, tmp_path_factory, build):
    folder, _ = inputs
    output = tmp_path_factory.mktemp("mixed")
    return build_bad(build, folder / "inputs.jsonl", output), output


def test_at_least_fifteen_kinds(inputs):
    _, expected = inputs
    # 17 files (and a manifest row with no URI, and one listing a file twice)
    assert len(expected) >= 15 and len(set(expected.values()) - {OK}) >= 8


def test_every_input_has_exactly_one_row_with_its_reason(inputs, mixed):
    _, expected = inputs
    stats, output = mixed
    rows = pq.read_table(output / "manifest/videos.parquet").to_pylist()
    by_name = {row["uri"].rsplit("/", 1)[-1]: row for row in rows}
    assert len(rows) == len(by_name) == len(expected) == stats["videos"]["total"]
    for name, reason in expected.items():
        row = by_name[name]
        if reason == OK:
            assert row["status"] in ("ok", "no_pairs") and row["num_candidates"] > 0, row
        else:
            assert row["reason"] == reason, (name, row)
            assert row["status"] in ("failed", "no_pairs") and row["message"], row
    assert validate(str(output)) == []


def test_good_videos_give_the_same_samples_as_alone(inputs, mixed, tmp_path, build):
    folder, expected = inputs
    _, output = mixed
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"uri": str(folder / name)}) + "\n"
                            for name, reason in expected.items() if reason == OK))
    alone = tmp_path / "alone"
    build_bad(build, good, alone)
    assert samples(alone) == samples(output) and samples(alone)


def samples(folder):
    """{member name: bytes} over every shard the index lists."""
    import tarfile
    index = json.loads((folder / "index.json").read_text())
    found = {}
    for shard in index["shards"]:
        with tarfile.open(folder / shard["url"]) as tar:
            found.update({member.name: tar.extractfile(member).read() for member in tar})
    return found
