"""deploy/dataflow/launch.sh, dry: the script runs for real with a stand-in `idp-corpus` first on
PATH that records its arguments (no job is submitted). The recorded command is split by the
CLI's own parser, and its Beam part parsed with Beam's PipelineOptions, as a real launch would."""
import importlib.util
import os
import pathlib
import signal
import subprocess
import time
import types

import pytest
import yaml
from apache_beam.options.pipeline_options import (DebugOptions, GoogleCloudOptions,
                                                  PipelineOptions, SetupOptions,
                                                  StandardOptions, WorkerOptions,
                                                  _BeamArgumentParser)
from apache_beam.transforms.resources import parse_resource_hints

from pipelines import cli
from pipelines import config as build_options

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "deploy" / "dataflow" / "launch.sh"
SETTINGS = dict(PROJECT="my-proj", REGION="us-central1", BUCKET="my-bucket",
                IMAGE="us-central1-docker.pkg.dev/my-proj/idp/idp-corpus:1",
                INPUT="gs://my-bucket/videos/*.mp4", MODEL="gs://my-bucket/models/idp")
# Dataflow: which machine family each GPU type attaches to.
GPU_FAMILY = {"nvidia-tesla-t4": "n1", "nvidia-tesla-p4": "n1", "nvidia-tesla-p100": "n1",
              "nvidia-tesla-v100": "n1", "nvidia-l4": "g2"}

STAND_IN = """#!/usr/bin/env bash
printf '%s\\0' "$@" > "${STAND_IN_ARGV}"
if [[ -n "${STAND_IN_PIDFILE:-}" ]]; then
  echo "$$" > "${STAND_IN_PIDFILE}"
  exec sleep 300
fi
"""
# A `date` that never answers the same twice: a job name built from the clock would differ.
CLOCK = """#!/usr/bin/env bash
echo "$RANDOM$RANDOM"
"""


@pytest.fixture
def bin_dir(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, text in (("idp-corpus", STAND_IN), ("date", CLOCK)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def launch_env(bin_dir, tmp_path, **overrides):
    env = {**os.environ, **SETTINGS, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "STAND_IN_ARGV": str(tmp_path / "argv")}
    for name in ("JOB_NAME", "GPU_HINT", "GPU_TYPE", "GPU_MACHINE_TYPE", "DRY_RUN"):
        env.pop(name, None)
    env.update(overrides)
    return env


def launch(bin_dir, tmp_path, *extra, **overrides):
    env = launch_env(bin_dir, tmp_path, **overrides)
    done = subprocess.run(["bash", str(LAUNCH), *extra], env=env, capture_output=True,
                          text=True, timeout=60)
    argv_file = tmp_path / "argv"
    argv = argv_file.read_text().split("\0")[:-1] if argv_file.exists() else None
    if argv_file.exists():
        argv_file.unlink()
    return done, argv


def beam_view(argv):
    """(the build's own arguments, Beam's PipelineOptions) as `idp-corpus build` splits them."""
    args, beam_args = cli.parser().parse_known_args(argv)
    assert args.command == "build"
    return args, beam_args, PipelineOptions(beam_args)


def unknown_to_beam(beam_args):
    """Flags no PipelineOptions class defines (Beam would discard them with a warning)."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)
    return parser.parse_known_args(beam_args)[1]


def hint_fields(hint):
    return dict(part.split(":", 1) if ":" in part else (part, "") for part in hint.split(";"))


def test_launch_passes_options_beam_accepts_for_a_dataflow_run(bin_dir, tmp_path):
    done, argv = launch(bin_dir, tmp_path, "--max-failure-ratio", "0.2")
    assert done.returncode == 0, done.stderr
    args, beam_args, options = beam_view(argv)
    assert unknown_to_beam(beam_args) == []
    config = build_options.build_config(args)
    assert config.write.output == "gs://my-bucket/idp-corpus"
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    cloud = options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region) == ("my-proj", "us-central1")
    assert cloud.temp_location.startswith("gs://") and cloud.staging_location.startswith("gs://")
    worker = options.view_as(WorkerOptions)
    assert worker.sdk_container_image == SETTINGS["IMAGE"]
    assert options.view_as(SetupOptions).sdk_location == "container"
    assert "use_runner_v2" in options.view_as(DebugOptions).experiments
    # Right fitting: the GPU comes from the caption stage's hint, never job-wide.
    assert not any("worker_accelerator" in option
                   for option in cloud.dataflow_service_options or ())


def test_the_gpu_hint_names_a_machine_the_gpu_attaches_to_with_memory_for_the_model(
        bin_dir, tmp_path):
    for overrides, family in (({}, "n1"), ({"GPU_TYPE": "nvidia-l4"}, "g2")):
        done, argv = launch(bin_dir, tmp_path, **overrides)
        assert done.returncode == 0, done.stderr
        args, _, options = beam_view(argv)
        hint = build_options.build_config(args).caption.accelerator
        parse_resource_hints({"accelerator": hint})  # Beam accepts it as a resource hint
        fields = hint_fields(hint)
        assert GPU_FAMILY[fields["type"]] == family
        machine = fields["machine_type"]
        assert machine.split("-")[0] == family, hint
        assert "install-nvidia-driver" in fields
        # Model weights load in the worker's RAM: no highcpu shapes, at least 8 vCPUs
        # (n1-highmem-8: 52 GB, g2-standard-8: 32 GB).
        assert machine.split("-")[1] in ("highmem", "standard") and int(machine.split("-")[2]) >= 8
        # The job-wide machine type is for the CPU pool and may be any family.
        assert options.view_as(WorkerOptions).machine_type == "n2-standard-8"


@pytest.mark.parametrize("overrides", [
    {"GPU_MACHINE_TYPE": "n2-standard-8"},
    {"GPU_TYPE": "nvidia-l4", "GPU_MACHINE_TYPE": "n1-highmem-8"},
    {"GPU_HINT": "type:nvidia-tesla-t4;count:1;install-nvidia-driver"},
])
def test_a_gpu_hint_dataflow_cannot_place_stops_before_launching(bin_dir, tmp_path, overrides):
    done, argv = launch(bin_dir, tmp_path, **overrides)
    assert done.returncode == 2 and argv is None
    assert "machine_type" in done.stderr.strip().splitlines()[-1]


def test_the_job_name_is_the_same_on_every_run_into_one_output(bin_dir, tmp_path):
    names = []
    for _ in range(2):
        done, argv = launch(bin_dir, tmp_path)
        assert done.returncode == 0, done.stderr
        names.append(beam_view(argv)[2].view_as(GoogleCloudOptions).job_name)
    assert names[0] == names[1]
    assert names[0].startswith("idp-corpus-my-bucket-idp-corpus-")
    done, argv = launch(bin_dir, tmp_path, OUTPUT="gs://my-bucket/other")
    assert beam_view(argv)[2].view_as(GoogleCloudOptions).job_name != names[0]


def test_scheduled_runs_keep_the_fixed_job_name():
    (job,) = yaml.safe_load_all((ROOT / "deploy" / "schedule" / "cronjob.yaml").read_text())
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert not any(item.get("name") == "JOB_NAME" for item in container.get("env", ()))
    assert all("--job_name" not in arg for arg in container.get("args", ()))
    dag = (ROOT / "deploy" / "schedule" / "refresh_dag.py").read_text()
    assert "JOB_NAME" not in dag and "--job_name" not in dag


def test_dry_run_prints_the_command_it_would_run(bin_dir, tmp_path):
    done, recorded = launch(bin_dir, tmp_path, "--no-caption")
    dry, none = launch(bin_dir, tmp_path, "--no-caption", DRY_RUN="true")
    assert dry.returncode == 0 and none is None
    printed = subprocess.run(["bash", "-c", f"printf '%s\\0' {dry.stdout.strip()}"],
                             capture_output=True, text=True).stdout.split("\0")[:-1]
    assert printed == ["idp-corpus", *recorded]


def test_a_stopped_launcher_cancels_its_job_or_says_in_one_line_it_did_not(bin_dir, tmp_path):
    pidfile = tmp_path / "launcher.pid"
    env = launch_env(bin_dir, tmp_path, STAND_IN_PIDFILE=str(pidfile), CANCEL_TIMEOUT_S="20")
    script = subprocess.Popen(["bash", str(LAUNCH)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and script.poll() is None
        time.sleep(0.05)
    launcher_pid = int(pidfile.read_text())
    script.send_signal(signal.SIGTERM)
    _, err = script.communicate(timeout=60)
    assert script.returncode == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(launcher_pid, 0)  # the launcher was stopped too
    name = beam_view(pathlib.Path(env["STAND_IN_ARGV"]).read_text().split("\0")[:-1])[2] \
        .view_as(GoogleCloudOptions).job_name
    last = err.strip().splitlines()[-1]
    assert last.startswith(("cancelled Dataflow job", "no active Dataflow job named",
                            "did NOT cancel Dataflow job")), err
    assert name in last


def load_cancel_job():
    spec = importlib.util.spec_from_file_location(
        "cancel_job", ROOT / "deploy" / "dataflow" / "cancel_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cancel_lookup_finds_the_active_job_of_that_name_or_none():
    cancel_job = load_cancel_job()
    job = types.SimpleNamespace(name="idp-corpus-x", id="2026-01-01_00_00_00-1")
    listings = iter([[], [types.SimpleNamespace(name="other", id="9"), job]])
    found = cancel_job.find_active(lambda: next(listings), "idp-corpus-x", lookups=2,
                                   pause_s=0)
    assert found is job  # listed on the second lookup, as a just-submitted job may be
    assert cancel_job.find_active(lambda: [job], "idp-corpus-y", lookups=2, pause_s=0) is None


def test_the_caption_stage_default_hint_names_a_machine_its_gpu_attaches_to():
    """What a run without launch.sh gets (`idp-corpus build --runner DataflowRunner ...`)."""
    from transforms.caption.config import CaptionConfig
    hint = CaptionConfig(model="m").accelerator
    parse_resource_hints({"accelerator": hint})
    fields = hint_fields(hint)
    assert fields["machine_type"].split("-")[0] == GPU_FAMILY[fields["type"]], hint
