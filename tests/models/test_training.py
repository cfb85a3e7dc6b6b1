"""train-idp on every family of the suite: a few steps through the real loop (loss falls), saved,
reloaded by the pipeline's loading code and captioning; plain and with --lora, whose merged
model differs from its start only in the language model's projections and the projector."""
import numpy as np
import pytest
from safetensors.torch import load_file

from tests.models.families import FAMILIES
from tests.models.test_conformance import pictures
from training.config import TrainConfig
from training.train import run
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.jpeg import encode_jpeg
from transforms.caption.prompt import DEFAULT_PROMPT
from transforms.tar_shard import write_samples

ACTIONS = ["open the drawer", "close the drawer", "cut the bread", "fold the towel"]
STEPS = dict(steps=4, batch_size=4, warmup_steps=1, log_every=1, checkpoint_every=100,
             learning_rate=3e-3, held_out=0.25, seed=1)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Eight labelled pairs of different sizes in one shard, as a build writes them."""
    folder = tmp_path_factory.mktemp("labelled")
    befores, afters = pictures(8, 1), pictures(8, 4)
    samples = [{"__key__": f"pair{i:02d}", "before.jpg": encode_jpeg(befores[i], 90),
                "after.jpg": encode_jpeg(afters[i], 90), "txt": ACTIONS[i % 4].encode()}
               for i in range(8)]
    with open(folder / "shard-000000.tar", "wb") as stream:
        write_samples(stream, samples)
    return str(folder / "*.tar")


def train(families, name, shards, output, **extra):
    lines = []
    record = run(TrainConfig(data=shards, output=str(output), model=families.path(name),
                             device="cpu", **{**STEPS, **extra}), log=lines.append)
    return record, lines


def caption_with(path):
    model = IdpModelHandler(CaptionConfig(model=str(path), device="cpu")).load_model()
    befores, afters = pictures(2, 3), pictures(2, 5)
    return model.caption(befores, afters, DEFAULT_PROMPT, 4)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_trains_saves_reloads_and_captions(name, families, shards, tmp_path):
    record, lines = train(families, name, shards, tmp_path)
    losses = [entry["loss"] for entry in record["history"]]
    assert len(losses) == STEPS["steps"] and losses[-1] < losses[0], (name, losses)
    assert "errors" not in record["evaluation"], record["evaluation"]
    assert record["evaluation"]["held_out"]["items"] >= 1
    assert (tmp_path / "training.json").exists() and (tmp_path / "README.md").exists()
    answers = caption_with(tmp_path)
    assert len(answers) == 2 and all(isinstance(text, str) for text, *_ in answers)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_lora_trains_the_language_projections_and_the_projector(name, families, shards,
                                                                tmp_path):
    record, lines = train(families, name, shards, tmp_path, lora=True, lora_rank=4,
                          learning_rate=1e-2, held_out=0.0)
    losses = [entry["loss"] for entry in record["history"]]
    assert losses[-1] < losses[0], (name, losses)
    before = load_file(f"{families.path(name)}/model.safetensors")
    after = load_file(tmp_path / "model.safetensors")
    assert before.keys() == after.keys()  # merged: a plain model the pipeline loads
    changed = {key for key in before if not before[key].equal(after[key])}
    said = next(line for line in lines if "LoRA on" in line)
    projector = said.split("in full: ")[-1].split(", ") if "trained in full" in said else []
    # Some families' saved names drop the wrapper's "model." prefix (their checkpoint layout).
    prefixes = tuple(f"{name}." for p in projector for name in (p, p.removeprefix("model.")))
    in_projector = {key for key in changed if key.startswith(prefixes)}
    assert changed - in_projector, "no language projection changed"
    for key in changed - in_projector:  # the rest: the decoder's attention and MLP projections
        assert key.endswith(".weight") and "vision" not in key and "vq" not in key, key
    if name not in ("chameleon", "emu3"):  # images enter as VQ tokens: there is no projector
        assert projector and in_projector, (name, said)
    assert len(caption_with(tmp_path)) == 2


def test_a_failing_evaluation_loses_neither_the_model_nor_its_record(families, shards, tmp_path,
                                                                     monkeypatch):
    import json

    import training.save

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(training.save, "evaluate", broken)
    record, lines = train(families, "llava", shards, tmp_path, steps=1)
    assert record["evaluation"]["errors"] == {"held_out": "RuntimeError: evaluation broke"}
    assert json.loads((tmp_path / "training.json").read_text())["evaluation"]["errors"]
    card = (tmp_path / "README.md").read_text()
    assert "evaluation failed: RuntimeError: evaluation broke" in card
    assert any("evaluation failed" in line for line in lines)
    assert len(caption_with(tmp_path)) == 2
