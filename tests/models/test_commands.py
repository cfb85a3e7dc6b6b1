"""The commands end to end on three families whose inputs differ most from LLaVA's (PaliGemma:
token-type ids, labels, no chat template; Mllama: images grouped per prompt, cross-attention
masks; Idefics3: crops per prompt, pixel attention masks): `build` with labelled image pairs
(scored) and a video (captioned) in multi-pair batches, `caption` of that dataset, `score` of it,
and `train-idp` on it, whose model then captions. The other families go through the handler
(test_conformance.py, test_training.py). The commands run through the CLI's own `main` in this
process (an interpreter start per command would cost more than the work at this size); build
and score still check the model in a child process, as for a user."""
import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.validate import validate
from synthetic_inputs.videos import scene_frames
from tests.models.test_conformance import pictures
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler

COMMAND_FAMILIES = ["idefics3", "mllama", "paligemma"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, video_folder):
    """Three labelled AURORA pairs of different sizes and one unlabelled video."""
    folder = tmp_path_factory.mktemp("family-inputs")
    frames = list(scene_frames(num_frames=40, motion_spans=((0, 40),), speed=3))
    items = []
    for i, (start, crop) in enumerate([(0, None), (5, (100, 150)), (10, (120, 90))]):
        after = frames[start + 25] if crop is None else frames[start + 25][:crop[0], :crop[1]]
        Image.fromarray(frames[start]).save(folder / f"p{i}-before.png")
        Image.fromarray(np.ascontiguousarray(after)).save(folder / f"p{i}-after.png")
        items.append({"instruction": ["move the square right", "slide the square",
                                      "push the square"][i],
                      "input": f"p{i}-before.png", "output": f"p{i}-after.png"})
    (folder / "aurora.json").write_text(json.dumps(items))
    shutil.copy(video_folder / "a.mp4", folder / "clip.mp4")
    return folder


def sources(dataset):
    import webdataset as wds
    index = json.loads((dataset / "index.json").read_text())
    urls = [str(dataset / shard["url"]) for shard in index["shards"]]
    return [json.loads(meta)["action_source"] for (meta,) in
            wds.WebDataset(urls, shardshuffle=False).to_tuple("json")]


def command(capsys, *args, expect=0):
    """`idp-corpus ARGS`, its exit code checked; returns its stdout."""
    from pipelines.cli import main
    capsys.readouterr()
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    assert code == expect, err[-3000:]
    return out


@pytest.mark.parametrize("name", COMMAND_FAMILIES)
def test_build_caption_score_and_train_idp(name, families, inputs, tmp_path, capsys):
    model = families.path(name)
    dataset = tmp_path / "dataset"
    summary = json.loads(command(
        capsys, "build", "--input", inputs / "aurora.json", "--input", inputs / "clip.mp4",
        "--output", dataset, "--model", model, "--batch-size", "8", "--max-new-tokens", "6",
        "--max-cut", "1.0", "--qc-policy", "flag", "--direct_running_mode", "in_memory"))
    assert summary["run"].get("dropped_caption_failed", 0) == 0, summary["run"]
    found = sources(dataset)
    assert found.count("human") == 3 and "idp" in found, found
    assert validate(str(dataset)) == []

    command(capsys, "caption", dataset, "--model", model, "--batch-size", "8",
            "--max-new-tokens", "6", "--qc-policy", "flag", "--direct_running_mode", "in_memory")
    assert validate(str(dataset)) == []

    out = command(capsys, "score", dataset, "--output", tmp_path / "scores", "--model", model,
                  "--batch-size", "8", "--direct_running_mode", "in_memory")
    rows = pq.read_table(tmp_path / "scores" / "scores.parquet").to_pylist()
    assert rows and all(row["error"] is None and row["rank"] == 1 for row in rows)
    assert out.strip().endswith(f"{len(rows)} candidates scored, 0 failed")

    trained = tmp_path / "trained"
    command(capsys, "train-idp", "--model", model, "--data", dataset, "--output", trained,
            "--steps", "2", "--batch-size", "4", "--held-out", "0", "--warmup-steps", "1",
            "--device", "cpu", *(["--lora", "--lora-rank", "4"] if name == "mllama" else []))
    assert json.loads((trained / "training.json").read_text())["history"]
    loaded = IdpModelHandler(CaptionConfig(model=str(trained), device="cpu")).load_model()
    assert len(loaded.caption(pictures(2, 1), pictures(2, 2), "what changed?", 4)) == 2
