"""Beam's boot program against the install layout deploy/Dockerfile produces: the SDK worker
must import apache_beam, the project and the CLI in the environment boot gives it, and the
launcher's commands must run. How the layout is rebuilt, and what is simulated:
tests/deploy/worker_image.py."""
import subprocess

import pytest

from tests.deploy import image_spec, worker_image

WORKER_IMPORTS = (
    "import apache_beam, pipelines.build, pipelines.cli, transforms.caption.stage, procedural, "
    "training, decord, av, cv2, torch; "
    "pipelines.cli.parser(); "  # builds every subcommand: imports procedural and training
    "print(pipelines.__file__)")


@pytest.fixture(scope="module")
def stage():
    return image_spec.final_stage(image_spec.DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def image(stage, tmp_path_factory):
    return worker_image.build(stage, tmp_path_factory.mktemp("worker_image"))


def test_the_image_installs_into_its_own_interpreter_not_a_venv(stage):
    """boot's venv (--system-site-packages) sees the base interpreter's packages only."""
    assert image_spec.pip_target_venv(stage) is None


def test_the_image_runs_the_sdk_in_its_default_environment(stage):
    assert image_spec.env(stage).get("RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT") == "1"


def test_the_sdk_worker_imports_beam_the_project_and_the_cli_in_boots_venv(image, tmp_path):
    """boot's default (RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT unset): the stricter case."""
    python = worker_image.boot_python(image, tmp_path, default_environment=None)
    done = worker_image.run([python, "-c", WORKER_IMPORTS], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    # The installed copy, not the source tree or the test environment, provided the project.
    assert done.stdout.strip().splitlines()[-1].startswith(str(image.site)), done.stdout


def test_the_sdk_worker_imports_beam_and_the_project_in_the_default_environment(image,
                                                                                tmp_path):
    python = worker_image.boot_python(image, tmp_path, default_environment="1")
    done = worker_image.run([python, "-c", "import apache_beam, pipelines.build"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_the_launcher_commands_run_from_the_installed_console_script(image, tmp_path):
    commands = [["--help"], ["build", "--help"]]
    running = [subprocess.Popen([str(image.scripts / "idp-corpus"), *argv], cwd=tmp_path,
                                env=worker_image.clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for argv in commands]
    for argv, process in zip(commands, running):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (argv, err[-3000:])
        assert "usage: idp-corpus" in out


def test_a_venv_install_is_what_boot_cannot_see(tmp_path):
    """The fault this file guards against, shown on its own: packages installed into a venv
    of the image (the earlier Dockerfile's /opt/venv) are invisible to the venv boot makes
    from that venv's python."""
    venv_layout = image_spec.final_stage(
        "FROM ubuntu\n"
        "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:${PATH}\n"
        "RUN python3.11 -m venv \"${VIRTUAL_ENV}\"\n"
        "RUN pip install -r deploy/requirements.txt\n")
    image = worker_image.build(venv_layout, tmp_path / "image", install_project=False)
    done = worker_image.run([image.python, "-c", "import apache_beam"], tmp_path)
    assert done.returncode == 0, done.stderr  # the venv itself has Beam...
    python = worker_image.boot_python(image, tmp_path, default_environment=None)
    done = worker_image.run([python, "-c", "import apache_beam"], tmp_path)
    assert done.returncode != 0 and "No module named 'apache_beam'" in done.stderr


def test_the_image_build_step_runs_the_cli(stage):
    """The Dockerfile checks the same at build time, after installing the project."""
    commands = [command for _, command in image_spec.run_commands(stage)]
    install = next(i for i, c in enumerate(commands) if "pip install --no-deps ." in c)
    checked = " ".join(commands[install:])
    assert "idp-corpus --help" in checked
    assert "idp-corpus build --help" in checked
    assert "-m venv --system-site-packages" in checked


def test_pip_installs_every_file_of_the_projects_packages(image):
    """Data files beside the code (a template, a JSON table) reach a wheel only if pyproject
    declares them; an editable install hides their absence, the image does not."""
    root = image_spec.ROOT
    missing = []
    for package in image_spec.installed_packages():
        folder = root / package.replace(".", "/")
        for path in folder.iterdir():
            if path.is_file() and path.suffix != ".pyc":
                relative = path.relative_to(root)
                if not (image.site / relative).is_file():
                    missing.append(str(relative))
    assert not missing, f"not installed by pip: {missing}"
