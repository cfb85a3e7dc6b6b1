"""Labels (actions, classes, licences) as people save them, made one clean line.

Spreadsheets and scrapers leave carriage returns, NULs, tabs and Unicode line separators in
text; a KEY.txt is one UTF-8 line, so control and separator characters become spaces, runs of
whitespace one space, and the ends are trimmed. A label longer than MAX_LABEL_CHARS (a pasted
paragraph, a whole transcript) is cut there and counted (`labels_truncated` in the run's
counters), so a shard never stores a 200 KB "action".
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional, Tuple

MAX_LABEL_CHARS = 1000
_SPACES = re.compile(r"\s+")


def clean_label(value: Any) -> Tuple[Optional[str], bool]:
    """(the label as one trimmed line, or None when empty; whether it was cut)."""
    if value is None:
        return None, False
    text = "".join(" " if _is_break(char) else char for char in str(value))
    text = _SPACES.sub(" ", text).strip()
    if not text:
        return None, False
    if len(text) > MAX_LABEL_CHARS:
        return text[:MAX_LABEL_CHARS].rstrip(), True
    return text, False


def _is_break(char: str) -> bool:
    """Control characters (Cc: NUL, CR, tab...), line and paragraph separators (Zl, Zp) and
    format characters that end lines or hide text (Cf: zero-width, BOM)."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cf")
