"""Each run's own folder (OUT/runs/RUN_ID/: staging, temporaries, the shard names it planned)
and the sweep of folders whose run no longer holds the lease.

Only the lease holder sweeps, so a live run's folder is never swept. The sweep lists OUT/runs/
(one entry per unswept run) and the next version's folder, never the shards: a dead run's
shards that no index lists are found through the names it recorded before writing any.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from typing import Dict, Iterable, List, Optional

from transforms.dataset.layout import PLANNED, RUNS_DIR, STAGING_DIR, shard_path
from transforms.dataset.lease import RunRef
from transforms.storage import filesystem, is_local, join, write_bytes

log = logging.getLogger(__name__)


def record_planned(assignment: Dict[str, int], run: Optional[RunRef], shard_name) -> Dict:
    """Records the names of the shards the plan assigns, so that a sweep can remove them if
    this run dies uncommitted; returns the plan unchanged."""
    if run is not None:
        names = sorted({shard_name(number) for number in assignment.values()})
        write_bytes(join(run.folder, PLANNED), json.dumps(names).encode("utf-8"))
    return assignment


def _remove_tree(url: str) -> None:
    fs, path = filesystem(url)
    if is_local(fs):
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        fs.rm(path, recursive=True)
    except FileNotFoundError:
        pass
    fs.invalidate_cache(path)


def _unlisted_shards(output: str, run_id: str, listed: Iterable[str]) -> List[str]:
    fs, path = filesystem(join(output, RUNS_DIR, run_id, PLANNED))
    try:
        names = json.loads(fs.cat_file(path))
    except FileNotFoundError:
        return []
    listed = set(listed)
    return [name for name in names if name not in listed]


def remove_run(output: str, run_id: str, listed: Optional[Iterable[str]]) -> None:
    """Removes what a run that holds the lease no more left: the shards it wrote that no index
    lists (unless `listed` is None), then its folder."""
    for name in _unlisted_shards(output, run_id, listed) if listed is not None else []:
        fs, path = filesystem(join(output, shard_path(name)))
        try:
            fs.rm(path)
        except FileNotFoundError:
            pass
    _remove_tree(join(output, RUNS_DIR, run_id))


def run_ids(output: str) -> List[str]:
    fs, path = filesystem(join(output, RUNS_DIR))
    try:
        return sorted(name.rstrip("/").rsplit("/", 1)[-1]
                      for name in fs.ls(path, detail=False, refresh=True))
    except FileNotFoundError:
        return []


def sweep(output: str, keep: Optional[str], listed: Iterable[str],
          next_version_folder: Optional[str]) -> List[str]:
    """Removes every run folder but `keep`'s (the caller holds the lease), the legacy staging
    folder, and the files of the next version when no marker commits it. Returns the run ids
    swept."""
    listed = list(listed)
    swept = [run_id for run_id in run_ids(output) if run_id != keep]
    for run_id in swept:
        remove_run(output, run_id, listed)
    _remove_tree(join(output, STAGING_DIR))  # runs before per-run folders staged here
    if next_version_folder is not None:
        _remove_tree(next_version_folder)
    return swept


def folder_size(url: str) -> int:
    fs, path = filesystem(url)
    try:
        return sum(fs.du(path, total=False).values()) if not is_local(fs) else sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path) for name in names)
    except (OSError, ValueError):
        return 0


def remove_failed_run(run: RunRef, listed: Optional[Iterable[str]]) -> Optional[str]:
    """Removes a failed run's own staging, temporaries and unlisted shards; returns None, or a
    line naming what could not be removed (its size and path).

    `listed` None: the run no longer holds the lease, so the shard names it planned may be the
    new holder's by now; it removes its staging and temporaries only, and keeps its record of
    planned shards for the holder's sweep (which removes those no index lists)."""
    try:
        if listed is None:
            _remove_tree(run.staging)
            _remove_tree(run.tmp)
        else:
            remove_run(run.output, run.run_id, listed)
    except OSError as error:
        log.warning("removing run %s's files failed: %s", run.run_id, error)
    left = folder_size(run.staging) + folder_size(run.tmp) if listed is None else \
        folder_size(run.folder)
    fs, path = filesystem(run.folder)
    if left or (listed is not None and fs.exists(path)):
        return (f"{left} bytes ({left / 2**20:.1f} MiB) of this run's staging are left in "
                f"{run.folder}")
    return None
