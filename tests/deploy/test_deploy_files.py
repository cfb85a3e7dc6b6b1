"""What can be checked of deploy/ without a cluster: files parse, scripts are sound shell, the
DAG compiles against Airflow names only, and the container's pins agree with pyproject."""
import ast
import json
import pathlib
import py_compile
import re
import shutil
import subprocess

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPTS = sorted(DEPLOY.rglob("*.sh"))
CONFIGS = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.json")])
DAG = DEPLOY / "schedule" / "refresh_dag.py"


def relative(path):
    return str(path.relative_to(ROOT))


def test_deploy_holds_what_a_first_cluster_run_needs():
    for name in ("Dockerfile", "requirements.txt", "README.md", "dataflow/launch.sh",
                 "flink/docker-compose.yaml", "flink/run.sh", "schedule/cronjob.yaml",
                 "schedule/refresh_dag.py"):
        assert (DEPLOY / name).is_file(), name


@pytest.mark.parametrize("path", CONFIGS, ids=relative)
def test_yaml_and_json_parse(path):
    if path.suffix == ".json":
        documents = [json.loads(path.read_text())]
    else:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert documents and all(isinstance(doc, dict) for doc in documents)


@pytest.mark.parametrize("path", SCRIPTS, ids=relative)
def test_shell_script_is_strict_executable_bash(path):
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert path.stat().st_mode & 0o111, f"{relative(path)} is not executable"
    done = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck is not installed (apt-get install -y shellcheck)")
@pytest.mark.parametrize("path", SCRIPTS, ids=relative)
def test_shell_script_passes_shellcheck(path):
    done = subprocess.run(["shellcheck", "--shell=bash", str(path)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout


def test_airflow_dag_compiles_and_imports_only_airflow(tmp_path):
    py_compile.compile(str(DAG), cfile=str(tmp_path / "dag.pyc"), doraise=True)
    allowed = {"__future__", "datetime", "airflow"}
    for node in ast.walk(ast.parse(DAG.read_text())):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module]
        else:
            continue
        for module in modules:
            assert module.split(".")[0] in allowed, f"the DAG imports {module}"
    text = DAG.read_text()
    assert "max_active_runs=1" in text and "catchup=False" in text


def test_cronjob_never_overlaps_and_runs_a_script_the_image_has():
    (job,) = yaml.safe_load_all((DEPLOY / "schedule" / "cronjob.yaml").read_text())
    assert job["kind"] == "CronJob" and job["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    script = next(arg for arg in container["command"] if arg.endswith(".sh"))
    assert script.startswith("/opt/idp-corpus/")
    assert (ROOT / script[len("/opt/idp-corpus/"):]).is_file()
    assert f"COPY {script[len('/opt/idp-corpus/'):]}" in (DEPLOY / "Dockerfile").read_text()


def test_flink_compose_wires_the_worker_pool_beside_the_taskmanager():
    compose = yaml.safe_load((DEPLOY / "flink" / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {"jobmanager", "taskmanager", "job-server", "worker-pool"} <= set(services)
    assert all("image" in service for service in services.values())
    assert services["worker-pool"]["network_mode"] == "service:taskmanager"
    assert services["worker-pool"]["command"] == ["--worker_pool"]
    run = (DEPLOY / "flink" / "run.sh").read_text()
    for flag in ("--runner PortableRunner", "--environment_type EXTERNAL", "--job_endpoint"):
        assert flag in run


def pins():
    found = {}
    for line in (DEPLOY / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            found[requirement.name.lower()] = requirement
    return found


def core_dependencies():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def test_container_pins_every_core_dependency_within_pyproject_bounds():
    pinned = pins()
    for requirement in pinned.values():
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{requirement} is not an exact pin"
    for dependency in core_dependencies():
        pin = pinned.get(dependency.name.lower())
        assert pin is not None, f"{dependency.name} is not pinned in deploy/requirements.txt"
        (spec,) = pin.specifier
        assert dependency.specifier.contains(spec.version, prereleases=True), \
            f"the pin {pin} does not satisfy pyproject's {dependency}"


def test_dockerfile_builds_on_the_pinned_beam_release_and_boots_beam():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (beam_version,) = re.findall(r"^ARG BEAM_VERSION=(\S+)$", dockerfile, re.MULTILINE)
    (spec,) = pins()["apache-beam"].specifier
    assert beam_version == spec.version
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile
    assert "COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam" in dockerfile
    for source in re.findall(r"^COPY (?!--)(\S+) ", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"
