"""The `idp-corpus` command line."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import List, Optional

from pipelines import command_options as opts
from pipelines import config as build_options
from pipelines import failure
from pipelines.flags import add_dataclass_flags, given, make
from transforms.caption.config import CaptionConfig


def _build(args: argparse.Namespace, beam_args: List[str]) -> int:
    from pipelines.build import run
    try:
        config = build_options.build_config(args)
    except (ValueError, TypeError) as error:
        print(f"idp-corpus build: {error}", file=sys.stderr)
        return 2
    from pipelines.preflight import PreflightError
    try:
        summary = run(config, beam_args)
    except PreflightError as error:
        print(f"idp-corpus build: preflight failed, nothing was started: {error}",
              file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - whatever stopped the run, its cause last
        return failure.report("build", error, config.write.output)
    print(json.dumps(summary, indent=2, sort_keys=True))
    _note_input_fixes(summary["run"])
    return _judge_empty_output(summary)


def _note_input_fixes(run: dict) -> None:
    """What discovery changed in the inputs, said once beside the summary's counters."""
    from transforms.labels import MAX_LABEL_CHARS
    if run.get("labels_truncated"):
        print(f"idp-corpus build: {run['labels_truncated']} label(s) longer than "
              f"{MAX_LABEL_CHARS} characters were cut to {MAX_LABEL_CHARS}", file=sys.stderr)
    if run.get("duplicate_inputs_merged"):
        print(f"idp-corpus build: {run['duplicate_inputs_merged']} input(s) named a source "
              "another input also names; each source was taken once", file=sys.stderr)


def _judge_empty_output(summary: dict) -> int:
    """Zero triples from videos that were there is an error, unless filters legitimately
    dropped every pair; either way the summary says which."""
    run = summary["run"]
    decoded, failed = run.get("videos_decoded", 0), run.get("videos_failed", 0)
    if run.get("triples_written", 0) or not decoded + failed:
        return 0
    if not decoded:
        print(f"idp-corpus build: all {failed} videos failed; see manifest/videos.parquet",
              file=sys.stderr)
        return 1
    from transforms.metrics import dropped_by_reason
    drops = dropped_by_reason(run)
    print(f"idp-corpus build: 0 triples: {decoded} videos decoded, "
          f"{run.get('pairs_sampled', 0)} pairs sampled, every one dropped by the filters "
          f"{drops}; see manifest/pairs.parquet", file=sys.stderr)
    return 0


def _samples(args: argparse.Namespace, beam_args: List[str]) -> int:
    from pipelines.demo_inputs import write_demo_inputs
    for line in write_demo_inputs(args.output, args.count, args.seed):
        print(line)
    return 0


def _score(args: argparse.Namespace, beam_args: List[str]) -> int:
    import apache_beam as beam
    from pipelines.build import pipeline_options
    from pipelines.score import compose
    values = given(args)
    if not values.get("prompt"):
        values.pop("prompt", None)  # an empty --prompt: the build's
    try:
        config = make(CaptionConfig, values)
    except ValueError as error:
        print(f"idp-corpus score: {error}", file=sys.stderr)
        return 2
    from pipelines.preflight import check_caption_model
    problem = check_caption_model(config)
    if problem:
        print(f"idp-corpus score: {problem}", file=sys.stderr)
        return 2
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        compose(pipeline, args.input, args.output, config)
    from pipelines.score import outcome
    counts = outcome(args.output)
    if counts["failed"] == counts["candidates"]:
        print(f"idp-corpus score: none of the {counts['candidates']} candidates could be scored; "
              f"reasons in {args.output}/scores.parquet (reason, error)", file=sys.stderr)
        return 1
    print(f"wrote {args.output}/scores.parquet and {args.output}/best.jsonl: "
          f"{counts['candidates'] - counts['failed']} candidates scored, {counts['failed']} failed"
          + (" (reason, error columns)" if counts["failed"] else ""))
    return 0


def _inspect(args: argparse.Namespace, beam_args: List[str]) -> int:
    from pipelines.inspect import render, summary
    from pipelines.readers import NotADataset, open_dataset
    try:
        info = summary(open_dataset(args.dataset))
    except NotADataset as error:
        print(f"idp-corpus inspect: {error}", file=sys.stderr)
        return 1
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else render(info))
    return 0


def _export(args: argparse.Namespace, beam_args: List[str]) -> int:
    from pipelines.export import NothingToExport, export_aurora, target_problem
    from pipelines.readers import NotADataset, open_dataset
    problem = target_problem(args.out, args.name)
    if problem:
        print(f"idp-corpus export: {problem}", file=sys.stderr)
        return 2
    try:
        counts = export_aurora(open_dataset(args.dataset), args.out, args.name)
    except (NotADataset, NothingToExport) as error:
        print(f"idp-corpus export: {error}", file=sys.stderr)
        return 1
    print(f"wrote {counts['exported']} items to {args.out.rstrip('/')}/{args.name}.json "
          f"({counts['skipped_no_action']} triples without an action skipped)")
    return 0


def _recaption(args: argparse.Namespace, beam_args: List[str]) -> int:
    import apache_beam as beam
    from pipelines.build import pipeline_options
    from pipelines.recaption import compose
    try:
        caption, qc, select, write = build_options.recaption_configs(args, args.dataset)
    except (ValueError, TypeError) as error:
        print(f"idp-corpus caption: {error}", file=sys.stderr)
        return 2
    from pipelines.config import LeaseConfig
    from pipelines.preflight import PreflightError
    from pipelines.run_lease import holding
    lease = LeaseConfig(**{name: getattr(args, name) for name in ("wait", "lease_timeout",
                                                                  "break_lease")
                           if getattr(args, name) is not None})
    try:
        with holding(args.dataset, lease, beam_args) as (run, base):
            with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
                compose(pipeline, args.dataset, caption, qc, select, write, run, base)
    except PreflightError as error:
        print(f"idp-corpus caption: nothing was started: {error}", file=sys.stderr)
        return 2
    from pipelines.validate import validate
    problems = validate(args.dataset)
    print(f"{args.dataset}: re-captioned into a new version"
          + (f"; {len(problems)} problem(s): {problems[:3]}" if problems else ""))
    return 1 if problems else 0


def _validate(args: argparse.Namespace, beam_args: List[str]) -> int:
    from pipelines.validate import validate
    problems = validate(args.dataset, args.since)
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{args.dataset}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


BEAM_COMMANDS = ("build", "caption", "score")  # the rest take no Apache Beam options
# The caption settings `score` takes, in the words of a likelihood pass (no text generated).
SCORE_FIELDS = ("model", "batch_size", "device", "prompt", "prompt_template")
SCORE_HELP = {
    "model": "IDP model: hub id, folder or URL",
    "batch_size": "pairs per forward pass",
    "device": "auto, cpu or cuda",
    "prompt": "prompt text (default: the build's)",
    "prompt_template": "model text around the prompt, '{image}{image}{prompt}' style, for a "
                       "processor without a chat template (default: the build's)",
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="idp-corpus",
        description="Turn unlabelled video into (before, action, after) WebDataset shards, "
                    "labelled by an inverse-dynamics vision-language model.")
    commands = top.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="build a dataset from videos", allow_abbrev=False,
        description="Build a dataset: discover videos, sample frame pairs, filter, caption with "
                    "an IDP model, write WebDataset shards and manifests. Options not listed "
                    "here go to Apache Beam (e.g. --runner DataflowRunner, --direct_num_workers "
                    "N, --direct_running_mode in_memory).")
    build_options.add_flags(build)
    build.set_defaults(handler=_build)
    recaption = commands.add_parser(
        "caption", allow_abbrev=False,
        help="caption an existing dataset again (another model), without decoding any video",
        description="Re-caption every pair of an existing dataset (one built with --no-caption "
                    "too) from its shards: new shards and a new dataset version; the videos are "
                    "not decoded again. Other options go to Apache Beam.")
    add_dataclass_flags(recaption, opts.RecaptionArgs)
    build_options.add_section_flags(recaption, build_options.RECAPTION_SECTIONS)
    recaption.set_defaults(handler=_recaption)
    score = commands.add_parser(
        "score", allow_abbrev=False,
        help="verifier: rank candidate after-images by the IDP likelihood of an action",
        description="Score each candidate (before, action, candidate after) by the IDP model's "
                    "likelihood of the action, rank candidates per item, keep the best. INPUT "
                    "is a JSONL/Parquet manifest (id, before, action, candidates) or a dataset "
                    "folder. Other options go to Apache Beam.")
    add_dataclass_flags(score, opts.ScoreArgs, require_missing=True, show_default=False,
                        parser_defaults=True)
    add_dataclass_flags(score, CaptionConfig, SCORE_FIELDS, require_missing=True,
                        show_default=False, parser_defaults=True, command_help=SCORE_HELP)
    score.set_defaults(handler=_score)
    validate = commands.add_parser("validate", help="check a dataset end to end")
    add_dataclass_flags(validate, opts.ValidateArgs, show_default=False, parser_defaults=True)
    validate.set_defaults(handler=_validate)
    inspect = commands.add_parser("inspect", help="summarise a dataset: counts, shards, "
                                                   "reasons, score quantiles, sample actions")
    add_dataclass_flags(inspect, opts.InspectArgs, show_default=False, parser_defaults=True)
    inspect.set_defaults(handler=_inspect)
    export = commands.add_parser(
        "export", help="write a dataset in another format (aurora: AURORA-style JSON)",
        description="Write the dataset's triples in another format. aurora: OUT/NAME.json, a "
                    "list of {instruction, input, output} with the images under OUT/images/.")
    add_dataclass_flags(export, opts.ExportArgs, require_missing=True, show_default=False,
                        parser_defaults=True)
    export.set_defaults(handler=_export)
    samples = commands.add_parser(
        "samples", help="write synthetic sample videos and a tiny random IDP model (offline demo)")
    add_dataclass_flags(samples, opts.SamplesArgs, show_default=False, parser_defaults=True)
    samples.set_defaults(handler=_samples)
    from procedural.command import add_synth_command
    from training.commands import add_training_commands
    add_synth_command(commands)
    add_training_commands(commands)
    return top


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    top = parser()
    args, beam_args = top.parse_known_args(argv)
    if beam_args:
        from pipelines.strict_args import leftover_problem, unknown_problem
        own = next(action.choices[args.command] for action in top._actions
                   if isinstance(action, argparse._SubParsersAction))
        problem = (leftover_problem(beam_args, own) if args.command in BEAM_COMMANDS
                   else unknown_problem(beam_args, own))
        if problem:
            print(f"idp-corpus {args.command}: {problem}", file=sys.stderr)
            return 2
    try:
        return args.handler(args, beam_args)
    except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - any command: cause last
        where = getattr(args, "output", None) or getattr(args, "dataset", None) or "OUT"
        return failure.report(args.command, error, str(where))


def entry() -> None:
    """Console-script entry. Exits without running native libraries' static destructors: at
    interpreter shutdown pyarrow's and OpenCV's/FFmpeg's thread pools sometimes abort the process
    ("terminate called without an active exception") after all work is done, which would turn a
    finished run into a crash exit code."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()
