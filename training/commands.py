"""The train-idp and eval-idp commands."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import List

from pipelines.flags import add_dataclass_flags, given, make, option
from training.config import TrainConfig
from transforms.caption.config import CaptionConfig


@dataclasses.dataclass(frozen=True)
class EvalArgs:
    """What eval-idp reads and writes, beside the caption settings it takes."""
    data: str = option("manifest or dataset folder / shard glob")
    output: str = option("folder for metrics.json, predictions.jsonl", "")


# The caption settings eval-idp takes, in its own words.
EVAL_HELP = {
    "model": "IDP model: hub id or folder",
    "batch_size": "pairs per forward pass",
    "max_new_tokens": "",
    "device": "auto, cpu or cuda",
    "prompt": "prompt text (default: the build's)",
    "prompt_template": "model text around the prompt, '{image}{image}{prompt}' style "
                       "(default: the chat template or the family's documented format)",
}


def _train(args: argparse.Namespace, beam_args: List[str]) -> int:
    try:
        config = make(TrainConfig, given(args))
    except ValueError as error:
        print(f"idp-corpus train-idp: {error}", file=sys.stderr)
        return 2
    from training.lora import NoLoraTargets
    from training.train import run
    try:
        record = run(config, log=lambda line: print(line, flush=True))
    except NoLoraTargets as error:
        print(f"idp-corpus train-idp: {error}", file=sys.stderr)
        return 2
    print(f"wrote {config.output} (model, README.md card, training.json)")
    errors = record["evaluation"].get("errors")
    if errors:
        print(f"idp-corpus train-idp: the model is saved, but its evaluation failed: "
              + "; ".join(f"{name}: {error}" for name, error in sorted(errors.items())),
              file=sys.stderr)
        return 1
    return 0


def _eval(args: argparse.Namespace, beam_args: List[str]) -> int:
    from training.evaluate import evaluate, items_from_examples, items_from_manifest
    from training.examples import read_examples
    from transforms.caption.handler import IdpModelHandler
    from transforms.caption.prompt import DEFAULT_PROMPT
    prompt = args.prompt or DEFAULT_PROMPT
    if os.path.splitext(args.data)[1] in (".jsonl", ".json", ".parquet", ".csv"):
        items = items_from_manifest(args.data)
    else:
        items = items_from_examples(read_examples(args.data)[0])
    if not items:
        print(f"idp-corpus eval-idp: no labelled pairs in {args.data}", file=sys.stderr)
        return 1
    model = IdpModelHandler(CaptionConfig(model=args.model, batch_size=args.batch_size,
                                          device=args.device,
                                          prompt_template=args.prompt_template)).load_model()
    result, rows = evaluate(model, items, prompt, args.max_new_tokens)
    result = {"model": args.model, "data": args.data, **result}
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, "metrics.json"), "w") as handle:
            json.dump(result, handle, indent=2, sort_keys=True)
        with open(os.path.join(args.output, "predictions.jsonl"), "w") as handle:
            handle.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


def add_training_commands(commands) -> None:
    train = commands.add_parser(
        "train-idp", allow_abbrev=False, help="fine-tune an IDP model on labelled shards",
        description="Train an inverse-dynamics captioner on (before, action, after) shards: loss "
                    "on the action tokens only, seeded, checkpointed (rerun the same command to "
                    "resume), evaluated at the end. The output folder is a model the pipeline "
                    "loads with --model.")
    add_dataclass_flags(train, TrainConfig, require_missing=True, parser_defaults=True)
    train.set_defaults(handler=_train)
    evaluate = commands.add_parser(
        "eval-idp", allow_abbrev=False, help="measure an IDP model on labelled pairs",
        description="Caption quality (exact match, BLEU, ROUGE-L), order-swap consistency, label "
                    "preference and verifier accuracy of an IDP model. DATA is a JSONL/Parquet "
                    "manifest (id, before, after, action, optional inverse, candidates, answer; "
                    "as `idp-corpus synth` writes pairs.jsonl) or labelled shards.")
    add_dataclass_flags(evaluate, CaptionConfig, ["model"], require_missing=True,
                        show_default=False, parser_defaults=True, command_help=EVAL_HELP)
    add_dataclass_flags(evaluate, EvalArgs, require_missing=True, show_default=False,
                        parser_defaults=True)
    add_dataclass_flags(evaluate, CaptionConfig,
                        ["batch_size", "max_new_tokens", "device", "prompt", "prompt_template"],
                        show_default=False, parser_defaults=True, command_help=EVAL_HELP)
    evaluate.set_defaults(handler=_eval)
