"""Option values checked where they are parsed, before any work starts.

A YAML file gives strings where a flag would give numbers (`batch_size: "64"`) and truthy
strings where it means false (`no_caption: "false"`): each value is coerced to its field's type
or refused with the key named. Then ranges (fractions 0..1, JPEG quality 1..100, positive
sizes) and relations (min_change < max_change) are checked, so a value that would drop every
pair or crash a worker hours later fails here, in one line.
"""
from __future__ import annotations

import math
import re
import typing
from typing import Any, Dict, Optional

from pipelines.flags import flag_of as flag

TRUE = ("true", "yes", "on", "1")
FALSE = ("false", "no", "off", "0", "")

FRACTIONS = ("min_brightness", "min_change", "max_change", "max_cut", "qc_max_foreign_share",
             "qc_max_same_share", "max_failure_ratio")
# (smallest allowed, largest allowed or None) of every number option that has a bound.
RANGES = {
    "analysis_width": (16, None),  # the motion analysis needs a few pixels of grey frame
    "output_max_side": (0, None),
    "max_pixels": (1, None),
    "max_frames": (2, None),
    "max_seconds": (0.001, None),
    "min_side": (1, None),
    "timeout_seconds": (0.001, None),
    "io_attempts": (1, None),
    "num_keyframes": (2, None),
    "min_gap": (1, None),
    "stride_seconds": (0.001, None),
    "max_pairs_per_video": (0, None),
    "min_sharpness": (0, None),
    "batch_size": (1, None),
    "min_batch_size": (1, None),
    "max_new_tokens": (1, None),
    "qc_min_pairs_same": (1, None),
    "select_top_k": (0, None),
    "samples_per_shard": (1, None),
    "shard_max_bytes": (1, None),
    "min_shards": (1, None),
    "jpeg_quality": (1, 100),
    "shot_cut_threshold": (0.0, None),
    "shot_cut_ratio": (1.0, None),
    "shot_flash_return": (0.0, 1.0),
    "shot_dissolve_blend": (0.0, None),
    "shot_dissolve_min_change": (0.0, None),
    "shot_dissolve_min_area": (0.0, 1.0),
    "shot_blank_std": (0.0, 255.0),
    "shot_max_dissolve_seconds": (0.3, None),
    "shot_edge_frames": (0, None),
    **{name: (0.0, 1.0) for name in FRACTIONS},
}
# Options that become part of a file name: a plain name, no separators, no `..`.
PATH_PARTS = ("shard_prefix",)
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class OptionError(ValueError):
    """A bad option value; the message names the option."""


def coerce(name: str, hint: Any, value: Any) -> Any:
    """`value` as the field's type, or OptionError naming the option."""
    if value is None:
        if _optional(hint):
            return None
        raise OptionError(f"{flag(name)}: a value is required")
    kind = _base(hint)
    if kind is bool:
        return _boolean(name, value)
    if kind is int:
        return _number(name, value, int)
    if kind is float:
        return _number(name, value, float)
    if kind is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise OptionError(f"{flag(name)}: expected text, got {value!r}")
        return str(value)
    if typing.get_origin(kind) is tuple:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise OptionError(f"{flag(name)}: expected a list of text values, got {value!r}")
        return tuple(items)
    return value


def check(values: Dict[str, Any]) -> None:
    """Ranges, plain names and relations of already-coerced values (absent ones are skipped)."""
    for name, (low, high) in RANGES.items():
        value = values.get(name)
        if value is None:
            continue
        if isinstance(value, float) and math.isnan(value):
            raise OptionError(f"{flag(name)} must be a number, got nan")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise OptionError(f"{flag(name)} must be {bounds}, got {value}")
    for name in PATH_PARTS:
        value = values.get(name)
        if value and plain_name(value, flag(name)):
            raise OptionError(plain_name(value, flag(name)) + ": it becomes part of file names")
    _relation(values, "min_change", "max_change", "<")
    _relation(values, "min_batch_size", "batch_size", "<=")


def _relation(values: Dict[str, Any], low: str, high: str, operator: str) -> None:
    if values.get(low) is None or values.get(high) is None:
        return
    ok = values[low] < values[high] if operator == "<" else values[low] <= values[high]
    if not ok:
        raise OptionError(f"{flag(low)} ({values[low]}) must be {operator} {flag(high)} "
                          f"({values[high]})")


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise OptionError(f"{flag(name)}: expected true or false, got {value!r}")


def _number(name: str, value: Any, kind: type):
    if isinstance(value, bool):
        raise OptionError(f"{flag(name)}: expected a number, got {value!r}")
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            number = int(value) if not isinstance(value, str) else int(value.strip())
        else:
            number = float(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise OptionError(f"{flag(name)}: expected {what}, got {value!r}") from None
    if isinstance(number, float) and math.isnan(number):
        raise OptionError(f"{flag(name)}: expected a number, got {value!r}")
    return number


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)


def _base(hint: Any) -> Any:
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if typing.get_origin(hint) is typing.Union and len(args) == 1:
        return args[0]
    return hint


def plain_name(value: str, what: str) -> Optional[str]:
    """None when `value` can be one file name; else why not."""
    if value and _PLAIN_NAME.match(value) and ".." not in value:
        return None
    return (f"{what} {value!r} must be a plain name (letters, digits, '_', '-', '.'; no '/' or "
            "'\\', no '..', not starting with '.')")
