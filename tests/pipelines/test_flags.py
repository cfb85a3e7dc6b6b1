"""The flag generator: one argument per dataclass field, as its metadata says."""
import argparse
import dataclasses
from typing import Optional, Tuple

import pytest

from pipelines.flags import add_dataclass_flags, field_of, flag_of, given, make, option


@dataclasses.dataclass(frozen=True)
class Section:
    inputs: Tuple[str, ...] = option("inputs", ())
    num_keyframes: int = option("keyframes", 6)
    threshold: Optional[float] = option("", None)
    strict: bool = option("be strict", False)


@dataclasses.dataclass(frozen=True)
class Command:
    dataset: str = option("dataset folder", positional=True)
    out: str = option("where to write")
    videos: bool = option("no videos", True, flag="--no-videos", action="store_false")
    since: Optional[int] = option("since VERSION", None, metavar="VERSION")


def parser_of(cls, **kwargs):
    parser = argparse.ArgumentParser(prog="x")
    add_dataclass_flags(parser, cls, **kwargs)
    return parser


def test_a_section_flag_left_out_parses_as_none_so_the_dataclass_default_applies():
    parser = parser_of(Section, section="sample")
    args = parser.parse_args(["--input", "a", "--input", "b", "--no-strict"])
    assert given(args) == {"inputs": ["a", "b"], "strict": False}
    assert make(Section, {**given(args), "inputs": ("a", "b")}) == Section(("a", "b"), strict=False)
    text = parser.format_help()
    assert "[sample] keyframes (default: 6)" in text and "--strict, --no-strict" in text
    assert flag_of("inputs") == "--input" and field_of("input") == "inputs"
    assert field_of("num-keyframes") == "num_keyframes"


def test_a_command_argument_parses_to_its_dataclass_default():
    parser = parser_of(Command, require_missing=True, show_default=False, parser_defaults=True)
    args = parser.parse_args(["ds", "--out", "o"])
    assert vars(args) == {"dataset": "ds", "out": "o", "videos": True, "since": None}
    assert parser.parse_args(["ds", "--out", "o", "--no-videos", "--since", "3"]).since == 3
    assert "--since VERSION" in parser.format_help()
    with pytest.raises(SystemExit):
        parser.parse_args(["ds"])  # --out has no default: required
