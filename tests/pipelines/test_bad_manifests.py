"""Malformed manifests, images and duplicates, as teams save and merge them: every one is a row
with a reason, the run goes on, and what it commits passes `validate`.

One shared build over all of them (tiny videos and images, first_last sampler), then a rerun and
two refreshes of the same dataset.
"""
import json
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.validate import validate
from synthetic_inputs.videos import scene_video
from transforms.labels import MAX_LABEL_CHARS
from transforms.schemes import scheme_problem

BOM = "\ufeff"
FLAGS = ["--no-caption", "--sampler", "first_last", "--max-failure-ratio", "1",
         "--min-sharpness", "0", "--max-cut", "1", "--min-change", "0.001",
         "--direct_running_mode", "in_memory"]  # a Beam option passes the strict command line
NO_GCS = scheme_problem("gs://bucket/x.png") is not None


def run(cwd, *args, expect=0):
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == expect, done.stderr[-3000:]
    return done


def last_line(done):
    return done.stderr.strip().splitlines()[-1]


def png_header(path, width, height):
    """A PNG whose header claims width x height, with no pixels: only a header check passes."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def grey16(left, right):
    image = np.zeros((48, 64), np.uint16)
    image[:, :32], image[:, 32:] = left * 257, right * 257
    return image


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad manifests")
    for folder in ("vids", "more", "extra", "lists", "au"):
        (root / folder).mkdir()
    tiny = dict(num_frames=12, width=64, height=48, motion_spans=((1, 11),))
    for seed, path in enumerate(("vids/a.mp4", "vids/b.mp4", "more/c.mp4", "more/d.mp4",
                                 "extra/e.mp4")):
        scene_video(str(root / path), seed=seed, **tiny)
    lists = root / "lists"
    # Excel's "CSV UTF-8": a byte-order mark; a quoted label with CR, LF, NUL and U+2028.
    (lists / "labelled.csv").write_text(
        BOM + 'uri,id,label,license\n../vids/a.mp4,a1,"push\r\nthe\x00 square\u2028 right ",'
        "CC0\n", encoding="utf-8", newline="")
    (lists / "team1.csv").write_text("URI, id, lable\n../more/c.mp4, 0001, x\n")
    (lists / "team2.csv").write_text("uri,id\n../more/d.mp4,0001\n")
    (lists / "team3.csv").write_text("uri,id\n../extra/e.mp4,a1\n")
    (lists / "rows.jsonl").write_text(BOM + "\n".join([
        "[1, 2]", "not json", json.dumps({"uri": "gs://bucket/x.mp4"}),
        json.dumps({"uri": "../vids/b.mp4", "label": "lift it " * 25000})]) + "\n",
        encoding="utf-8")
    au = root / "au"
    cv2.imwrite(str(au / "g16-before.png"), grey16(60, 130))
    cv2.imwrite(str(au / "g16-after.png"), grey16(130, 60))
    rng = np.random.default_rng(1)
    for side in ("before", "after"):
        rgba = np.dstack([rng.integers(0, 256, (48, 64, 3)), np.full((48, 64), 128)])
        Image.fromarray(rgba.astype(np.uint8)).save(au / f"rgba-{side}.png")
    Image.new("RGB", (1, 1)).save(au / "dot.png")
    png_header(au / "huge.png", 20000, 20000)
    png_header(au / "big.png", 9000, 9000)
    (au / "text.png").write_text("not an image")
    items = [
        {"instruction": "swap the halves", "input": "g16-before.png", "output": "g16-after.png"},
        {"instruction": "shuffle the noise", "input": "rgba-before.png", "output": "rgba-after.png"},
        {"instruction": "grow", "input": "dot.png", "output": "g16-after.png"},
        {"instruction": "grow", "input": "huge.png", "output": "g16-after.png"},
        {"instruction": "grow", "input": "big.png", "output": "g16-after.png"},
        {"instruction": "grow", "input": "text.png", "output": "g16-after.png"},
        [1, 2],
        "an item that is a string",
        {"instruction": "no after", "input": "g16-before.png"},
        {"instruction": "remote", "input": "gs://bucket/a.png", "output": "g16-after.png"},
    ]
    (au / "pairs.json").write_text(BOM + json.dumps(items), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def built(root):
    """The same AURORA file three ways, a labelled CSV naming a file a glob also finds, two
    teams' lists both using id 0001, malformed rows, and the output inside the input glob."""
    done = run(root, "build", "--input", "vids/**", "--input", "lists/labelled.csv",
               "--input", "lists/team1.csv", "--input", "lists/team2.csv",
               "--input", "lists/rows.jsonl", "--input", "au/pairs.json",
               "--input", root / "au/pairs.json", "--input", "./au/pairs.json",
               "--output", "vids/out", *FLAGS)
    return json.loads(done.stdout), root / "vids/out", done.stderr


def rows(output, name="videos"):
    return pq.read_table(output / f"manifest/{name}.parquet").to_pylist()


def by_name(output):
    return {row["uri"].split("/", 1)[-1].rsplit("/", 1)[-1]: row for row in rows(output)}


def shard_members(output):
    index = json.loads((output / "index.json").read_text())
    found = {}
    for shard in index["shards"]:
        with tarfile.open(output / shard["url"]) as tar:
            found.update({m.name: tar.extractfile(m).read() for m in tar})
    return found


def test_every_bad_row_has_its_reason_and_the_run_goes_on(built):
    summary, output, stderr = built
    found = by_name(output)
    expected = {
        "a.mp4": (None, "ok"), "b.mp4": (None, "ok"),
        "c.mp4": ("duplicate_id", "failed"), "d.mp4": ("duplicate_id", "failed"),
        "rows.jsonl#row=1": ("malformed_row", "failed"),
        "rows.jsonl#row=2": ("malformed_row", "failed"),
        "pairs.json#0": (None, "ok"), "pairs.json#1": (None, "ok"),
        "pairs.json#2": ("too_small", "failed"), "pairs.json#3": ("too_large", "failed"),
        "pairs.json#4": ("too_large", "failed"), "pairs.json#5": ("decode_failed", "failed"),
        "pairs.json#6": ("malformed_row", "failed"), "pairs.json#7": ("malformed_row", "failed"),
        "pairs.json#8": ("incomplete_pair", "failed"),
    }
    if NO_GCS:
        expected.update({"x.mp4": ("unsupported_scheme", "failed"),
                         "pairs.json#9": ("unsupported_scheme", "failed")})
    for name, (reason, status) in expected.items():
        assert (found[name]["reason"], found[name]["status"]) == (reason, status), found[name]
        assert status == "ok" or found[name]["message"]
    if NO_GCS:
        assert "idp-corpus[gcs]" in found["x.mp4"]["message"]
        assert stderr.count("unsupported_scheme") == 1  # preflight warns once, not per row
    assert "team1.csv: column(s) lable are not used" in stderr
    assert "also used in this run by" in found["c.mp4"]["message"]
    assert summary["dataset"]["videos"]["total"] == len(found) == 17
    assert validate(str(output)) == []


def test_one_source_however_it_is_named_the_richest_description_wins(built):
    summary, output, _ = built
    found = by_name(output)
    # The AURORA file given three ways: its 10 items once each, 2 triples (not 6).
    assert sum(name.startswith("pairs.json#") for name in found) == 10
    assert found["a.mp4"]["label"] == "push the square right" and found["a.mp4"]["license"] == "CC0"
    assert found["a.mp4"]["video_id"] == "a1"
    # a.mp4 and b.mp4 twice (glob and list), 10 AURORA items twice each.
    assert summary["run"]["duplicate_inputs_merged"] == 22
    assert summary["dataset"]["triples"] == 4


def test_labels_are_one_clean_capped_line(built):
    summary, output, _ = built
    members = shard_members(output)
    actions = {json.loads(members[name])["source_uri"].rsplit("/", 1)[-1]:
               members[name[:-len("json")] + "txt"].decode("utf-8")
               for name in members if name.endswith(".json")}
    assert actions["a.mp4"] == "push the square right"
    assert len(actions["b.mp4"]) <= MAX_LABEL_CHARS and actions["b.mp4"].startswith("lift it ")
    assert summary["run"]["labels_truncated"] == 1
    assert f"1 label(s) longer than {MAX_LABEL_CHARS} characters were cut" in built[2]


def test_a_16_bit_image_is_stored_as_it_looks(built):
    _, output, _ = built
    members = shard_members(output)
    key = next(json.loads(members[name])["key"] for name in members if name.endswith(".json")
               and json.loads(members[name])["source_uri"].endswith("pairs.json#0"))
    import io
    before = np.asarray(Image.open(io.BytesIO(members[f"{key}.before.jpg"])).convert("L"))
    assert abs(before[:, :28].mean() - 60) < 3 and abs(before[:, 36:].mean() - 130) < 3


def test_a_rerun_does_not_read_its_own_output_as_input(built, root):
    summary, output, _ = built
    again = json.loads(run(root, "build", "--input", "vids/**", "--input", "lists/labelled.csv",
                           "--input", "au/pairs.json", "--output", "vids/out", *FLAGS).stdout)
    assert again["dataset"]["videos"]["total"] == summary["dataset"]["videos"]["total"]
    assert not any("/out/" in row["uri"] for row in rows(output))
    assert validate(str(output)) == []


def test_an_id_the_dataset_already_has_is_a_failure_not_duplicate_keys(built, root):
    _, output, _ = built
    done = run(root, "build", "--input", "lists/team3.csv", "--output", "vids/out", *FLAGS,
               expect=1)
    assert last_line(done) == "idp-corpus build: all 1 videos failed; see manifest/videos.parquet"
    found = by_name(output)
    assert found["e.mp4"]["reason"] == "duplicate_id"
    assert "in the existing dataset" in found["e.mp4"]["message"]
    assert validate(str(output)) == []


def test_a_path_in_shard_prefix_commits_nothing(built, root):
    _, output, _ = built
    index = (output / "index.json").read_bytes()
    done = run(root, "build", "--input", "extra/*.mp4", "--output", "vids/out",
               "--shard-prefix", "../evil", *FLAGS, expect=2)
    assert "--shard-prefix '../evil' must be a plain name" in last_line(done)
    assert (output / "index.json").read_bytes() == index
    assert not list(root.glob("vids/evil*")) and validate(str(output)) == []


def test_retrying_colliding_ids_fails_them_again(built, root):
    _, output, _ = built
    run(root, "build", "--input", "lists/team1.csv", "--input", "lists/team2.csv",
        "--output", "vids/out", "--retry-failed", "all", *FLAGS, expect=1)
    found = by_name(output)
    assert found["c.mp4"]["reason"] == found["d.mp4"]["reason"] == "duplicate_id"
    assert validate(str(output)) == []
