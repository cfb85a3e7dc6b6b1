"""Labelled sources (AURORA JSON, class-labelled video manifests) become human-labelled samples
through the same filters and writer; stratified top-K keeps K and marks the rest."""
import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.validate import validate
from synthetic_inputs.videos import scene_frames


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, video_folder):
    folder = tmp_path_factory.mktemp("labelled")
    frames = list(scene_frames(num_frames=40, motion_spans=((0, 40),), speed=3))
    Image.fromarray(frames[0]).save(folder / "p0-before.png")
    Image.fromarray(frames[30]).save(folder / "p0-after.png")
    Image.fromarray(frames[5]).save(folder / "p1-before.png")
    Image.fromarray(np.ascontiguousarray(frames[35][:100, :150])).save(folder / "p1-after.png")
    aurora = [
        {"instruction": "move the yellow square right", "input": "p0-before.png",
         "output": "p0-after.png"},
        {"instruction": "slide the square to the right", "input": "p1-before.png",
         "output": str(folder / "p1-after.png")},
        {"instruction": "no after image", "input": "p0-before.png", "output": ""},
    ]
    (folder / "aurora.json").write_text(json.dumps(aurora))
    shutil.copy(video_folder / "a.mp4", folder / "clip-a.mp4")
    shutil.copy(video_folder / "c.mkv", folder / "clip-b.mkv")
    (folder / "clips.csv").write_text(
        "uri,label,class,license\nclip-a.mp4,push the square,pushing,CC-BY-4.0\n"
        "clip-b.mkv,drag the square,dragging,CC0\n")
    return folder


@pytest.fixture(scope="module")
def built(inputs, tiny_vlm_path, tmp_path_factory, build):
    output = tmp_path_factory.mktemp("labelled-out")
    summary = build("--input", inputs / "aurora.json", "--input", inputs / "clips.csv",
                    "--output", output, "--model", tiny_vlm_path, "--qc-policy", "flag",
                    "--max-cut", "1.0", "--direct_running_mode", "in_memory")
    return summary, output


def samples(folder):
    import webdataset as wds
    index = json.loads((folder / "index.json").read_text())
    urls = [str(folder / s["url"]) for s in index["shards"]]
    return list(wds.WebDataset(urls, shardshuffle=False).decode("pil").to_tuple(
        "txt", "json", "change.npy"))


def test_labelled_sources_become_human_labelled_samples(built):
    summary, output = built
    found = {meta["source_uri"].rsplit("/", 1)[-1]: (action, meta, change)
             for action, meta, change in samples(output)}
    assert set(found) == {"aurora.json#0", "aurora.json#1", "clip-a.mp4", "clip-b.mkv"}
    for name, label in (("aurora.json#0", "move the yellow square right"),
                        ("clip-a.mp4", "push the square"), ("clip-b.mkv", "drag the square")):
        action, meta, change = found[name]
        assert action == label == meta["label"] and meta["action_source"] == "human"
        assert meta["idp_score"] < 0 and meta["caption_model"]["decoding"] == "teacher_forced"
        assert change.shape == (16, 16) and change.dtype == np.float16
    clip = found["clip-a.mp4"][1]
    assert (clip["before_frame"], clip["after_frame"]) == (0, 119)  # first and last frame
    assert clip["class"] == "pushing" and clip["license"] == "CC-BY-4.0"
    assert found["aurora.json#1"][1]["sampler"] == "image_pair"
    videos = {r["uri"].rsplit("/", 1)[-1]: r
              for r in pq.read_table(output / "manifest/videos.parquet").to_pylist()}
    assert videos["aurora.json#2"]["reason"] == "incomplete_pair"
    assert validate(str(output)) == []


def test_licence_filtering_from_the_manifest_alone(built):
    _, output = built
    pairs = pq.read_table(output / "manifest/pairs.parquet",
                          filters=[("license", "=", "CC0"), ("status", "=", "kept")])
    assert [row["label"] for row in pairs.to_pylist()] == ["drag the square"]


def test_stratified_top_k_keeps_k_and_marks_the_rest(inputs, tiny_vlm_path, tmp_path, build):
    summary = build("--input", inputs / "aurora.json", "--input", inputs / "clips.csv",
                    "--output", tmp_path / "top", "--model", tiny_vlm_path, "--qc-policy", "flag",
                    "--max-cut", "1.0", "--select-top-k", "3",
                    "--direct_running_mode", "in_memory")
    assert summary["dataset"]["triples"] == 3
    rows = pq.read_table(tmp_path / "top" / "manifest/pairs.parquet").to_pylist()
    dropped = [r for r in rows if r["reason"] == "not_selected"]
    kept = [r for r in rows if r["status"] == "kept"]
    assert len(dropped) == 1 and dropped[0]["idp_score"] is not None
    # Three strata (the two classes and the AURORA file): one of each is kept.
    assert {r["class"] or "aurora" for r in kept} == {"pushing", "dragging", "aurora"}
    assert validate(str(tmp_path / "top")) == []
