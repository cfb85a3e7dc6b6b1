"""The commit point of a dataset version: a marker created only if absent, then the pointer.

Version N is committed when `versions/vNNNNNN/index.json` (the version's whole index) is
created; the store creates it for one writer only (a hard link locally, If-None-Match: * on
S3; transforms/storage.py), so two runs that both build version N cannot both commit it.
The root `index.json` is then replaced by the same bytes (an atomic rename locally, one PUT on
an object store): readers follow it and see the old version or the new one, never a mix.
A pointer that lags (a run killed between the two writes) is rolled forward by the next run
(`current_index`).

A run also commits only onto the version it started from: when another run committed
meanwhile, its skip list and shard numbers are out of date, and it fails instead.
"""
from __future__ import annotations

import json
from typing import Optional

from transforms.dataset import lease
from transforms.dataset.layout import INDEX, version_marker
from transforms.storage import DataFileConflict, create_bytes, filesystem, join, write_bytes


class StaleBase(RuntimeError):
    """Another run committed a version after this run started from an older one."""


class LostRace(RuntimeError):
    """Another run committed the version this run was about to commit."""


def marker(output: str, version: int) -> str:
    return join(output, version_marker(version))


def read_index(output: str) -> Optional[dict]:
    """The index the root pointer holds (None for a folder no build committed to); a pointer
    that lags is rolled forward by `current_index`."""
    fs, path = filesystem(join(output, INDEX))
    try:  # cat_file, not open: open may pin an ETag from a listing cached before a commit
        return json.loads(fs.cat_file(path))
    except (FileNotFoundError, NotADirectoryError):
        return None


def shard_count(index: Optional[dict]) -> int:
    """How many shards a version lists: a refresh numbers its new shards after them."""
    return len(index["shards"]) if index else 0


def _read(url: str) -> Optional[bytes]:
    fs, path = filesystem(url)
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        return None


def current_index(output: str) -> Optional[dict]:
    """The latest committed version's index: the root pointer, rolled forward through markers
    committed after it (one existence check when the pointer is current)."""
    index = read_index(output)
    version = index.get("version", 0) if index else 0
    while True:
        data = _read(marker(output, version + 1))
        if data is None:
            return index
        index, version = json.loads(data), version + 1


def version_of(index: Optional[dict]) -> int:
    return index.get("version", 0) if index else 0


def current_version(output: str) -> int:
    return version_of(current_index(output))


def repair_pointer(output: str, latest: Optional[dict]) -> None:
    """Points index.json at `latest` (the latest committed version's index, `current_index`),
    if a killed run left the pointer behind."""
    version, pointer = version_of(latest), read_index(output)
    if version and (pointer is None or pointer.get("version", 0) < version):
        write_bytes(join(output, INDEX), _read(marker(output, version)))


def check_base(output: str, run: lease.RunRef) -> None:
    now = current_version(output)
    if now != run.base_version:
        raise StaleBase(
            f"StaleBase: run {run.run_id} started from version {run.base_version} of "
            f"{output}, and version {now} was committed meanwhile by another run. "
            "Nothing of this run was committed; run the same command again to refresh.")


def publish(output: str, index: dict, data: bytes, run: Optional[lease.RunRef]) -> None:
    """Commits `index` (whose bytes are `data`): raises StaleBase, LeaseLost or LostRace, and
    writes nothing visible then."""
    version = index["version"]
    url = marker(output, version)
    if _read(url) != data:  # the same bytes: a retried commit of this very run
        if run is not None:
            check_base(output, run)
            lease.check_owner(run)
        try:
            create_bytes(url, data, run.tmp if run is not None else None)
        except DataFileConflict:
            raise LostRace(
                f"LostRace: version {version} of {output} was committed by another run first. "
                "Nothing of this run was committed; run the same command again to refresh."
            ) from None
    pointer = read_index(output)
    if pointer is None or pointer.get("version", 0) < version:
        write_bytes(join(output, INDEX), data)
