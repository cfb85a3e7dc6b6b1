"""The run lease: one run at a time may change a dataset.

A lease is a numbered record under OUT/lease/ (000001.json, 000002.json, ...), created only if
absent; the highest number is the current one, and a run holds the dataset while that record is
its own (by run id, so a reused number never revives an old holder). Taking the lease creates
the next number, so two runs that both find the dataset free cannot both take it: one creation
fails. Taking over a stale lease creates the next number too; nothing is rewritten. Beside its
record a holder keeps RUN_ID.beat, its heartbeat, rewritten by the launcher and the workers.
A run that ends (committed or failed) deletes its beat and record: a dataset at rest holds no
lease files, and a rerun leaves its folder byte for byte as it was.

No record: the dataset is free. The current record is taken over at once when its holder ran on
this host with the local runner and its process is gone; breakable (`--break-lease`) when its
heartbeat is older than `--lease-timeout`; otherwise held.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import socket
import time
import uuid
from typing import List, Optional

from transforms.dataset.layout import LEASE_DIR, RUNS_DIR, STAGING_DIR, TMP_DIR
from transforms.storage import create_bytes, filesystem, join, write_bytes

POLL_SECONDS = 2.0  # how often --wait looks again
MAX_BEAT_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class LeaseConfig:
    wait: bool = dataclasses.field(default=False, metadata={
        "help": "when another run holds the dataset, wait for it to finish instead of refusing"})
    lease_timeout: float = dataclasses.field(default=600.0, metadata={
        "help": "seconds without a heartbeat after which a run's lease counts as stale and may "
                "be broken with --break-lease"})
    break_lease: bool = dataclasses.field(default=False, metadata={
        "help": "take over a stale lease (its holder's heartbeat older than --lease-timeout): "
                "only when that run is known to be dead"})

    def __post_init__(self):
        if self.lease_timeout <= 0:
            raise ValueError("lease_timeout must be > 0 seconds")


@dataclasses.dataclass(frozen=True)
class RunRef:
    """What every worker of a run needs to know about it: picklable, small."""
    output: str
    run_id: str
    generation: int
    base_version: int  # the dataset version the run started from (0: none)
    beat_seconds: float

    @property
    def folder(self) -> str:
        return join(self.output, RUNS_DIR, self.run_id)

    @property
    def staging(self) -> str:
        return join(self.folder, STAGING_DIR)

    @property
    def tmp(self) -> str:
        return join(self.folder, TMP_DIR)


@dataclasses.dataclass(frozen=True)
class Holder:
    """The current lease as read from the store."""
    record: dict
    beat: Optional[float]

    @property
    def generation(self) -> int:
        return self.record["generation"]

    def last_beat(self) -> float:
        return self.beat if self.beat is not None else self.record["started"]


class LeaseHeld(Exception):
    """Another run holds the dataset; the message is the one line a user needs."""


class LeaseLost(RuntimeError):
    """This run no longer holds the dataset's lease: another run took it over."""


def _name(generation: int, suffix: str) -> str:
    return f"{generation:06d}.{suffix}"


def _read_json(url: str) -> Optional[dict]:
    fs, path = filesystem(url)
    try:
        return json.loads(fs.cat_file(path))
    except FileNotFoundError:
        return None


def _generations(output: str) -> List[int]:
    fs, path = filesystem(join(output, LEASE_DIR))
    try:  # refresh: another process's records are what matter, never a cached listing
        names = fs.ls(path, detail=False, refresh=True)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        stem, _, suffix = name.rsplit("/", 1)[-1].partition(".")
        if suffix == "json" and stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def current(output: str) -> Optional[Holder]:
    base = join(output, LEASE_DIR)
    while True:
        generations = _generations(output)
        if not generations:
            return None
        record = _read_json(join(base, _name(generations[-1], "json")))
        if record is not None:
            break  # else it ended, or a newer holder forgot it, since the listing: look again
    beat = _read_json(join(base, f"{record['run_id']}.beat"))
    return Holder(record, beat["time"] if beat else None)


def _process_start(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def holder_gone(record: dict) -> bool:
    """True only when the holder's work ran in one process on this host and it has ended."""
    if not record.get("local") or record.get("host") != socket.gethostname():
        return False
    pid = record["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    started = record.get("pid_start")
    return started is not None and _process_start(pid) not in (None, started)


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def describe(holder: Holder, now: float) -> str:
    record = holder.record
    return (f"run {record['run_id']} (host {record['host']}, pid {record['pid']}, "
            f"`{record['command']}`) since {_when(record['started'])}; last heartbeat "
            f"{_when(holder.last_beat())} ({now - holder.last_beat():.0f} s ago)")


def _held_message(output: str, holder: Holder, config: LeaseConfig, now: float) -> str:
    age = now - holder.last_beat()
    if age > config.lease_timeout:
        advice = (f"its heartbeat is older than --lease-timeout ({config.lease_timeout:g} s): "
                  "if that run is dead, run again with --break-lease")
    else:
        advice = ("wait for it with --wait, or, if that run is dead, run again with "
                  f"--break-lease once its heartbeat is older than --lease-timeout "
                  f"({config.lease_timeout:g} s)")
    return f"{output} is held by {describe(holder, now)}: {advice}"


def _free(holder: Optional[Holder], config: LeaseConfig, now: float) -> bool:
    if holder is None or holder_gone(holder.record):
        return True
    return config.break_lease and now - holder.last_beat() > config.lease_timeout


def take(output: str, command: str, config: LeaseConfig, base_version, local: bool,
         clock=time.time, sleep=time.sleep, on_wait=None) -> RunRef:
    """Takes the dataset's lease, waiting for it with `config.wait`; raises LeaseHeld.

    `base_version` is called once the lease is held: the version the run starts from.
    `on_wait` is told, once per holder waited for, who holds the dataset.
    """
    waited_for = None
    while True:
        holder = current(output)
        now = clock()
        if _free(holder, config, now):
            generation = holder.generation + 1 if holder else 1
            run = _create(output, generation, command, config, local, now)
            if run is not None:
                return dataclasses.replace(run, base_version=base_version())
            continue  # another run took this number first: look again
        if not config.wait:
            raise LeaseHeld(_held_message(output, holder, config, now))
        if on_wait is not None and waited_for != holder.record["run_id"]:
            waited_for = holder.record["run_id"]
            on_wait(f"waiting for {output}: held by {describe(holder, now)}")
        sleep(POLL_SECONDS)


def _create(output, generation, command, config, local, now) -> Optional[RunRef]:
    run_id = f"{datetime.datetime.fromtimestamp(now, datetime.timezone.utc):%Y%m%dT%H%M%S}-" \
             f"{uuid.uuid4().hex[:8]}"
    record = {"run_id": run_id, "generation": generation, "host": socket.gethostname(),
              "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
              "command": command, "started": now, "local": local,
              "lease_timeout": config.lease_timeout}
    data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")
    url = join(output, LEASE_DIR, _name(generation, "json"))
    try:
        create_bytes(url, data)
    except FileExistsError:
        return None
    run = RunRef(output, run_id, generation, 0,
                 min(MAX_BEAT_SECONDS, config.lease_timeout / 4))
    if not owns(run):  # a number below one taken while this run looked (its listing was old)
        fs, path = filesystem(url)
        _remove(fs, path)
        return None
    beat(run, now)
    _forget_older(output, generation, run_id)
    return run


def _forget_older(output: str, generation: int, run_id: str) -> None:
    """Records (and beats) of the holders before the one just taken tell nothing any more."""
    fs, path = filesystem(join(output, LEASE_DIR))
    for name in fs.ls(path, detail=False, refresh=True):
        stem, _, suffix = name.rsplit("/", 1)[-1].partition(".")
        if (stem.isdigit() and int(stem) < generation) or (suffix == "beat" and stem != run_id):
            _remove(fs, name)


def beat(run: RunRef, now: Optional[float] = None) -> None:
    stamp = {"time": time.time() if now is None else now, "host": socket.gethostname(),
             "pid": os.getpid()}
    write_bytes(join(run.output, LEASE_DIR, f"{run.run_id}.beat"),
                json.dumps(stamp).encode("utf-8"))


def owns(run: RunRef) -> bool:
    holder = current(run.output)
    return holder is not None and holder.record["run_id"] == run.run_id


def check_owner(run: RunRef) -> None:
    """Raises LeaseLost unless `run` still holds the dataset's lease."""
    holder = current(run.output)
    if holder is not None and holder.record["run_id"] == run.run_id:
        return
    taken = (f"its lease was taken over by run {holder.record['run_id']}" if holder else
             "its lease was released or removed")
    raise LeaseLost(f"LeaseLost: run {run.run_id} no longer holds {run.output} ({taken}). "
                    "Nothing of this run was committed; run the same command again.")


def release(run: RunRef) -> None:
    """Ends the run's hold: its beat, then its record (only while the record is its own: a
    run that was taken over leaves the new holder's alone; the new holder forgets it)."""
    base = join(run.output, LEASE_DIR)
    fs, beat = filesystem(join(base, f"{run.run_id}.beat"))
    _remove(fs, beat)
    if owns(run):
        _remove(fs, filesystem(join(base, _name(run.generation, "json")))[1])


def _remove(fs, path: str) -> None:
    try:
        fs.rm(path)
    except FileNotFoundError:
        pass


def stale_report(output: str, timeout: Optional[float] = None,
                 now: Optional[float] = None) -> Optional[str]:
    """One line when the dataset's lease is held but stale (for `validate`), else None; stale
    by `timeout`, by default the holder's own --lease-timeout."""
    holder = current(output)
    now = time.time() if now is None else now
    if holder is None:
        return None
    timeout = holder.record["lease_timeout"] if timeout is None else timeout
    if holder_gone(holder.record):
        return (f"stale lease: {describe(holder, now)}, and that process is gone; the next "
                "build or caption takes it over")
    if now - holder.last_beat() > timeout:
        return (f"stale lease: {describe(holder, now)}, older than {timeout:g} s; if that run "
                "is dead, the next build or caption with --break-lease takes it over")
    return None


def live_run(output: str) -> Optional[str]:
    """The run id of the current holder, if any."""
    holder = current(output)
    return None if holder is None else holder.record["run_id"]
