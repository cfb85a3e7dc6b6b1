"""Committing files the way object stores allow: write fully, then make visible in one step.

Locally: a temporary name in the same folder, then an atomic rename. On object stores: one
upload (single PUT or multipart), which is invisible until complete. Data files have
deterministic names and bytes, so writing one twice (a retried bundle, a rerun) is harmless.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from typing import Iterator, List, Tuple

import fsspec

TMP_MARK = ".tmp-"  # temporary files carry this in their name; validators look for strays
STAGING_DIR = "staging"  # what a run writes and reads back before it commits (staging.py)


def filesystem(url: str) -> Tuple[fsspec.AbstractFileSystem, str]:
    return fsspec.core.url_to_fs(url)


def is_local(fs) -> bool:
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    return protocol in ("file", "local")


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


@contextlib.contextmanager
def committed_file(url: str) -> Iterator[str]:
    """Yields a local path to write; on success it becomes `url` in one visible step."""
    fs, path = filesystem(url)
    if is_local(fs):
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}{TMP_MARK}{uuid.uuid4().hex[:8]}")
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = os.path.join(folder, os.path.basename(path))
        yield tmp
        fs.put_file(tmp, path)


def write_bytes(url: str, data: bytes) -> None:
    with committed_file(url) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)


def remove_temporaries(root: str) -> List[str]:
    """Deletes temporary files (staged samples, files of writers killed mid-write) and the
    staging folder; returns the files' paths."""
    fs, path = filesystem(root)
    stale = [found for found in fs.find(path) if TMP_MARK in found.rsplit("/", 1)[-1]]
    for found in stale:
        fs.rm(found)
    if is_local(fs):  # object stores have no folders to leave behind
        shutil.rmtree(os.path.join(path, STAGING_DIR), ignore_errors=True)
    return stale
