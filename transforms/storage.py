"""Committing files the way object stores allow: write fully, then make visible in one step.

Locally: a temporary name in the same folder, then an atomic rename. On object stores: one
upload (single PUT or multipart), which is invisible until complete. Data files have
deterministic names and bytes, so writing one twice (a retried bundle, a rerun) is harmless.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from typing import Iterator, List, Optional, Tuple

import fsspec

from transforms.dataset.layout import STAGING_DIR, TMP_MARK


def filesystem(url: str) -> Tuple[fsspec.AbstractFileSystem, str]:
    return fsspec.core.url_to_fs(url)


def is_local(fs) -> bool:
    protocol = fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol
    return protocol in ("file", "local")


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


class DataFileConflict(FileExistsError):
    """A data file to be created already exists with other bytes: another run wrote it."""


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remote_sha256(fs, path: str) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _create_local(tmp: str, path: str) -> None:
    """A hard link is created only if the name is free, and shows the whole file at once
    (on a filesystem without hard links the fallback's copy may be seen growing)."""
    try:
        os.link(tmp, path)
    except OSError as error:
        if isinstance(error, FileExistsError):
            raise
        if os.path.exists(path):  # a filesystem without hard links: exclusive open, then copy
            raise FileExistsError(path) from error
        with open(tmp, "rb") as source, open(path, "xb") as target:
            shutil.copyfileobj(source, target)


def _create_remote(fs, tmp: str, path: str) -> None:
    """One conditional upload: s3fs sends If-None-Match: * (on PutObject and on
    CompleteMultipartUpload) and turns the 412 into FileExistsError. gcsfs lists an exclusive
    write since 2024.12 (not tested here). fsspec's default is a check, then a write: not atomic."""
    fs.put_file(tmp, path, mode="create")


@contextlib.contextmanager
def committed_file(url: str, tmp_dir: Optional[str] = None,
                   exclusive: bool = False) -> Iterator[str]:
    """Yields a local path to write; on success it becomes `url` in one visible step.

    `tmp_dir` (local outputs): where the temporary file waits, the run's own folder, so that
    no temporary lies beside the data files. `exclusive`: `url` is created only if absent; an
    existing file with the same sha256 is accepted (a retried bundle, a rerun), one with other
    bytes raises DataFileConflict.
    """
    fs, path = filesystem(url)
    if is_local(fs):
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp_folder = folder
        if tmp_dir is not None:
            tmp_folder = filesystem(tmp_dir)[1]
            os.makedirs(tmp_folder, exist_ok=True)
        tmp = os.path.join(tmp_folder,
                           f".{os.path.basename(path)}{TMP_MARK}{uuid.uuid4().hex[:8]}")
        try:
            yield tmp
            if not exclusive:
                os.replace(tmp, path)
            else:
                try:
                    _create_local(tmp, path)
                except FileExistsError:
                    _accept_same(sha256_of(path), tmp, url)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return
    with tempfile.TemporaryDirectory() as folder:
        tmp = os.path.join(folder, os.path.basename(path))
        yield tmp
        if not exclusive:
            fs.put_file(tmp, path)
            return
        try:
            _create_remote(fs, tmp, path)
        except FileExistsError:
            fs.invalidate_cache(path)
            _accept_same(_remote_sha256(fs, path), tmp, url)


def _accept_same(existing_sha256: str, tmp: str, url: str) -> None:
    if existing_sha256 != sha256_of(tmp):
        raise DataFileConflict(
            f"{url} already exists with other bytes: another run wrote it. Nothing of this run "
            "was committed; run the same command again to refresh from the dataset as it is now")


def create_bytes(url: str, data: bytes, tmp_dir: Optional[str] = None) -> None:
    """Writes `data` to `url` only if absent (or already holding the same bytes)."""
    with committed_file(url, tmp_dir, exclusive=True) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)


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
