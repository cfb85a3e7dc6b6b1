"""Build options, parsed once: defaults <- YAML config file <- command-line flags.

Every field of every transform's config dataclass is a flag (`--num-keyframes`) and a YAML key
(flat, or nested under its section: `sample: {num_keyframes: 6}`). Flags the build does not
know are handed to Beam as pipeline options (`--runner`, `--direct_num_workers`, ...).
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Dict, List, Optional, Tuple

import yaml

from pipelines import option_values
from pipelines.command_options import BuildSwitches
from pipelines.flags import add_dataclass_flags, field_of, fields_with_hints, given, make
from pipelines.strict_args import closest

from transforms.caption_qc import CaptionQcConfig
from transforms.decode_core import DecodeConfig
from transforms.discover import DiscoverConfig
from transforms.filter import FilterConfig
from transforms.dataset.lease import LeaseConfig
from transforms.dataset.run_config import RunConfig
from transforms.caption.config import CaptionConfig
from transforms.sample import SampleConfig
from transforms.select import SelectConfig
from transforms.write import WriteConfig

SECTIONS = {
    "discover": DiscoverConfig,
    "decode": DecodeConfig,
    "sample": SampleConfig,
    "filter": FilterConfig,
    "caption": CaptionConfig,
    "qc": CaptionQcConfig,
    "select": SelectConfig,
    "write": WriteConfig,
    "run": RunConfig,
    "lease": LeaseConfig,
}
# Sections that --help and the dataset card list under another's name: the run options beside
# the writer's, where a config file may also nest them (`write: {mode: refresh}`).
SHOWN_SECTION = {"run": "write"}


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    discover: DiscoverConfig
    decode: DecodeConfig
    sample: SampleConfig
    filter: FilterConfig
    caption: Optional[CaptionConfig]  # None with --no-caption
    qc: CaptionQcConfig
    select: SelectConfig
    write: WriteConfig
    run: RunConfig = RunConfig()
    skip_preflight: bool = False
    lease: LeaseConfig = LeaseConfig()
    allow_empty_input: bool = False


def _fields() -> List[Tuple[str, dataclasses.Field, Any]]:
    found = [(section, field, hint) for section, cls in SECTIONS.items()
             for field, hint in fields_with_hints(cls)]
    names = [field.name for _, field, _ in found]
    assert len(names) == len(set(names)), "config field names must be unique across sections"
    return found


def add_flags(parser: argparse.ArgumentParser) -> None:
    add_dataclass_flags(parser, BuildSwitches, show_default=False)
    add_section_flags(parser, SECTIONS)


RECAPTION_SECTIONS = ("caption", "qc", "select", "lease")


def add_section_flags(parser: argparse.ArgumentParser, sections) -> None:
    """A flag for every field of the given sections' config dataclasses."""
    _fields()  # refuses a field name two sections share: they would be one flag
    for section, cls in SECTIONS.items():
        if section in sections:
            add_dataclass_flags(parser, cls, section=SHOWN_SECTION.get(section, section))


def load_yaml(path: str) -> Dict[str, Any]:
    """A config file as flat field names; sections (`sample: {...}`) are optional nesting."""
    import fsspec
    try:
        with fsspec.open(path, "rt", encoding="utf-8-sig") as handle:
            values = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"the config file {path} cannot be read: {error}") from error
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a config file must be a mapping of option names to values")
    flat: Dict[str, Any] = {}
    for key, value in values.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return {field_of(key): value for key, value in flat.items()}


# The switches that are no field of any section, set by flag or YAML like the sections' fields.
RUN_FLAGS = tuple(field.name for field in dataclasses.fields(BuildSwitches)
                  if field.name != "config")


def build_config(args: argparse.Namespace) -> BuildConfig:
    """Merges the YAML file (if any) under the flags and builds each transform's config."""
    values = load_yaml(args.config) if args.config else {}
    hints = {field.name: hint for _, field, hint in _fields()}
    hints.update({name: bool for name in RUN_FLAGS})
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ValueError(f"unknown option(s) in {args.config}: {', '.join(unknown)}"
                         + closest(unknown[0], hints))
    values = {name: option_values.coerce(name, hints[name], value)
              for name, value in values.items()}
    for name in hints:
        flag_value = getattr(args, name, None)
        if flag_value is not None:
            values[name] = flag_value
    values["inputs"] = tuple(values.get("inputs") or ())
    option_values.check(values)
    no_caption = bool(values.pop("no_caption", False))
    skip_preflight = bool(values.pop("skip_preflight", False))
    allow_empty_input = bool(values.pop("allow_empty_input", False))
    if not values["inputs"]:
        raise ValueError("no input: give --input (a glob, URL or manifest) or 'input' in --config")
    if not values.get("output"):
        raise ValueError("no output: give --output (a folder or fsspec URL)")
    if not no_caption and not values.get("model"):
        raise ValueError("no model: give --model (hub id, folder or URL) or --no-caption")

    return BuildConfig(
        discover=make(DiscoverConfig, values), decode=make(DecodeConfig, values),
        sample=make(SampleConfig, values), filter=make(FilterConfig, values),
        caption=None if no_caption else make(CaptionConfig, values),
        qc=make(CaptionQcConfig, values), select=make(SelectConfig, values),
        write=make(WriteConfig, values), run=make(RunConfig, values), skip_preflight=skip_preflight,
        lease=make(LeaseConfig, values), allow_empty_input=allow_empty_input)


def recaption_configs(args: argparse.Namespace, dataset: str):
    """(caption, qc, select, write) configs for `idp-corpus caption` from its flags (a caption
    run refreshes: its shards go after the committed ones)."""
    values = given(args)
    option_values.check(values)
    if not values.get("model"):
        raise ValueError("no model: give --model (hub id, folder or URL)")
    return (make(CaptionConfig, values), make(CaptionQcConfig, values),
            make(SelectConfig, values), WriteConfig(output=dataset))
