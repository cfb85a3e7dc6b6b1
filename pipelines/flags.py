"""Command-line flags from config dataclasses: the one flag generator of every command.

Each field of a frozen dataclass is one argument, named after the field (`num_keyframes`:
`--num-keyframes`; FLAG_NAMES for the few that read better otherwise), typed by its annotation
(a bool is `--x/--no-x`, a tuple repeatable), its help from the field's metadata ("help").
Metadata may also say "positional", "flag" (another name), "action" (store_true, store_false),
"metavar" and "choices". Config sections get no argparse default (`parser_defaults=False`): a
flag left out parses as None, so a YAML value or the dataclass's own default applies (`given`,
`make`); the other commands' options parse to their dataclass defaults.
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

# Flags whose names read better than their field names.
FLAG_NAMES = {"inputs": "input"}


def flag_of(name: str) -> str:
    """The flag of the field `name`."""
    return "--" + FLAG_NAMES.get(name, name).replace("_", "-")


def field_of(key: str) -> str:
    """The field a YAML key stands for (`input` or `inputs`, `num-keyframes` or `num_keyframes`)."""
    return {flag: field for field, flag in FLAG_NAMES.items()}.get(key, key).replace("-", "_")


def option(help_text: str, default: Any = dataclasses.MISSING, **metadata) -> Any:
    """A dataclass field declared with its help (and any other metadata the generator reads)."""
    return dataclasses.field(default=default, metadata={"help": help_text, **metadata})


def fields_with_hints(cls) -> List[Tuple[dataclasses.Field, Any]]:
    """(field, resolved type hint) of every field of a dataclass."""
    hints = typing.get_type_hints(cls)
    return [(field, hints[field.name]) for field in dataclasses.fields(cls)]


def base_type(hint: Any) -> Any:
    """The type inside Optional[...]; other hints as they are."""
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is typing.Union and len(args) == 1:
        return args[0]
    return hint


def default_of(field: dataclasses.Field) -> Any:
    return field.default if field.default is not dataclasses.MISSING else None


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, names: Optional[Iterable[str]] = None,
                        *, section: Optional[str] = None, require_missing: bool = False,
                        show_default: bool = True, parser_defaults: bool = False,
                        command_help: Optional[Mapping[str, str]] = None) -> None:
    """An argument for each field of `cls` (or of the `names` among them, in that order).

    section: the config section the help names first (`[sample] ...`).
    require_missing: a field without a default is a required flag (a command with no config
        file to give it instead).
    show_default: the help ends with the dataclass default.
    parser_defaults: a flag left out parses as the dataclass default instead of None.
    command_help: help text this command says instead of the field's (a field read in another
        sense).
    """
    by_name = dict((field.name, (field, hint)) for field, hint in fields_with_hints(cls))
    for name in (names if names is not None else by_name):
        field, hint = by_name[name]
        required = field.metadata.get("positional") or (
            require_missing and field.default is dataclasses.MISSING)
        text = (command_help or {}).get(name)
        if text is None:
            text = field.metadata.get("help", "")
        if section:
            text = f"[{section}] {text}"
        if show_default and not required:
            text += f" (default: {default_of(field)})"
        _add_argument(parser, field, base_type(hint), text or None, required,
                      default_of(field) if parser_defaults else None)


def _add_argument(parser: argparse.ArgumentParser, field: dataclasses.Field, kind, help_text,
                  required: bool, default) -> None:
    meta = field.metadata
    if meta.get("positional"):
        parser.add_argument(field.name, type=kind, help=help_text)
        return
    flag = meta.get("flag") or flag_of(field.name)
    options = {"dest": field.name, "default": default, "help": help_text,
               **{key: meta[key] for key in ("metavar", "choices") if key in meta}}
    if "action" in meta:
        parser.add_argument(flag, action=meta["action"], **options)
    elif kind is bool:
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
    elif typing.get_origin(kind) is tuple:
        parser.add_argument(flag, action="append", **options)
    else:
        parser.add_argument(flag, type=kind, required=required, **options)


def given(args: argparse.Namespace) -> Dict[str, Any]:
    """The values given on the command line (flags left out parse as None)."""
    return {name: value for name, value in vars(args).items() if value is not None}


def make(cls, values: Mapping[str, Any]):
    """`cls` from the values among `values` that are its fields; the rest keep its defaults."""
    names = {field.name for field in dataclasses.fields(cls)}
    return cls(**{name: value for name, value in values.items() if name in names})
