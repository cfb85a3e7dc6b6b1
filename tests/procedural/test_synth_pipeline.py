"""End to end: a procedural dataset through the real `idp-corpus build`, default filters on
(image pairs: all but the scene-cut filter, which is for consecutive frames).

Every scene must come out as a sample, labelled with its ground-truth action.
"""
import csv
import json

import pyarrow.parquet as pq
import pytest

from procedural.writer import write_synth

SCENES = 12
FRAMES = 24


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth-e2e")
    write_synth(str(folder), SCENES, seed=21, frames=FRAMES)
    return folder


def _build(build, source, output, *flags):
    summary = build("--input", source, "--output", output, "--no-caption", *flags,
                    "--direct_running_mode", "in_memory")
    run = summary["run"]
    assert not {key: value for key, value in run.items() if key.startswith("dropped_")}, run
    return run


def _samples(folder):
    import webdataset as wds
    index = json.loads((folder / "index.json").read_text())
    urls = [str(folder / shard["url"]) for shard in index["shards"]]
    return list(wds.WebDataset(urls, shardshuffle=False).decode().to_tuple("txt", "json"))


def test_labelled_videos_become_samples_with_their_actions(synth, tmp_path, build):
    run = _build(build, synth / "videos.csv", tmp_path)
    assert run["videos_decoded"] == run["triples_written"] == SCENES
    with open(synth / "videos.csv", newline="") as handle:
        labels = {row["id"]: row for row in csv.DictReader(handle)}
    samples = _samples(tmp_path)
    assert len(samples) == SCENES
    for action, meta in samples:
        row = labels[meta["video_id"]]
        assert action == meta["label"] == row["label"] and meta["class"] == row["class"]
        assert meta["action_source"] == "human"
        assert (meta["before_frame"], meta["after_frame"]) == (0, FRAMES - 1)


def test_aurora_pairs_forward_and_reversed_become_samples(synth, tmp_path, build):
    # Two pictures, not consecutive frames, with default filters: a bright shape appearing moves
    # the grey histogram as a cut does, yet the motion filters leave curated image pairs alone.
    run = _build(build, synth / "aurora.json", tmp_path)
    items = json.loads((synth / "aurora.json").read_text())
    assert run["triples_written"] == len(items) == 2 * SCENES
    samples = _samples(tmp_path)
    found = {meta["source_uri"].rsplit("#", 1)[-1]: action for action, meta in samples}
    assert found == {str(number): item["instruction"] for number, item in enumerate(items)}
    # Their motion scores are still recorded, and a flag judges them as video pairs.
    assert max(meta["scores"]["cut"] for _, meta in samples) > 0.08
    judged = build("--input", synth / "aurora.json", "--output", tmp_path / "judged",
                   "--no-caption", "--filter-image-pairs", "--direct_running_mode", "in_memory")
    assert judged["run"].get("dropped_scene_cut", 0) > 0


def test_unlabelled_videos_first_last_drop_nothing(synth, tmp_path, build):
    run = _build(build, f"{synth}/videos/*.mp4", tmp_path, "--sampler", "first_last")
    assert run["videos_decoded"] == run["triples_written"] == SCENES
    pairs = pq.read_table(tmp_path / "manifest/pairs.parquet").to_pylist()
    assert {(p["status"], p["before_frame"], p["after_frame"]) for p in pairs} == {
        ("kept", 0, FRAMES - 1)}
