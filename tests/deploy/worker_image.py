"""The worker image's Python layout, rebuilt on this machine without Docker.

What is real: a base interpreter that is not a virtual environment (this machine's CPython
binary copied to its own prefix, standard library linked in), standing for the image's
/usr/bin/python3.11; a virtual environment made from it where the Dockerfile makes one; the
project installed into whichever the Dockerfile's pip fills, by pip, from exactly the files its
COPYs put in the image; the console script pip writes; and Beam boot's own command for the
SDK worker's environment, `python -m venv --system-site-packages DIR` (boot.go, setupVenv),
run with --without-pip here: pip in the venv changes nothing it imports, and leaving it out
saves seconds.

What is simulated: the pinned dependencies (apache-beam, torch, ...) are not downloaded again;
a .pth file in the same site-packages points at this test environment's site-packages, which
holds the same packages (in this environment's versions, not necessarily the image's pins).
A .pth line adds one folder to sys.path exactly where pip would have put the packages, so what
a fresh venv sees of them is what it would see of installed ones.
"""
from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import site
import subprocess
import sys
import sysconfig
from typing import List, Optional

from tests.deploy import image_spec


@dataclasses.dataclass(frozen=True)
class Image:
    python: pathlib.Path   # the `python` first on the image's PATH
    site: pathlib.Path     # where its pip installs packages
    scripts: pathlib.Path  # where its pip puts console scripts


def clean_env(**extra) -> dict:
    """No PYTHONPATH (the tests run with the worktree on it) and no user site: only the
    layout under test may provide the project."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    env.update(extra)
    return env


def run(argv: List[str], cwd: pathlib.Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=300)


def query(python: pathlib.Path, expression: str, cwd: pathlib.Path) -> str:
    done = run([python, "-c", f"import site, sysconfig; print({expression})"], cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def base_interpreter(prefix: pathlib.Path) -> pathlib.Path:
    """A CPython of its own prefix: sys.prefix == sys.base_prefix == prefix."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = pathlib.Path(sysconfig.get_path("stdlib"))
    (prefix / "bin").mkdir(parents=True)
    lib = prefix / "lib" / version
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages"):
            (lib / entry.name).symlink_to(entry)
    python = prefix / "bin" / version
    shutil.copy2(os.path.realpath(sys._base_executable), python)
    (prefix / "bin" / "python").symlink_to(version)
    return python


def dependencies_pth(site_dir: pathlib.Path) -> None:
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "pinned_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")


def build(stage, root: pathlib.Path, install_project: bool = True) -> Image:
    """The image's interpreter, dependencies and (unless told not to) the project, under
    root/image (the image's filesystem) and root/prefix (its Python)."""
    python = base_interpreter(root / "prefix")
    venv = image_spec.pip_target_venv(stage)
    if venv:  # the Dockerfile installs into a venv of its own
        target = root / "image" / venv.lstrip("/")
        done = run([python, "-m", "venv", "--without-pip", target], root)
        assert done.returncode == 0, done.stderr
        python = target / "bin" / "python"
    site_dir = pathlib.Path(query(python, "sysconfig.get_path('purelib')", root))
    scripts = pathlib.Path(query(python, "sysconfig.get_path('scripts')", root))
    dependencies_pth(site_dir)
    if install_project:
        context = image_spec.build_context()
        workdir = image_spec.copy_into(context, stage, root / "image")
        # --ignore-installed: this interpreter sees the test environment's packages (the .pth),
        # which may hold idp-corpus itself (an editable install); a base interpreter's pip
        # would otherwise uninstall it from there to install this copy.
        done = run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--no-index", "--ignore-installed", "--quiet", workdir], root)
        assert done.returncode == 0, done.stdout + done.stderr
    return Image(python=python, site=site_dir, scripts=scripts)


def boot_python(image: Image, root: pathlib.Path, default_environment: Optional[str]) -> \
        pathlib.Path:
    """The interpreter boot runs the SDK harness with: the image's `python`, or, unless
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT is set, a venv boot makes from it first."""
    if default_environment:
        return image.python
    venv = root / "beam-venv-worker-1"
    done = run([image.python, "-m", "venv", "--system-site-packages", "--without-pip", venv],
               root)
    assert done.returncode == 0, done.stderr
    return venv / "bin" / "python"
