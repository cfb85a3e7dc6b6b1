"""Input videos and the output dataset on s3:// URLs, served by a local S3 server (moto's server
mode) in a process of its own, so it outlives a build killed with SIGKILL.

S3 has no rename: a shard becomes visible in one PUT, and index.json is written last. A killed
run must leave no index pointing at partial data, and running the same command again must
complete the dataset byte for byte as an uninterrupted run would have.
"""
import io
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tarfile
import time

import pyarrow.parquet as pq
import pytest

NEEDS = "the S3 tests need the test extra: pip install -e '.[test]'"
boto3 = pytest.importorskip("boto3", reason=NEEDS)
s3fs = pytest.importorskip("s3fs", reason=NEEDS)
pytest.importorskip("moto.server", reason=NEEDS)

from synthetic_inputs.videos import scene_video  # noqa: E402
from pipelines.validate import validate  # noqa: E402
from transforms.dataset.parts import named_files  # noqa: E402
from tests.transforms.test_write import stage_and_read_at_once  # noqa: E402
from transforms import staging  # noqa: E402
from transforms.dataset.layout import LEASE_DIR, RUNS_DIR, STAGING_DIR  # noqa: E402

BUCKET = "bucket"
BUILD_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server process, and the environment that points boto3, s3fs and every process
    the build starts at it (botocore reads AWS_ENDPOINT_URL; no fsspec config needed)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            deadline = time.time() + 60
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert server.poll() is None and time.time() < deadline, log.read_text()
                time.sleep(0.1)
            client = boto3.client("s3")
            client.create_bucket(Bucket=BUCKET)
            s3fs.S3FileSystem.clear_instance_cache()
            yield client
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)


def upload(client, folder, prefix):
    for path in sorted(pathlib.Path(folder).iterdir()):
        client.upload_file(str(path), BUCKET, f"{prefix}/{path.name}")


def objects(client, prefix) -> dict:
    """{key below prefix: bytes} of every object there, listed fresh from the server."""
    found = {}
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    for page in pages:
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            found[item["Key"][len(prefix) + 1:]] = body
    return found


def exists(client, key) -> bool:
    return client.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def build_command(*args):
    return [sys.executable, "-m", "pipelines.cli", "build", *map(str, args)]


def build(*args) -> dict:
    done = subprocess.run(build_command(*args), capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


# What legitimately differs between a build from s3:// and one from a local folder: a video's
# stamp is an ETag on S3 and a timestamp locally, a decoder's message names the path it read,
# and shard membership follows the keys' order, which follows the URIs' hashes.
WHERE_FROM = {"mtime", "source_stamp", "message", "shard"}


def local_view(files: dict) -> dict:
    """A dataset's samples and manifest rows with each video's id and URI replaced by its file
    name and WHERE_FROM left out, so that a build from s3:// and a local one can be compared."""
    videos = pq.read_table(io.BytesIO(files["manifest/videos.parquet"])).to_pylist()
    names = {row["video_id"]: row["uri"].rsplit("/", 1)[-1] for row in videos}
    uris = {row["uri"]: row["uri"].rsplit("/", 1)[-1] for row in videos}

    def plain(value):
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in WHERE_FROM}
        text = json.dumps(value, sort_keys=True, default=str)
        for old, new in [*uris.items(), *names.items()]:
            text = text.replace(old, new)
        return json.loads(text)

    def rows(name):
        table = pq.read_table(io.BytesIO(files[name])).to_pylist()
        return sorted((plain(row) for row in table),
                      key=lambda row: json.dumps(row, sort_keys=True))

    index = json.loads(files["index.json"])
    samples = {}
    for shard in index["shards"]:
        with tarfile.open(fileobj=io.BytesIO(files[shard["url"]])) as tar:
            for member in tar:
                data = tar.extractfile(member).read()
                name = plain(member.name)
                samples[name] = plain(json.loads(data)) if name.endswith(".json") else data
    return {
        "samples": samples,
        "videos": rows("manifest/videos.parquet"),
        "pairs": rows("manifest/pairs.parquet"),
        "stats": files["stats.json"],
        "shard_sizes": [shard["num_samples"] for shard in index["shards"]],
    }


def read_with_webdataset(monkeypatch, index_url):
    """The README's reader, streaming the shards the index lists straight from S3."""
    import fsspec
    import webdataset as wds
    monkeypatch.setitem(wds.gopen_schemes, "s3",
                        lambda url, mode="rb", bufsize=8192, **_: fsspec.open(url, mode).open())
    with fsspec.open(index_url, "rt") as handle:
        index = json.load(handle)
    base = index_url.rsplit("/", 1)[0]
    urls = [f"{base}/{shard['url']}" for shard in index["shards"]]
    return list(wds.WebDataset(urls, shardshuffle=False).decode("pil")
                .to_tuple("__key__", "before.jpg", "after.jpg", "json"))


def test_a_build_from_s3_to_s3_equals_a_local_build(tmp_path, s3, video_folder, monkeypatch):
    upload(s3, video_folder, "videos")
    options = ["--no-caption", "--samples-per-shard", "2", "--direct_running_mode", "in_memory"]
    local = tmp_path / "local"
    expected = build("--input", video_folder / "*", "--output", local, *options)
    got = build("--input", f"s3://{BUCKET}/videos/*", "--output", f"s3://{BUCKET}/corpus",
                *options)
    assert got == expected
    assert expected["dataset"]["triples"] > 0 and expected["dataset"]["videos"]["failed"] == 1

    stored = objects(s3, "corpus")
    local_files = {str(p.relative_to(local)): p.read_bytes()
                   for p in local.rglob("*") if p.is_file()}
    assert sorted(stored) == sorted(local_files)  # same files, no temporaries left on S3
    assert local_view(stored) == local_view(local_files)

    s3fs.S3FileSystem.clear_instance_cache()  # no listing cached from before the build
    assert validate(f"s3://{BUCKET}/corpus") == []
    read = read_with_webdataset(monkeypatch, f"s3://{BUCKET}/corpus/index.json")
    assert len(read) == expected["dataset"]["triples"]
    assert all(before.size == after.size for _, before, after, _ in read)
    assert [key for key, *_ in read] == sorted(key for key, *_ in read)


@pytest.fixture(scope="module")
def kill_inputs(s3, tmp_path_factory):
    """Six short videos on S3 and the objects an uninterrupted build writes from them."""
    folder = tmp_path_factory.mktemp("kill_videos")
    for seed in range(6):
        scene_video(str(folder / f"v{seed:02d}.mp4"), num_frames=60, width=96, height=72,
                    seed=seed, motion_spans=((5, 25), (35, 55)), speed=2)
    upload(s3, folder, "kill/videos")
    build(*kill_options("kill/reference"))
    return objects(s3, "kill/reference")


def kill_options(prefix):
    # One triple per shard: many separate uploads, so a kill can land between them.
    return ["--input", f"s3://{BUCKET}/kill/videos/*", "--output", f"s3://{BUCKET}/{prefix}",
            "--no-caption", "--samples-per-shard", "1", "--direct_running_mode", "in_memory"]


@pytest.mark.parametrize("moment", ["between_shards", "after_index"])
def test_a_build_killed_on_s3_is_completed_by_the_same_command(s3, kill_inputs, moment):
    prefix = f"kill/{moment}"
    ready = {
        "between_shards": lambda: exists(s3, f"{prefix}/shards/"),
        "after_index": lambda: exists(s3, f"{prefix}/index.json"),
    }[moment]
    process = subprocess.Popen(build_command(*kill_options(prefix)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not ready() and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert process.poll() is None or moment == "after_index", "the build ended before the kill"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    left = objects(s3, prefix)
    if moment == "after_index":
        # Committed before the kill: everything the index names is there and whole. What is
        # written after the index (plain-named copies, report, card) may lag until a rerun.
        index = json.loads(left["index.json"])
        named = {"index.json", *named_files(index)}
        assert {n: left.get(n) for n in named} == {n: kill_inputs[n] for n in named}
    else:
        assert "index.json" not in left  # nothing is visible as a dataset
        if moment == "between_shards":
            assert any(name.startswith("shards/") for name in left)
            assert any(name.startswith(f"{RUNS_DIR}/") and f"/{STAGING_DIR}/" in name
                       for name in left)
    for name, data in left.items():  # what is there is whole: no partial object on S3
        if name.startswith((f"{RUNS_DIR}/", f"{LEASE_DIR}/")):
            continue  # the killed run's lease and own folder: the rerun takes over and sweeps
        assert data == kill_inputs.get(name), f"{name} is partial or unexpected"

    build(*kill_options(prefix))
    assert objects(s3, prefix) == kill_inputs
    s3fs.S3FileSystem.clear_instance_cache()
    assert validate(f"s3://{BUCKET}/{prefix}") == []


def test_staged_images_are_read_back_at_once_from_s3(s3, monkeypatch):
    """On S3 a staging file exists only once it is closed: the caption stage, fused after
    staging, reads each triple's images as it arrives (tests/transforms/test_write.py)."""
    monkeypatch.setattr(staging, "ROLL_TRIPLES", 3)
    stage_and_read_at_once(f"s3://{BUCKET}/staged")
    assert len([key for key in objects(s3, "staged") if STAGING_DIR in key]) == 3
