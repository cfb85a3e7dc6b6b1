"""Build options, parsed once: defaults <- YAML config file <- command-line flags.

Every field of every transform's config dataclass is a flag (`--num-keyframes`) and a YAML key
(flat, or nested under its section: `sample: {num_keyframes: 6}`). Flags the build does not
know are handed to Beam as pipeline options (`--runner`, `--direct_num_workers`, ...).
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, Dict, List, Optional, Tuple

import yaml

from pipelines import option_values
from pipelines.strict_args import closest

from transforms.caption_qc import CaptionQcConfig
from transforms.decode_core import DecodeConfig
from transforms.discover import DiscoverConfig
from transforms.filter import FilterConfig
from transforms.dataset.lease import LeaseConfig
from transforms.dataset.run_config import RunConfig
from transforms.caption_config import CaptionConfig
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
# Flags whose names read better than their field names.
FLAG_NAMES = {"inputs": "input"}
CAPTION_HELP = {
    "model": "IDP model: Hugging Face hub id, local folder or fsspec URL of a saved model",
    "revision": "model revision (branch, tag or commit) to load",
    "prompt": "prompt text asking for the action between the two images",
    "prompt_template": "model text around the prompt for a processor without a chat template, "
                       "'{image}' twice (before, after) and '{prompt}' once, e.g. "
                       "'{image}{image}{prompt}' (default: the chat template or the family's "
                       "documented format)",
    "batch_size": "largest batch of pairs per generate call",
    "min_batch_size": "smallest batch of pairs per generate call",
    "max_new_tokens": "most tokens generated per action",
    "device": "auto (cuda when available), cpu or cuda",
    "dtype": "auto (bfloat16 on cuda, float32 on cpu) or a torch dtype name",
    "share_across_processes": "load one model per machine shared by all SDK processes "
                              "(default: on cuda only)",
    "trust_remote_code": "allow the model's own Python code to run (off unless asked)",
    "accelerator": "Beam accelerator resource hint for the caption stage only, on Dataflow "
                   "(right fitting), e.g. 'type:nvidia-l4;count:1;machine_type:g2-standard-8;"
                   "install-nvidia-driver' ('' for none)",
}


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
    found = []
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            found.append((section, field, hints[field.name]))
    names = [field.name for _, field, _ in found]
    assert len(names) == len(set(names)), "config field names must be unique across sections"
    return found


def _base_type(hint: Any) -> Any:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is typing.Union and len(args) == 1:
        return args[0]
    return hint


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file of options; flags given here override it")
    parser.add_argument("--no-caption", action="store_true", default=None,
                        help="write pairs without actions (no model needed); caption them later")
    parser.add_argument("--allow-empty-input", action="store_true", default=None,
                        help="let an --input that matches nothing pass preflight (a glob for "
                             "files that may not be there yet)")
    parser.add_argument("--skip-preflight", action="store_true", default=None,
                        help="skip the checks run before any work (output writable, inputs "
                             "match, decoders work, the model captions a test pair)")
    add_section_flags(parser, SECTIONS)


RECAPTION_SECTIONS = ("caption", "qc", "select", "lease")


def add_section_flags(parser: argparse.ArgumentParser, sections) -> None:
    """A flag for every field of the given sections' config dataclasses."""
    for section, field, hint in _fields():
        if section not in sections:
            continue
        flag = "--" + FLAG_NAMES.get(field.name, field.name).replace("_", "-")
        kind = _base_type(hint)
        help_text = field.metadata.get("help") or CAPTION_HELP.get(field.name, "")
        default = field.default if field.default is not dataclasses.MISSING else None
        # No argparse default: a flag left out must not override a config file's value.
        add_field_flag(parser, flag, field.name, kind, None,
                       f"[{SHOWN_SECTION.get(section, section)}] {help_text} (default: {default})")


def add_field_flag(parser: argparse.ArgumentParser, flag: str, dest: str, kind, default,
                   help_text: str, required: bool = False) -> None:
    """One flag for a config dataclass field: --x/--no-x for bools, repeatable for tuples."""
    if kind is bool:
        parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction,
                            default=default, help=help_text)
    elif typing.get_origin(kind) is tuple:
        parser.add_argument(flag, dest=dest, action="append", default=default, help=help_text)
    else:
        parser.add_argument(flag, dest=dest, type=kind, default=default, required=required,
                            help=help_text)


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
    field_of_flag = {flag: field for field, flag in FLAG_NAMES.items()}
    return {field_of_flag.get(key, key).replace("-", "_"): value for key, value in flat.items()}


RUN_FLAGS = ("no_caption", "skip_preflight", "allow_empty_input")  # not fields of any section


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

    def section(cls):
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in names})

    return BuildConfig(
        discover=section(DiscoverConfig), decode=section(DecodeConfig),
        sample=section(SampleConfig), filter=section(FilterConfig),
        caption=None if no_caption else section(CaptionConfig), qc=section(CaptionQcConfig),
        select=section(SelectConfig),
        write=section(WriteConfig), run=section(RunConfig), skip_preflight=skip_preflight,
        lease=section(LeaseConfig),
        allow_empty_input=allow_empty_input)


def recaption_configs(args: argparse.Namespace, dataset: str):
    """(caption, qc, select, write) configs for `idp-corpus caption` from its flags (a caption
    run refreshes: its shards go after the committed ones)."""
    values = {name: value for name, value in vars(args).items() if value is not None}
    option_values.check(values)
    if not values.get("model"):
        raise ValueError("no model: give --model (hub id, folder or URL)")

    def section(cls):
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in values.items() if name in names})

    return (section(CaptionConfig), section(CaptionQcConfig), section(SelectConfig),
            WriteConfig(output=dataset))
