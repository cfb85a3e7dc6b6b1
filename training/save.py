"""The end of a train-idp run: a plain saved model the pipeline loads, its metrics, its card."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
from typing import Callable, Dict, List

from training.card import write_card
from training.config import TrainConfig
from training.evaluate import evaluate, items_from_examples, items_from_manifest


def finish(config: TrainConfig, model, processor, device: str, held: List, counts: Dict,
           history: List[Dict], resumed_at: int, seconds: float, log: Callable[[str], None],
           num_train: int) -> Dict:
    import torch
    import transformers
    from training.lora import merge
    from transforms.caption.model import IdpModel

    model = merge(model).eval()
    processor.tokenizer.padding_side = "left"  # generation continues from the right end
    model.save_pretrained(config.output)
    processor.save_pretrained(config.output)

    idp = IdpModel(processor, model, device, revision=None, max_batch=64,
                   prompt_template=config.prompt_template or None)
    evaluation: Dict = {}
    sets = {"held_out": (lambda: items_from_examples(held)) if held else None,
            "eval_set": (lambda: items_from_manifest(config.eval_set)) if config.eval_set
            else None}
    for name, items in sets.items():
        if items is None:
            continue
        # The model is saved already; a failing evaluation must not lose its record and card.
        try:
            evaluation[name], _ = evaluate(idp, items(), config.prompt)
            log(f"train-idp: {name.replace('_', ' ')} {_summary(evaluation[name])}")
        except Exception as error:  # noqa: BLE001 - recorded in training.json and the card
            message = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
            evaluation.setdefault("errors", {})[name] = message
            log(f"train-idp: {name.replace('_', ' ')} evaluation failed ({message}); the "
                "model, training.json and card are written all the same")
    record = {
        "config": dataclasses.asdict(config), "data": {**counts, "train_pairs": num_train,
                                                       "held_out_pairs": len(held)},
        "parameters": sum(p.numel() for p in model.parameters()),
        "history": history, "resumed_at_step": resumed_at or None,
        "seconds": round(seconds, 1), "evaluation": evaluation,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "threads": torch.get_num_threads(), "device": device,
    }
    with open(os.path.join(config.output, "training.json"), "w") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    write_card(config.output, record)
    return record


def _summary(result: Dict) -> str:
    keys = ("exact_match", "bleu", "rouge_l", "swap_consistency", "label_preference",
            "verifier_accuracy")
    return ", ".join(f"{k} {result[k]:.3f}" for k in keys if result.get(k) is not None) + \
        f" ({result['items']} pairs)"
