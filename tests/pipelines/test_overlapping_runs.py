"""Two `idp-corpus build` processes on one dataset, local and on an S3 server (moto): one run at
a time holds the dataset, a waiting run goes next, a stale or dead holder is taken over, and
when two runs reach the commit together exactly one commits; the other fails cleanly and its
rerun completes the dataset. Every triple ends up in a shard exactly once.

A run is held at its commit point by tests/pipelines/paused_commit.py: it stops itself (SIGSTOP)
after its last lease check, just before it creates the version's marker; a stopped process
also stops its heartbeat, as a hung or partitioned one would.
"""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.validate import validate
from synthetic_inputs.videos import scene_video
from tests.pipelines.test_object_store import BUCKET, s3, upload  # noqa: F401 - its S3 server
from transforms.dataset import layout, lease, parts
from transforms.storage import filesystem, join

TIMEOUT = 120


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three groups of two small videos: a first version, then one group per run."""
    folder = tmp_path_factory.mktemp("overlap_videos")
    for group in ("base", "a", "b"):
        (folder / group).mkdir()
        for seed in range(2):
            scene_video(str(folder / group / f"{group}{seed}.mp4"), num_frames=30, width=64,
                        height=48, seed=seed + 10 * len(group) + ord(group[0]),
                        motion_spans=((5, 25),), speed=2)
    return folder


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path, videos):
    """(output URL, {group: input glob}) on the local disk or on the S3 server."""
    if request.param == "local":
        return str(tmp_path / "corpus"), {g: str(videos / g / "*") for g in ("base", "a", "b")}
    client = request.getfixturevalue("s3")
    prefix = f"overlap/{request.node.name.replace('[', '-').rstrip(']')}"
    for group in ("base", "a", "b"):
        upload(client, videos / group, f"{prefix}/videos/{group}")
    import s3fs
    s3fs.S3FileSystem.clear_instance_cache()
    return f"s3://{BUCKET}/{prefix}/corpus", {
        g: f"s3://{BUCKET}/{prefix}/videos/{g}/*" for g in ("base", "a", "b")}


def command(output, inputs, *extra, pause=False):
    module = "tests.pipelines.paused_commit" if pause else "pipelines.cli"
    return [sys.executable, "-m", module, "build", "--input", inputs, "--output",
            output, "--no-caption", "--sampler", "first_last", "--direct_running_mode",
            "in_memory", *extra]


def start(output, inputs, *extra, pause=False, log=None):
    return subprocess.Popen(command(output, inputs, *extra, pause=pause),
                            stdout=log or subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def run(output, inputs, *extra):
    return subprocess.run(command(output, inputs, *extra), capture_output=True, text=True,
                          timeout=TIMEOUT)


def stopped(process) -> bool:
    with open(f"/proc/{process.pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] == "T"


def wait_stopped(process):
    deadline = time.time() + TIMEOUT
    while not stopped(process):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline
        time.sleep(0.05)


def finish(process) -> subprocess.CompletedProcess:
    try:
        os.killpg(process.pid, signal.SIGCONT)
    except ProcessLookupError:  # it has ended already
        pass
    out, err = process.communicate(timeout=TIMEOUT)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def checked(output) -> list:
    """`validate`'s problems, with no listing cached from before the other processes wrote."""
    filesystem(output)[0].invalidate_cache()
    return validate(output)


def read_while_running(output, processes) -> set:
    """Follows index.json as a reader does until the processes end; every version it reads is
    whole (each listed shard there at its listed size, its stats readable). Returns the
    versions seen."""
    fs, root = filesystem(output)
    seen = set()
    while any(process.poll() is None for process in processes):
        fs.invalidate_cache()
        index = json.loads(fs.cat_file(join(root, "index.json")))
        for shard in index["shards"]:
            assert fs.info(join(root, shard["url"]))["size"] == shard["size"], shard
        json.loads(fs.cat_file(join(root, index["stats"])))
        seen.add(index["version"])
        time.sleep(0.02)
    return seen


def committed(output) -> dict:
    """{path: bytes} of the index and everything it names."""
    fs, root = filesystem(output)
    fs.invalidate_cache()
    index = json.loads(fs.cat_file(join(root, "index.json")))
    names = ["index.json", *parts.named_files(index)]
    return {name: fs.cat_file(join(root, name)) for name in names}


def triple_sources(output) -> list:
    """The source file name of every triple in the shards the index lists, once per triple."""
    from transforms.shard_read import iter_shard
    fs, root = filesystem(output)
    index = json.loads(fs.cat_file(join(root, "index.json")))
    return sorted(json.loads(members["json"])["source_uri"].rsplit("/", 1)[-1]
                  for shard in index["shards"]
                  for _, members in iter_shard(join(output, shard["url"])))


def leftovers(output) -> list:
    fs, root = filesystem(output)
    fs.invalidate_cache()
    return [path for folder in (layout.LEASE_DIR, layout.RUNS_DIR)
            for path in (fs.find(join(root, folder)) if fs.exists(join(root, folder)) else [])]


@pytest.fixture
def dataset(where):
    """A first version built from the base videos."""
    output, inputs = where
    done = run(output, inputs["base"])
    assert done.returncode == 0, done.stderr[-3000:]
    return output, inputs


def test_simultaneous_builds_one_refuses_and_a_waiting_one_goes_next(dataset):
    output, inputs = dataset
    before = committed(output)
    first, second = (start(output, inputs[g], pause=True) for g in ("a", "b"))
    # Whichever took the lease runs to its commit point and stops there; the other refuses.
    refused, deadline = None, time.time() + TIMEOUT
    while refused is None and time.time() < deadline:
        refused = next((p for p in (first, second) if p.poll() is not None), None)
        time.sleep(0.05)
    holder = second if refused is first else first
    wait_stopped(holder)
    out, err = refused.communicate()
    assert refused.returncode == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert "is held by run" in last and "since" in last and "last heartbeat" in last
    assert "--wait" in last
    assert committed(output) == before  # the refused run changed nothing
    assert checked(output) == []  # the holder's own folder is not the dataset's problem

    group = "b" if refused is second else "a"
    waiting = start(output, inputs[group], "--wait")
    time.sleep(1)
    assert waiting.poll() is None  # it waits while the holder holds
    os.killpg(holder.pid, signal.SIGCONT)
    seen = read_while_running(output, [holder, waiting])
    assert len(seen) >= 2, seen  # a reader saw the old version and the new ones, each whole
    assert finish(holder).returncode == 0
    done = finish(waiting)
    assert done.returncode == 0, done.stderr[-3000:]
    assert checked(output) == []
    assert triple_sources(output) == sorted(["base0.mp4", "base1.mp4", "a0.mp4", "a1.mp4",
                                             "b0.mp4", "b1.mp4"])
    assert leftovers(output) == []


def test_a_commit_race_has_one_winner_and_the_losers_rerun_completes(dataset):
    output, inputs = dataset
    stale = start(output, inputs["a"], "--lease-timeout", "1", pause=True)
    try:
        wait_stopped(stale)  # past its lease check, about to commit; its heartbeat stopped
        time.sleep(1.5)
        refused = run(output, inputs["b"], "--lease-timeout", "1")
        assert refused.returncode == 2
        assert "--break-lease" in refused.stderr.strip().splitlines()[-1]
        assert any("stale lease" in problem for problem in checked(output))
        broke = run(output, inputs["b"], "--lease-timeout", "1", "--break-lease")
        assert broke.returncode == 0, broke.stderr[-3000:]
        lost = finish(stale)  # it resumes at the commit point: the version is taken
    finally:
        if stale.poll() is None:
            os.killpg(stale.pid, signal.SIGKILL)
    assert lost.returncode == 1 and "LostRace" in lost.stderr, lost.stderr[-3000:]
    assert checked(output) == []
    assert triple_sources(output) == sorted(["base0.mp4", "base1.mp4", "b0.mp4", "b1.mp4"])
    rerun = run(output, inputs["a"])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert checked(output) == []
    assert triple_sources(output) == sorted(["base0.mp4", "base1.mp4", "a0.mp4", "a1.mp4",
                                             "b0.mp4", "b1.mp4"])
    assert leftovers(output) == []


@pytest.mark.parametrize("where", ["local"], indirect=True)  # on S3: test_object_store's kills
def test_a_sigkilled_holder_is_taken_over_by_the_rerun(dataset):
    output, inputs = dataset
    killed = start(output, inputs["a"], pause=True)
    wait_stopped(killed)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    rerun = run(output, inputs["a"])  # no --break-lease: its holder is gone on this host
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert checked(output) == []
    assert triple_sources(output) == sorted(["base0.mp4", "base1.mp4", "a0.mp4", "a1.mp4"])
    assert leftovers(output) == []


def test_caption_refuses_while_another_run_holds_the_dataset(tmp_path, capsys):
    from pipelines.cli import main
    holder = lease.take(str(tmp_path), "idp-corpus build", lease.LeaseConfig(), lambda: 0, True)
    assert main(["caption", str(tmp_path), "--model", "any"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"is held by run {holder.run_id}" in last and "--wait" in last
