"""`idp-corpus synth`: write a procedural dataset with known actions."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import List

from pipelines.flags import add_dataclass_flags, option


@dataclasses.dataclass(frozen=True)
class SynthArgs:
    output: str = option("local folder to write into")
    n: int = option("number of scenes")
    seed: int = option("random seed")
    size: int = option("image side, pixels (even)", 128)
    videos: bool = option("write image pairs only, no videos", True,
                           flag="--no-videos", action="store_false")
    reversed: bool = option("no reversed (after, inverse action, before) items in aurora.json",
                             True, flag="--no-reversed", action="store_false")
    frames: int = option("frames per video", 24)
    fps: int = option("video frame rate", 12)


def _synth(args: argparse.Namespace, beam_args: List[str]) -> int:
    from procedural.writer import write_synth  # numpy, OpenCV, PyAV: only when the command runs
    try:
        counts = write_synth(args.output, args.n, args.seed, size=args.size,
                             videos=args.videos, reversed_pairs=args.reversed,
                             frames=args.frames, fps=args.fps)
    except ValueError as error:
        print(f"idp-corpus synth: {error}", file=sys.stderr)
        return 2
    written = ["aurora.json", "pairs.jsonl"] + (["videos.csv"] if args.videos else [])
    kinds = ", ".join(f"{kind} {count}" for kind, count in counts.items())
    print(f"wrote {args.n} scenes to {args.output} ({', '.join(written)}, synth.json): {kinds}")
    return 0


def add_synth_command(commands) -> None:
    """Adds `synth` to the `idp-corpus` subcommands (argparse subparsers)."""
    synth = commands.add_parser(
        "synth", allow_abbrev=False,
        help="write a procedural dataset: shapes, known actions, image pairs and videos",
        description="Write N procedural scenes (flat shapes on textured backgrounds) with a "
                    "known action each: before/after PNGs and verifier candidates "
                    "(pairs.jsonl), an AURORA-format aurora.json, H.264 videos with a labelled "
                    "videos.csv manifest, and synth.json. The same seed writes the same files.")
    add_dataclass_flags(synth, SynthArgs, require_missing=True, show_default=False,
                        parser_defaults=True)
    synth.set_defaults(handler=_synth)
