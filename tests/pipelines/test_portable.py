"""The full build through Beam's PortableRunner, the path Flink, Spark and Dataflow take.

A local job service and an external SDK worker pool run as processes of their own, so every
DoFn, model handler and config crosses a process boundary pickled, and nothing can lean on the
launching process's module state or working folder. Output must be byte-identical to the
DirectRunner's.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from transforms.dataset.parts import named_files

BUILD_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log, limit: float = 60) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited with {process.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port} after {limit} s: {log.read_text()[-2000:]}")


def start_service(module, args, log, env=None):
    """`python -m module args` in its own process group, output to `log`."""
    with open(log, "wb") as sink:
        return subprocess.Popen([sys.executable, "-m", module, *args], stdout=sink,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop_service(process: subprocess.Popen) -> int:
    """SIGTERM to the service's process group (it and any SDK workers it started), then
    SIGKILL what is left after 10 s; returns how the service itself ended."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    return process.wait(timeout=10)


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """Beam options that send a job to a local job service with an external worker pool."""
    root = tmp_path_factory.mktemp("portable")
    job_port, pool_port = free_port(), free_port()
    # The pool starts each SDK worker as `python -c ...`: the first `python` on PATH must be
    # the interpreter that has the project installed.
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
           + os.environ.get("PATH", "")}
    logs = {"job": root / "job_service.log", "pool": root / "worker_pool.log"}
    job_service = start_service(
        "apache_beam.runners.portability.local_job_service_main",
        ["--port", str(job_port), "--staging_dir", str(root / "staging")], logs["job"])
    pool = start_service("apache_beam.runners.worker.worker_pool_main",
                         ["--service_port", str(pool_port)], logs["pool"], env=env)
    try:
        wait_for_port(job_port, job_service, logs["job"])
        wait_for_port(pool_port, pool, logs["pool"])
        yield {"args": ["--runner", "PortableRunner", "--job_endpoint", f"localhost:{job_port}",
                        "--environment_type", "EXTERNAL",
                        "--environment_config", f"localhost:{pool_port}"],
               "logs": logs}
    finally:
        stopped = {name: stop_service(process)
                   for name, process in (("job", job_service), ("pool", pool))}
    assert all(code is not None for code in stopped.values()), stopped


def build(*args) -> dict:
    command = [sys.executable, "-m", "pipelines.cli", "build", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def committed_files(folder) -> dict:
    """{relative path: bytes} of the index and of everything it names."""
    index = json.loads((folder / "index.json").read_text())
    names = ["index.json", *named_files(index)]
    return {name: (folder / name).read_bytes() for name in names}


def all_files(folder) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def assert_same_as_direct(tmp_path, portable, options):
    direct, remote = tmp_path / "direct", tmp_path / "portable"
    expected = build(*options, "--output", direct, "--direct_running_mode", "in_memory")
    workers_before = portable["logs"]["pool"].read_text().count("Starting worker")
    got = build(*options, "--output", remote, *portable["args"])
    # The work ran in SDK worker processes the pool started, not in the launcher.
    assert portable["logs"]["pool"].read_text().count("Starting worker") > workers_before
    assert got == expected  # the dataset's stats and this run's counters
    assert expected["dataset"]["triples"] > 0
    reference = committed_files(direct)
    assert committed_files(remote).keys() == reference.keys()
    for name, data in committed_files(remote).items():
        assert data == reference[name], f"{name} differs from the DirectRunner's"
    assert all_files(remote) == all_files(direct)  # nothing else, no stray temporaries


def test_portable_runner_without_captions_equals_direct_runner(tmp_path, portable, video_folder):
    assert_same_as_direct(tmp_path, portable, [
        "--input", video_folder / "*", "--no-caption", "--samples-per-shard", "2"])


def test_portable_runner_with_the_model_equals_direct_runner(tmp_path, portable, video_folder,
                                                             tiny_vlm_path):
    assert_same_as_direct(tmp_path, portable, [
        "--input", video_folder / "*", "--model", tiny_vlm_path, "--batch-size", "2",
        "--qc-policy", "flag",
        "--samples-per-shard", "2"])


def hinted_transforms(*flags, runner="DataflowRunner") -> dict:
    """{transform label: accelerator hint} of every transform of the build that asks for one,
    composed for `runner` (run by none: only the graph is looked at)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.portability.common_urns import resource_hints

    from pipelines.build import compose
    from pipelines.cli import parser
    from pipelines.config import build_config

    args, _ = parser().parse_known_args(["build", "--input", "in/*", "--output", "out", *flags])
    # An explicit runner object keeps Dataflow's option checks (project, region) out of it.
    pipeline = beam.Pipeline(runner="DirectRunner", options=PipelineOptions(["--runner", runner]))
    compose(pipeline, build_config(args))
    proto = pipeline.to_runner_api()
    accelerator = resource_hints.ACCELERATOR.urn
    hints = {env_id: env.resource_hints.get(accelerator)
             for env_id, env in proto.components.environments.items()}
    return {t.unique_name: hints[t.environment_id].decode()
            for t in proto.components.transforms.values()
            if t.environment_id and hints.get(t.environment_id)}


def test_only_the_caption_stage_asks_for_a_gpu():
    hinted = hinted_transforms("--model", "some/model")
    assert hinted and all(name.startswith("Caption/Infer") for name in hinted)
    assert set(hinted.values()) == {
        "type:nvidia-tesla-t4;count:1;machine_type:n1-highmem-8;install-nvidia-driver"}
    assert hinted_transforms("--model", "some/model", runner="dataflow") == hinted
    assert not hinted_transforms("--model", "some/model", "--device", "cpu")
    assert not hinted_transforms("--no-caption")


def test_other_runners_get_no_hint_that_would_split_the_caption_stage_off():
    for runner in ("DirectRunner", "PortableRunner", "FlinkRunner"):
        assert not hinted_transforms("--model", "some/model", runner=runner)
