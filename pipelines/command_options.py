"""The arguments of each `idp-corpus` command that are no field of a config section: what to
read and where to write, and the build's switches. Flags come from these fields, as from the
sections' (pipelines/flags.py)."""
from __future__ import annotations

import dataclasses
from typing import Optional

from pipelines.flags import option


@dataclasses.dataclass(frozen=True)
class BuildSwitches:
    """The build's flags beside its config sections, read with them (pipelines/config.py)."""
    config: Optional[str] = option("YAML file of options; flags given here override it", None)
    no_caption: bool = option(
        "write pairs without actions (no model needed); caption them later", False,
        action="store_true")
    allow_empty_input: bool = option(
        "let an --input that matches nothing pass preflight (a glob for files that may not be "
        "there yet)", False, action="store_true")
    skip_preflight: bool = option(
        "skip the checks run before any work (output writable, inputs match, decoders work, the "
        "model captions a test pair)", False, action="store_true")


@dataclasses.dataclass(frozen=True)
class RecaptionArgs:
    dataset: str = option("dataset folder or fsspec URL", positional=True)


@dataclasses.dataclass(frozen=True)
class ScoreArgs:
    input: str = option("manifest (.jsonl/.parquet) or dataset folder", positional=True)
    output: str = option("folder for scores.parquet, best.jsonl")


@dataclasses.dataclass(frozen=True)
class ValidateArgs:
    dataset: str = option("dataset folder or fsspec URL", positional=True)
    since: Optional[int] = option(
        "check only what the versions after VERSION added (their shards, manifest parts and "
        "counts)", None, metavar="VERSION")


@dataclasses.dataclass(frozen=True)
class InspectArgs:
    dataset: str = option("dataset folder or fsspec URL", positional=True)
    json: bool = option("print JSON, for scripts", False, action="store_true")


@dataclasses.dataclass(frozen=True)
class ExportArgs:
    format: str = option("", choices=("aurora",))
    dataset: str = option("dataset folder or fsspec URL", positional=True)
    out: str = option("folder to write into (local or fsspec URL)", positional=True)
    name: str = option("name of the JSON file (default: train)", "train")


@dataclasses.dataclass(frozen=True)
class SamplesArgs:
    output: str = option("folder to write videos/ and tiny-idp-model/ into", positional=True)
    count: int = option("number of sample videos", 4)
    seed: int = option("", 0)
