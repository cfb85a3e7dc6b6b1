"""The run lease, the version marker and create-if-absent data files, in one process: the rules
that the two-process tests (tests/pipelines/test_overlapping_runs.py) rely on."""
import errno
import json
import os
import subprocess
import sys
import threading

import pytest

from transforms.dataset import index as dataset_index, layout, lease, runs
from transforms.dataset.heartbeat import Heartbeat
from transforms.dataset.lease import LeaseConfig
from transforms.storage import DataFileConflict, create_bytes


def take(output, config=LeaseConfig(), **kwargs):
    return lease.take(str(output), "idp-corpus build test", config, base_version=lambda: 0,
                      local=True, **kwargs)


def test_a_second_taker_is_refused_in_one_line_naming_the_holder(tmp_path):
    first = take(tmp_path)
    with pytest.raises(lease.LeaseHeld) as refused:
        take(tmp_path)
    message = str(refused.value)
    assert "\n" not in message
    assert first.run_id in message and "since" in message and "last heartbeat" in message
    assert "--wait" in message and "--break-lease" in message
    lease.release(first)
    assert os.listdir(tmp_path / layout.LEASE_DIR) == []  # a dataset at rest holds no lease
    take(tmp_path)


def test_of_many_simultaneous_takers_exactly_one_wins(tmp_path):
    won, refused = [], []

    def attempt():
        try:
            won.append(take(tmp_path))
        except lease.LeaseHeld:
            refused.append(True)
    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(refused) == 7
    assert lease.owns(won[0])


def test_wait_takes_the_lease_once_the_holder_releases_it(tmp_path):
    holder = take(tmp_path)
    slept = []

    def sleep(seconds):  # the holder finishes while the second run waits
        slept.append(seconds)
        lease.release(holder)
    second = take(tmp_path, LeaseConfig(wait=True), sleep=sleep)
    assert slept and lease.owns(second) and not lease.owns(holder)


def test_a_stale_lease_is_broken_only_when_asked_and_then_the_old_holder_cannot_commit(
        tmp_path):
    old = take(tmp_path)
    later = lease.current(str(tmp_path)).last_beat() + 100
    with pytest.raises(lease.LeaseHeld, match="older than --lease-timeout .* --break-lease"):
        take(tmp_path, LeaseConfig(lease_timeout=10), clock=lambda: later)
    assert "stale lease" in lease.stale_report(str(tmp_path), now=later + 1000)
    new = take(tmp_path, LeaseConfig(lease_timeout=10, break_lease=True), clock=lambda: later)
    assert lease.owns(new) and not lease.owns(old)
    with pytest.raises(lease.LeaseLost, match=f"taken over by run {new.run_id}"):
        lease.check_owner(old)
    lease.release(old)  # the old holder ending leaves the new holder's record alone
    assert lease.owns(new)


def test_a_holder_whose_process_is_gone_on_this_host_is_taken_over_at_once(tmp_path):
    code = ("import sys; from transforms.dataset import lease; "
            "lease.take(sys.argv[1], 'gone', lease.LeaseConfig(), lambda: 0, True)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True,
                   env={**os.environ, "PYTHONPATH": os.getcwd()})
    holder = lease.current(str(tmp_path))
    assert lease.holder_gone(holder.record)
    assert "that process is gone" in lease.stale_report(str(tmp_path))
    assert lease.owns(take(tmp_path))  # no --break-lease, no timeout


def test_the_heartbeat_beats_while_the_run_owns_the_lease_and_stops_after(tmp_path):
    run = take(tmp_path, LeaseConfig(lease_timeout=0.2))
    first = lease.current(str(tmp_path)).beat
    beats = Heartbeat(run).start()
    try:
        deadline = lease.time.time() + 10
        while lease.current(str(tmp_path)).beat == first and lease.time.time() < deadline:
            lease.time.sleep(0.02)
        assert lease.current(str(tmp_path)).beat > first
        lease.release(run)
        beats._thread.join(timeout=10)
        assert not beats.alive()  # it noticed the run no longer holds the lease
    finally:
        beats.stop()


def test_data_files_are_created_only_if_absent_and_the_same_bytes_are_accepted(tmp_path):
    url = str(tmp_path / "shards" / "shard-000000.tar")
    create_bytes(url, b"first", str(tmp_path / "tmp"))
    create_bytes(url, b"first", str(tmp_path / "tmp"))  # a retried bundle, a rerun
    with pytest.raises(DataFileConflict, match="already exists with other bytes"):
        create_bytes(url, b"other", str(tmp_path / "tmp"))
    assert open(url, "rb").read() == b"first"
    assert os.listdir(tmp_path / "tmp") == []  # no temporary beside the shards, none left


def test_two_commits_of_the_same_version_cannot_both_succeed(tmp_path):
    output = str(tmp_path)
    first = take(tmp_path)
    one = {"version": 1, "shards": [], "who": "one"}
    two = {"version": 1, "shards": [], "who": "two"}
    dataset_index.publish(output, one, json.dumps(one).encode(), first)
    dataset_index.publish(output, one, json.dumps(one).encode(), first)  # a retried commit
    with pytest.raises(dataset_index.LostRace):
        dataset_index.publish(output, two, json.dumps(two).encode(), None)
    with pytest.raises(dataset_index.StaleBase, match="version 1 was committed meanwhile"):
        dataset_index.publish(output, {"version": 1}, b"{}", first)  # started from 0, now 1
    assert json.loads((tmp_path / "index.json").read_text())["who"] == "one"


def test_a_pointer_left_behind_by_a_killed_commit_is_rolled_forward(tmp_path):
    output = str(tmp_path)
    for version in (1, 2):
        index = {"version": version, "shards": []}
        dataset_index.publish(output, index, json.dumps(index).encode(), None)
    index = {"version": 3, "shards": []}
    create_bytes(dataset_index.marker(output, 3), json.dumps(index).encode())  # died here
    assert json.loads((tmp_path / "index.json").read_text())["version"] == 2  # readers: v2
    assert dataset_index.current_version(output) == 3
    dataset_index.repair_pointer(output, dataset_index.current_index(output))
    assert json.loads((tmp_path / "index.json").read_text())["version"] == 3


def test_the_sweep_removes_runs_without_the_lease_and_their_unlisted_shards_only(tmp_path):
    output = str(tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    for name in ("shard-000000.tar", "shard-000001.tar", "shard-000002.tar"):
        (shards / name).write_bytes(b"x")
    for run_id, planned in (("dead", ["shard-000001.tar", "shard-000002.tar"]), ("live", [])):
        folder = tmp_path / layout.RUNS_DIR / run_id
        (folder / "staging").mkdir(parents=True)
        (folder / "staging" / "a.tmp-stage").write_bytes(b"staged")
        (folder / layout.PLANNED).write_text(json.dumps(planned))
    (tmp_path / "versions" / "v000002").mkdir(parents=True)
    (tmp_path / "versions" / "v000002" / "videos.parquet").write_bytes(b"uncommitted")
    swept = runs.sweep(output, "live", ["shard-000000.tar", "shard-000001.tar"],
                       str(tmp_path / "versions" / "v000002"))
    assert swept == ["dead"]
    assert sorted(os.listdir(shards)) == ["shard-000000.tar", "shard-000001.tar"]  # listed kept
    assert os.listdir(tmp_path / layout.RUNS_DIR) == ["live"]
    assert not (tmp_path / "versions" / "v000002").exists()


def test_a_failed_run_that_cannot_remove_its_staging_says_how_much_and_where(tmp_path,
                                                                             monkeypatch):
    run = take(tmp_path)
    os.makedirs(tmp_path / layout.RUNS_DIR / run.run_id / "staging")
    (tmp_path / layout.RUNS_DIR / run.run_id / "staging" / "x.tmp-stage").write_bytes(b"0" * 2048)

    def refuse(*_, **__):
        raise OSError(errno.EACCES, "read-only")
    monkeypatch.setattr(runs.shutil, "rmtree", refuse)
    left = runs.remove_failed_run(run, None)
    assert "2048 bytes" in left and run.run_id in left
    monkeypatch.undo()
    assert runs.remove_failed_run(run, None) is None


def test_a_run_that_lost_the_lease_commits_nothing_and_leaves_its_shard_record_to_the_holder(
        tmp_path):
    from transforms.dataset import manifest_stats
    from transforms.dataset.commit import commit_version
    output = str(tmp_path)
    old = take(tmp_path)
    later = lease.current(output).last_beat() + 100
    new = take(tmp_path, LeaseConfig(lease_timeout=10, break_lease=True), clock=lambda: later)
    with pytest.raises(lease.LeaseLost):
        commit_version(output, 1, [], [], [], manifest_stats.empty(), None, run=old)
    assert not (tmp_path / "versions").exists() and not (tmp_path / "index.json").exists()

    (tmp_path / layout.RUNS_DIR / old.run_id / "staging").mkdir(parents=True)
    (tmp_path / layout.RUNS_DIR / old.run_id / layout.PLANNED).write_text('["shard-000000.tar"]')
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "shard-000000.tar").write_bytes(b"written by the old run")
    assert runs.remove_failed_run(old, None) is None  # its staging goes, its shards stay...
    assert os.listdir(tmp_path / layout.RUNS_DIR / old.run_id) == [layout.PLANNED]
    runs.sweep(output, new.run_id, [], None)  # ...until the holder's sweep
    assert os.listdir(tmp_path / "shards") == [] and os.listdir(tmp_path / layout.RUNS_DIR) == []


def test_a_caption_worker_keeps_the_run_alive_from_loading_its_model(tmp_path, tiny_vlm_path):
    """On Dataflow the caption stage runs on GPU workers of its own, beside no other stage of
    the run: loading the model there must start the run's beat as the other workers do."""
    from transforms.dataset.heartbeat import _ProcessBeats, stop_beats
    from transforms.caption.config import CaptionConfig
    from transforms.caption.handler import IdpModelHandler
    run = take(tmp_path, LeaseConfig(lease_timeout=0.2))
    try:
        IdpModelHandler(CaptionConfig(model=tiny_vlm_path, device="cpu"), run).load_model()
        assert _ProcessBeats.beats[run.run_id].alive()
    finally:
        stop_beats(run)
        lease.release(run)
