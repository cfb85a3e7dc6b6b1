"""`idp-corpus synth`: write a procedural dataset with known actions."""
from __future__ import annotations

import argparse
import sys
from typing import List


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
    synth.add_argument("--output", required=True, help="local folder to write into")
    synth.add_argument("--n", type=int, required=True, help="number of scenes")
    synth.add_argument("--seed", type=int, required=True, help="random seed")
    synth.add_argument("--size", type=int, default=128, help="image side, pixels (even)")
    synth.add_argument("--no-videos", dest="videos", action="store_false",
                       help="write image pairs only, no videos")
    synth.add_argument("--no-reversed", dest="reversed", action="store_false",
                       help="no reversed (after, inverse action, before) items in aurora.json")
    synth.add_argument("--frames", type=int, default=24, help="frames per video")
    synth.add_argument("--fps", type=int, default=12, help="video frame rate")
    synth.set_defaults(handler=_synth)
