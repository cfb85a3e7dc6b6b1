"""The Flink compose file: what the job server stages (--artifacts-dir) must be readable at the
same path on the taskmanager, which hands it to the SDK workers."""
import pathlib

import yaml

COMPOSE = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "flink" / "docker-compose.yaml"


def artifacts_dir(command):
    """The value of --artifacts-dir in a job server command (either spelling)."""
    for index, arg in enumerate(command):
        if arg.startswith("--artifacts-dir="):
            return arg.split("=", 1)[1]
        if arg == "--artifacts-dir":
            return command[index + 1]
    return None


def mounts(service):
    """{path in the container: volume name or host path}, short volume syntax."""
    found = {}
    for volume in service.get("volumes", ()):
        source, target = volume.split(":")[:2]
        found[target.rstrip("/")] = source
    return found


def source_of(service, path):
    """What provides `path` in the container: the mount at it or at a folder above it."""
    for target, source in mounts(service).items():
        if path == target or path.startswith(target + "/"):
            return source, path[len(target):]
    return None


def test_job_server_and_taskmanager_share_the_artifacts_dir():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    staged = artifacts_dir(services["job-server"]["command"])
    assert staged, "the job server keeps artifacts in its own /tmp unless told --artifacts-dir"
    at_job_server = source_of(services["job-server"], staged)
    at_taskmanager = source_of(services["taskmanager"], staged)
    assert at_job_server is not None, f"the job server does not mount {staged}"
    assert at_job_server == at_taskmanager, \
        f"{staged} is {at_job_server} on the job server, {at_taskmanager} on the taskmanager"
    volume = at_job_server[0]
    if not volume.startswith((".", "/")):  # a named volume must be declared
        assert volume in (compose.get("volumes") or {})
