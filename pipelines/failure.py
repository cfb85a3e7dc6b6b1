"""The last line of a failed command is its cause, in plain words.

A failure inside a Beam pipeline reaches the launcher wrapped: the local runner raises a
RuntimeError whose text is the worker's whole traceback, ending in
`RuntimeError: OSError: [Errno 28] No space left on device: '...' [while running 'Stage/Stage']`;
other runners wrap it their own way, sometimes more than once. The cause is dug out of that text
(or out of the exception chain, where the error crossed no process boundary): the innermost
`Type: message` line, and the step it ran in. The traceback is printed above, for those who want
it; the last line names the cause and the step, e.g.
`idp-corpus build failed: no space left on device: 'OUT/staging/x' while staging images under
OUT`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import sys
import traceback
from typing import Iterator, Optional, TextIO

# Exception types that only wrap another error; the cause is what they carry.
WRAPPERS = ("RuntimeError", "Exception", "UserCodeError")
# `Type: message` at the start of a line of a traceback text (the type's last part capitalised).
_ERROR_LINE = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*): (?P<message>.*)$")
_STEP = re.compile(r"\s*\[while running '[^']*'\]\s*$")
# What the pipeline's top-level steps (pipelines/build.py, recaption.py, score.py) do, in words.
STEPS = {
    "Discover": "listing the inputs",
    "SkipKnown": "reading the existing dataset",
    "TakenIds": "reading the existing dataset's ids",
    "DecodeAndSample": "decoding videos",
    "Filter": "filtering pairs",
    "Label": "labelling pairs",
    "Encode": "encoding images",
    # Staging may sit in a run's own folder under OUT; the cause carries the exact path.
    "Stage": "staging images under {output}",
    "Caption": "captioning pairs",
    "WithCaption": "captioning pairs",
    "CaptionQc": "checking captions",
    "SelectByScore": "selecting triples",
    "Write": "writing shards under {output}/shards",
    "AllPairs": "collecting pair outcomes",
    "Finalize": "committing the dataset at {output}",
    "Commit": "committing the dataset at {output}",  # idp-corpus caption
    "ReadShard": "reading shards",
    "Shards": "listing shards",
    "Score": "scoring candidates",
    "ReadImages": "reading images",
}


class StepFailed(RuntimeError):
    """Marks what the launcher was doing when an error outside the pipeline happened."""

    def __init__(self, doing: str):
        super().__init__(doing)
        self.doing = doing


@contextlib.contextmanager
def step(doing: str) -> Iterator[None]:
    """Errors inside are reported as happening 'while <doing>'."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - re-raised with where it happened
        raise StepFailed(doing) from error


@dataclasses.dataclass(frozen=True)
class Cause:
    kind: str  # the innermost exception type's name, e.g. "OSError"
    message: str  # its message, without Beam's step suffix
    step: Optional[str] = None  # the Beam step label it ran in, e.g. "Stage/Stage"


def root_cause(error: BaseException) -> Cause:
    """The innermost error and the pipeline step it happened in."""
    links = list(_chain(error))
    step = next((found for found in map(_step_of, map(str, reversed(links))) if found), None)
    innermost = links[-1]
    text = str(innermost)
    parsed = _last_error_line(text)
    if parsed and (_is_wrapper(type(innermost).__name__) or "Traceback (most recent" in text):
        kind, message = parsed
    else:
        kind, message = type(innermost).__name__, _first_line(innermost)
    return Cause(kind.rsplit(".", 1)[-1], _STEP.sub("", message), step)


def describe(error: BaseException, output: str = "OUT") -> str:
    """One line: the cause in plain words, then the step, e.g. 'no space left on device ...
    while staging images under OUT'."""
    cause = root_cause(error)
    text = _plain(cause, error)
    marked = next((link.doing for link in _chain(error) if isinstance(link, StepFailed)), None)
    if cause.step or marked:
        doing = marked or STEPS.get(cause.step.split("/", 1)[0])
        where = (f"while {doing.format(output=output.rstrip('/'))}" if doing
                 else f"in step '{cause.step}'")
        # A cause of several sentences keeps its own; the step follows in brackets.
        text = (f"{text.rstrip('.')} ({where})" if ". " in text
                else f"{text.rstrip('.')} {where}")
    return text


def report(command: str, error: BaseException, output: str = "OUT",
           stream: Optional[TextIO] = None) -> int:
    """Prints the traceback, then the cause as the last line; returns the exit code (1, or 130
    for Ctrl-C)."""
    stream = stream or sys.stderr
    traceback.print_exception(type(error), error, error.__traceback__, file=stream)
    print(f"idp-corpus {command} failed: {describe(error, output)}", file=stream)
    stream.flush()
    return 130 if isinstance(error, KeyboardInterrupt) else 1


def _plain(cause: Cause, error: BaseException) -> str:
    """OS errors by their errno's words (and the path); project errors by their own message."""
    number = _errno_of(cause, error)
    if number is not None:
        words = os.strerror(number)
        words = words[0].lower() + words[1:]
        path = re.search(r"(?::\s*)('[^']*'|\"[^\"]*\")\s*$", cause.message)
        return words + (f": {path.group(1)}" if path else "")
    if cause.kind in ("TooManyFailures", "LostPairs", "PreflightError"):
        return re.sub(r"^LostPairs:\s*", "", cause.message)
    if cause.kind == "KeyboardInterrupt":
        return "interrupted (Ctrl-C); run the same command again to complete it"
    if cause.kind == "MemoryError":
        return "out of memory"
    return f"{cause.kind}: {cause.message}" if cause.message else cause.kind


def _errno_of(cause: Cause, error: BaseException) -> Optional[int]:
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in errno.errorcode:
            return link.errno
    found = re.match(r"\[Errno (\d+)\]", cause.message)
    return int(found.group(1)) if found else None


def _chain(error: BaseException):
    """The error, then what caused it, innermost last (cycles cut)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)


def _is_wrapper(kind: str) -> bool:
    return kind in WRAPPERS or kind.rsplit(".", 1)[-1] in WRAPPERS


def _last_error_line(text: str):
    """(type, message) of the innermost error named in a traceback text: the last `Type: msg`
    line at the start of a line, with wrapping `RuntimeError: OSError: ...` prefixes peeled."""
    found = None
    for line in text.splitlines():
        match = _ERROR_LINE.match(line.rstrip())
        if match:
            found = (match.group("type"), match.group("message"))
    while found is not None and _is_wrapper(found[0]):
        inner = _ERROR_LINE.match(found[1])
        if inner is None:
            break
        found = (inner.group("type"), inner.group("message"))
    return found


def _step_of(text: str) -> Optional[str]:
    steps = re.findall(r"\[while running '([^']*)'\]", text)
    return steps[-1] if steps else None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
