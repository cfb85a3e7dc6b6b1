"""A model card for a train-idp model: how it was made and how well it labels."""
from __future__ import annotations

import os
import shlex
from typing import Dict

from training.config import TrainConfig

METRIC_NAMES = {
    "exact_match": "exact match", "bleu": "BLEU-4 (corpus, 0..1)", "rouge_l": "ROUGE-L F (0..1)",
    "swap_consistency": "order-swap consistency (reversed pair -> inverse action)",
    "label_preference": "true action scored above a wrong one",
    "verifier_accuracy": "verifier: true after-image ranked first",
}


def command_line(config: Dict) -> str:
    """The train-idp command that makes this config (defaults left out)."""
    words = ["idp-corpus", "train-idp"]
    for field, default in ((f.name, f.default) for f in TrainConfig.__dataclass_fields__.values()):
        value = config[field]
        if field in ("data", "output") or value != default:
            flag = "--" + field.replace("_", "-")
            if isinstance(value, bool):
                words.append(flag if value else f"--no-{field.replace('_', '-')}")
            else:
                words += [flag, str(value)]
    return shlex.join(words)


def _metrics_table(evaluation: Dict) -> str:
    sets = [name for name in ("held_out", "eval_set") if name in evaluation]
    failed = "".join(f"The {name.replace('_', ' ')} evaluation failed: {error}\n\n"
                     for name, error in sorted(evaluation.get("errors", {}).items()))
    if not sets:
        return failed or "No evaluation was run.\n"
    lines = ["| metric | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for key, name in METRIC_NAMES.items():
        values = [evaluation[s].get(key) for s in sets]
        if any(v is not None for v in values):
            lines.append(f"| {name} | " + " | ".join(
                "-" if v is None else f"{v:.3f}" for v in values) + " |")
    lines.append("| pairs | " + " | ".join(str(evaluation[s]["items"]) for s in sets) + " |")
    return failed + "\n".join(lines) + "\n"


def write_card(output: str, record: Dict) -> None:
    config = record["config"]
    history = record["history"]
    final_loss = f"{history[-1]['loss']:.4f}" if history else "n/a"
    text = f"""# IDP model trained by `idp-corpus train-idp`

An inverse-dynamics captioner: given a before image and an after image, it names the action
between them. Load it like any Hugging Face model (`AutoProcessor`,
`AutoModelForImageTextToText`) or pass this folder to `idp-corpus build --model`.

## How it was made

    {command_line(config)}

- start: {"a new small LLaVA-style model (training/tiny_model.py), tokenizer trained on the "
          "data's actions" if config["tiny"] else config["model"]}{" with LoRA" if config["lora"] else ""}
- seed {config["seed"]}; {config["steps"]} steps of {config["batch_size"]} pairs; peak learning
  rate {config["learning_rate"]}; final training loss {final_loss}
- data: {config["data"]}: {record["data"]["train_pairs"]} training pairs,
  {record["data"]["held_out_pairs"]} held out (whole image groups: a pair and its reversal together)
- {record["parameters"]:,} parameters; {record["seconds"]} s on {record["device"]}
  ({record["threads"]} threads); torch {record["versions"]["torch"]},
  transformers {record["versions"]["transformers"]}

## Evaluation (`idp-corpus eval-idp` metrics)

{_metrics_table(record["evaluation"])}
`training.json` beside this card holds the whole record: settings, loss curve, metrics.
"""
    with open(os.path.join(output, "README.md"), "w") as handle:
        handle.write(text)
