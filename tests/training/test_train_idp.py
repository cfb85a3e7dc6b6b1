"""train-idp and eval-idp for real, at toy scale: procedural shards made by the pipeline, a tiny
model trained a few steps through the real loop, checkpoints, resume, LoRA and the commands."""
import json

import pytest
from safetensors.torch import load_file

from training.config import TrainConfig
from training.train import run

STEPS = dict(steps=12, batch_size=8, warmup_steps=2, checkpoint_every=4, log_every=4)


@pytest.fixture(scope="module")
def synth(tmp_path_factory, cli):
    folder = tmp_path_factory.mktemp("synth")
    cli("synth", "--output", folder, "--n", "24", "--seed", "5", "--no-videos")
    return folder


@pytest.fixture(scope="module")
def shards(synth, build, tmp_path_factory):
    output = tmp_path_factory.mktemp("train-shards")
    build("--input", synth / "aurora.json", "--output", output, "--no-caption",
          "--direct_running_mode", "in_memory")  # image pairs, as models/make_tiny_idp.sh builds
    return output


@pytest.fixture(scope="module")
def trained(shards, synth, tmp_path_factory, cli):
    output = tmp_path_factory.mktemp("model")
    cli("train-idp", "--tiny", "--data", shards, "--output", output, "--eval-set",
        synth / "pairs.jsonl", "--held-out", "0.2",
        *[f"--{k.replace('_', '-')}={v}" for k, v in STEPS.items()])
    return output


def test_train_idp_writes_a_loadable_model_its_card_and_metrics(trained):
    from transformers import AutoModelForImageTextToText, AutoProcessor
    AutoProcessor.from_pretrained(trained)
    AutoModelForImageTextToText.from_pretrained(trained)
    record = json.loads((trained / "training.json").read_text())
    losses = [entry["loss"] for entry in record["history"]]
    assert len(losses) == 3 and losses[-1] < losses[0]  # it learns
    assert record["data"]["train_pairs"] + record["data"]["held_out_pairs"] == 48
    assert record["data"]["held_out_pairs"] % 2 == 0  # a pair and its reversal go together
    eval_set = record["evaluation"]["eval_set"]
    assert eval_set["items"] == 24 and eval_set["verifier_candidates"] == 4
    for key in ("exact_match", "bleu", "rouge_l", "swap_consistency", "label_preference",
                "verifier_accuracy"):
        assert 0.0 <= eval_set[key] <= 1.0
    card = (trained / "README.md").read_text()
    assert "idp-corpus train-idp --data" in card and "--tiny --steps 12" in card
    assert "verifier" in card


def test_eval_idp_command_writes_metrics_and_predictions(trained, synth, cli, tmp_path):
    cli("eval-idp", "--model", trained, "--data", synth / "pairs.jsonl", "--output", tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert metrics["items"] == len(rows) == 24
    assert sum(row["correct"] for row in rows) / 24 == pytest.approx(metrics["exact_match"])
    assert all(len(row["candidate_scores"]) == 4 and "swapped_prediction" in row for row in rows)


def test_a_killed_run_resumes_to_the_same_weights(shards, tmp_path):
    straight = TrainConfig(data=str(shards), output=str(tmp_path / "straight"), tiny=True,
                           held_out=0.0, **STEPS)
    run(straight, log=lambda line: None)

    class Killed(Exception):
        pass

    def kill_at_step_8(line):
        if line.startswith("step 8/"):
            raise Killed  # step 8 is logged before it is checkpointed: step 4's is the last
    interrupted = TrainConfig(**{**straight.__dict__, "output": str(tmp_path / "resumed")})
    with pytest.raises(Killed):
        run(interrupted, log=kill_at_step_8)
    lines = []
    run(interrupted, log=lines.append)
    assert any("resumed from" in line and "(step 4)" in line for line in lines)
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)


def test_resuming_with_other_settings_is_refused(shards, tmp_path):
    config = TrainConfig(data=str(shards), output=str(tmp_path), tiny=True, held_out=0.0,
                         **{**STEPS, "steps": 4})
    run(config, log=lambda line: None)
    with pytest.raises(ValueError, match="learning_rate"):
        run(TrainConfig(**{**config.__dict__, "learning_rate": 0.5}), log=lambda line: None)


def test_lora_changes_only_language_projections_and_projector(trained, shards, tmp_path):
    config = TrainConfig(data=str(shards), output=str(tmp_path), model=str(trained), lora=True,
                         lora_rank=4, held_out=0.0, **{**STEPS, "steps": 4})
    run(config, log=lambda line: None)
    before = load_file(trained / "model.safetensors")
    after = load_file(tmp_path / "model.safetensors")
    assert before.keys() == after.keys()  # merged: a plain model the pipeline loads
    changed = {name for name in before if not before[name].equal(after[name])}
    assert changed and all("proj" in name for name in changed)
    assert any("multi_modal_projector" in name for name in changed)
    assert not any("vision" in name for name in changed)
