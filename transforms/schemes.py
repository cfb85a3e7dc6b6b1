"""Which URIs this installation can open: a missing fsspec backend is a row, not a crash.

fsspec knows `s3://`, `gs://`, `https://`... but opens them only when their package (s3fs,
gcsfs, aiohttp) is installed; otherwise it raises ImportError at the first touch, which would
stop a whole run for one manifest row. Checked at discovery: such a row becomes
`unsupported_scheme`, its message naming what to install.
"""
from __future__ import annotations

from typing import Optional

import fsspec

# The project's extras for the common backends (pyproject.toml [project.optional-dependencies]).
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "http": "http", "https": "http"}


def scheme_problem(uri: str) -> Optional[str]:
    """None when the URI's filesystem can be used here; else what to install, in one line."""
    protocol, _ = fsspec.core.split_protocol(uri)
    if not protocol or protocol in ("file", "local"):
        return None
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as error:
        extra = EXTRAS.get(protocol)
        hint = f"pip install 'idp-corpus[{extra}]'" if extra else "install its fsspec backend"
        return f"{protocol}:// needs a package that is not installed ({error}); {hint}"
    except ValueError:
        return f"{protocol}:// is not a filesystem fsspec knows"
    return None
