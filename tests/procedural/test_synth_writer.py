"""write_synth and `idp-corpus synth`: the files, their cross-references, and reproducibility."""
import argparse
import collections
import csv
import json

import av
import numpy as np
import pytest
from PIL import Image

from procedural.actions import CLASSES, inverse_text
from procedural.command import add_synth_command
from procedural.writer import write_synth

N = 6


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    counts = write_synth(str(folder), N, seed=3, size=96, frames=16, fps=8)
    return folder, counts


def _image(folder, path):
    return np.asarray(Image.open(folder / path).convert("RGB"))


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".mp4"}


def test_provenance_and_counts(synth):
    folder, counts = synth
    meta = json.loads((folder / "synth.json").read_text())
    assert meta == {"seed": 3, "n": N, "size": 96, "frames": 16, "fps": 8, "videos": True,
                    "reversed_pairs": True, "generator": "idp-corpus synth", "version": 1,
                    "counts": counts}
    assert set(counts) == set(CLASSES) and sum(counts.values()) == N
    lines = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [f"s3-{i:05d}" for i in range(N)]
    assert collections.Counter(line["kind"] for line in lines) == {
        kind: count for kind, count in counts.items() if count}


def test_candidates_hold_the_true_after_once_at_the_answer(synth):
    folder, _ = synth
    for line in map(json.loads, (folder / "pairs.jsonl").read_text().splitlines()):
        assert line["inverse"] == inverse_text(line["action"])
        candidates = line["candidates"]
        assert len(candidates) == len(set(candidates)) == 4
        assert candidates.count(line["after"]) == 1 and candidates[line["answer"]] == line["after"]
        before = _image(folder, line["before"])
        assert before.shape == (96, 96, 3)
        images = [_image(folder, path) for path in candidates]
        # Each alternative is another action's outcome: it differs from before and from after.
        for path, image in zip(candidates, images):
            if path != line["after"]:
                assert not np.array_equal(image, before)
                assert not np.array_equal(image, _image(folder, line["after"]))


def test_aurora_items_go_forward_and_back(synth):
    folder, _ = synth
    items = json.loads((folder / "aurora.json").read_text())
    lines = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    assert len(items) == 2 * N
    for line, forward, backward in zip(lines, items[0::2], items[1::2]):
        assert forward == {"instruction": line["action"], "input": line["before"],
                           "output": line["after"]}
        assert backward == {"instruction": line["inverse"], "input": line["after"],
                            "output": line["before"]}
        assert (folder / forward["input"]).is_file() and (folder / forward["output"]).is_file()


def test_videos_begin_at_before_and_end_at_after(synth):
    folder, _ = synth
    with open(folder / "videos.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = [json.loads(line) for line in (folder / "pairs.jsonl").read_text().splitlines()]
    assert list(rows[0]) == ["uri", "id", "label", "class", "inverse"]
    for row, line in zip(rows, lines):
        assert (row["id"], row["label"], row["class"], row["inverse"]) == (
            line["id"], line["action"], line["kind"], line["inverse"])
        assert row["uri"] == f"videos/{line['id']}.mp4"
        with av.open(str(folder / row["uri"])) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        assert len(frames) == 16 and frames[0].shape == (96, 96, 3)
        for frame, path in ((frames[0], line["before"]), (frames[-1], line["after"])):
            assert np.abs(frame.astype(int) - _image(folder, path)).mean() < 4  # H.264 is lossy


def test_same_seed_same_bytes_other_seed_other_scenes(synth, tmp_path):
    folder, _ = synth
    write_synth(str(tmp_path / "again"), N, seed=3, size=96, frames=16, fps=8)
    assert _files(tmp_path / "again") == _files(folder)
    write_synth(str(tmp_path / "other"), 2, seed=4, size=96, videos=False)
    assert (tmp_path / "other/pairs/s4-00000-before.png").read_bytes() != \
        (folder / "pairs/s3-00000-before.png").read_bytes()


def test_without_videos_or_reversed_items(synth, tmp_path):
    write_synth(str(tmp_path), 3, seed=3, size=64, videos=False, reversed_pairs=False)
    assert not (tmp_path / "videos").exists() and not (tmp_path / "videos.csv").exists()
    assert len(json.loads((tmp_path / "aurora.json").read_text())) == 3
    # An episode depends on (seed, index) only, not on n or the image size.
    actions = [json.loads(line)["action"] for line in (tmp_path / "pairs.jsonl").open()]
    assert actions == [json.loads(line)["action"] for line in (synth[0] / "pairs.jsonl").open()][:3]


def test_bad_arguments_are_refused(tmp_path):
    for kwargs in ({"size": 97}, {"frames": 3}, {"n": 0}):
        with pytest.raises(ValueError):
            write_synth(str(tmp_path), **{"n": 1, "seed": 0, **kwargs})


def test_synth_command(tmp_path, capsys):
    top = argparse.ArgumentParser()
    add_synth_command(top.add_subparsers(dest="command"))
    args = top.parse_args(["synth", "--output", str(tmp_path), "--n", "2", "--seed", "1",
                           "--size", "64", "--no-videos", "--no-reversed", "--frames", "8"])
    assert args.handler(args, []) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote 2 scenes to {tmp_path}") and out.count("\n") == 1
    assert len(json.loads((tmp_path / "aurora.json").read_text())) == 2
    assert json.loads((tmp_path / "synth.json").read_text())["frames"] == 8
    args = top.parse_args(["synth", "--output", str(tmp_path), "--n", "1", "--seed", "1",
                           "--size", "63"])
    assert args.handler(args, []) == 2
