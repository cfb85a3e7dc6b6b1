"""Command lines that fail on what they do not understand, instead of dropping it.

idp-corpus hands the arguments it does not know to Apache Beam, and Beam discards what it does
not know either, with only a warning ("Discarding unparseable args"): a mistyped flag or the
second file of an unquoted glob (`--input v/*.mp4`, expanded by the shell) would be lost in
silence. So the leftovers are parsed here against every Beam pipeline option, the way Beam
itself does, and anything still left is refused, naming the closest valid option.
"""
from __future__ import annotations

import argparse
import difflib
from typing import Iterable, List, Optional


def beam_parser():
    """Every pipeline option Beam knows, in the parser Beam builds for them."""
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser
    parser = _BeamArgumentParser(allow_abbrev=False)
    classes = {}
    for cls in PipelineOptions.__subclasses__():  # as PipelineOptions.get_all_options does
        classes.setdefault(str(cls), cls)
    for cls in classes.values():
        cls._add_argparse_args(parser)  # pylint: disable=protected-access
    return parser


def option_strings(parser: argparse.ArgumentParser) -> List[str]:
    return [name for action in parser._actions for name in action.option_strings
            if name.startswith("--")]


def leftover_problem(leftovers: List[str], own: argparse.ArgumentParser) -> Optional[str]:
    """None when every leftover argument is a Beam pipeline option; else one line saying which
    argument is not understood and what was probably meant."""
    if not leftovers:
        return None
    beam = beam_parser()
    _, unknown = beam.parse_known_args(leftovers)
    if not unknown:
        return None
    return unknown_problem(unknown, own, option_strings(beam))


def unknown_problem(unknown: List[str], own: argparse.ArgumentParser,
                    more: Iterable[str] = ()) -> str:
    """One line on the first argument nobody understood."""
    first = unknown[0]
    if not first.startswith("-"):
        return (f"unexpected argument {first!r}: each option takes one value. If your shell "
                f"expanded a glob (--input v/*.mp4), quote it: --input 'v/*.mp4'; give several "
                f"inputs as --input A --input B")
    name = first.split("=", 1)[0]
    return f"unknown option {name}" + closest(name, [*option_strings(own), *more])


def closest(name: str, candidates: Iterable[str]) -> str:
    found = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else " (see --help)"
