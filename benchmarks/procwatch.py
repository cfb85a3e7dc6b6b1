"""Peak memory of a process tree, read from /proc (Linux): each process's own peak (VmHWM),
sampled while it runs, and the largest sum of current RSS over the whole tree."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from typing import Dict, List


def _status(pid: int) -> Dict[str, str]:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return dict(line.rstrip("\n").split(":\t", 1) for line in handle if ":\t" in line)
    except OSError:
        return {}


def _kib(value: str) -> int:
    return int(value.split()[0]) if value else 0


def _children(pid: int) -> List[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


def tree(pid: int) -> List[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


class Watch:
    """Runs a command; `peaks` maps pid -> (command line, peak RSS MiB) for every process seen."""

    def __init__(self, argv: List[str], interval: float = 0.1, **popen):
        self.peaks: Dict[int, tuple] = {}
        self.tree_peak_mib = 0.0
        self._argv, self._interval, self._popen = argv, interval, popen

    def run(self) -> "Watch":
        start = time.perf_counter()
        cpu0 = os.times()
        process = subprocess.Popen(self._argv, **self._popen)
        done = threading.Event()

        def poll():
            while not done.is_set():
                total = 0
                for pid in tree(process.pid):
                    status = _status(pid)
                    if not status:
                        continue
                    total += _kib(status.get("VmRSS", ""))
                    peak = _kib(status.get("VmHWM", "")) / 1024
                    name = self.peaks.get(pid, (None,))[0] or _cmdline(pid)
                    if peak >= self.peaks.get(pid, (None, 0.0))[1]:
                        self.peaks[pid] = (name, peak)
                self.tree_peak_mib = max(self.tree_peak_mib, total / 1024)
                done.wait(self._interval)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        self.stdout, self.stderr = process.communicate()
        done.set()
        thread.join()
        cpu1 = os.times()
        self.returncode = process.returncode
        self.wall_s = time.perf_counter() - start
        # Children's CPU as reaped by this process (Beam reaps its workers and their children).
        self.cpu_s = (cpu1.children_user - cpu0.children_user
                      + cpu1.children_system - cpu0.children_system)
        return self

    def roles(self) -> Dict[str, float]:
        """Largest peak RSS (MiB) per kind of process: launcher (also the Beam workers of the
        default multi_threading mode), Beam worker process, decode child, and preflight's
        model check (a child that loads the model once before the run)."""
        found: Dict[str, float] = {}
        for name, peak in self.peaks.values():
            role = ("model_check_child"
                    if "transforms.isolation" in name and "caption.handler" in name
                    else "decode_child" if "transforms.isolation" in name
                    else "beam_worker" if "sdk_worker" in name or "worker_main" in name
                    else "launcher" if "idp-corpus" in name or "pipelines.cli" in name
                    else "other")
            found[role] = max(found.get(role, 0.0), round(peak, 1))
        return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")[:300]
    except OSError:
        return ""
