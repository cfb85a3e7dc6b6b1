"""What deploy/Dockerfile builds, read without a Docker daemon: the build context (its
.dockerignore applied with docker's own matcher), the files each COPY puts in the image, the
final stage's environment, and which interpreter `pip install` fills."""
from __future__ import annotations

import dataclasses
import pathlib
import re
import shlex
import shutil
import tomllib
from typing import Dict, List, Optional, Set, Tuple

import setuptools
from docker.utils.build import exclude_paths

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # the base images'


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> List[Instruction]:
    """Dockerfile instructions, continuation lines joined and comments dropped."""
    found, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, args = pending.strip().partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    return found


def final_stage(text: str) -> List[Instruction]:
    steps = instructions(text)
    last_from = max(i for i, step in enumerate(steps) if step.keyword == "FROM")
    return steps[last_from:]


def expand(text: str, values: Dict[str, str]) -> str:
    """${VAR} and $VAR replaced by the ENV values known; others (build ARGs) left as they are."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), text)


def env(stage: List[Instruction], upto: Optional[int] = None) -> Dict[str, str]:
    """ENV values set in the stage (before instruction `upto`), expanded."""
    values: Dict[str, str] = {"PATH": BASE_PATH}
    for step in stage[:upto]:
        if step.keyword != "ENV":
            continue
        for pair in shlex.split(step.args):
            key, _, value = pair.partition("=")
            values[key] = expand(value, values)
    return values


def run_commands(stage: List[Instruction]) -> List[Tuple[int, str]]:
    return [(i, step.args) for i, step in enumerate(stage) if step.keyword == "RUN"]


def pip_target_venv(stage: List[Instruction]) -> Optional[str]:
    """The virtual environment the requirements go into, or None for the image's interpreter:
    the first venv on PATH (a folder made by `python -m venv` earlier in the stage) when the
    `pip install -r` runs."""
    created: List[str] = []
    for index, command in run_commands(stage):
        command = expand(command, env(stage, index))
        for match in re.finditer(r"-m venv ((?:--\S+ )*)(\S+)", command):
            created.append(match.group(2).strip("\"'"))
        if re.search(r"pip install (?:\S+ )*-r ", command):
            path = env(stage, index)["PATH"].split(":")
            for folder in path:
                for venv in created:
                    if folder.rstrip("/") == venv.rstrip("/") + "/bin":
                        return venv
            return None
    raise AssertionError("the Dockerfile installs no requirements file")


def workdir(stage: List[Instruction]) -> str:
    (last,) = [step.args for step in stage if step.keyword == "WORKDIR"][-1:]
    return last


def copies(stage: List[Instruction]) -> List[Tuple[List[str], str]]:
    """(sources, destination) of each COPY from the build context (not --from a stage)."""
    found = []
    for step in stage:
        if step.keyword != "COPY" or step.args.startswith("--from"):
            continue
        parts = shlex.split(step.args)
        found.append((parts[:-1], parts[-1]))
    return found


def dockerignore_patterns() -> List[str]:
    """Read as docker's client reads .dockerignore: stripped lines, no blanks or comments."""
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def build_context(root: pathlib.Path = ROOT) -> Set[str]:
    """Paths (files and folders, relative, '/'-separated) sent to the builder."""
    included = exclude_paths(str(root), dockerignore_patterns(),
                             dockerfile=str(DOCKERFILE.relative_to(root)))
    return {path.replace("\\", "/") for path in included}


def copy_into(context: Set[str], stage: List[Instruction], image_root: pathlib.Path,
              root: pathlib.Path = ROOT) -> pathlib.Path:
    """Lays out under image_root what the stage's COPYs put in the image; returns WORKDIR
    there. A source the context lacks fails, as `docker build` does."""
    work = image_root / workdir(stage).lstrip("/")
    work.mkdir(parents=True, exist_ok=True)
    for sources, destination in copies(stage):
        target = pathlib.Path(destination) if destination.startswith("/") else None
        target = image_root / destination.lstrip("/") if target else work / destination
        for source in sources:
            source = source.rstrip("/")
            if source not in context:
                raise FileNotFoundError(f"COPY {source}: not in the build context")
            if (root / source).is_dir():
                for path in sorted(context):
                    if path.startswith(source + "/") and (root / path).is_file():
                        copied = target / path[len(source) + 1:]
                        copied.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(root / path, copied)
            else:
                into_folder = destination.endswith("/") or len(sources) > 1
                copied = target / pathlib.Path(source).name if into_folder else target
                copied.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / source, copied)
    return work


def installed_packages(where: pathlib.Path = ROOT) -> List[str]:
    """The packages `pip install .` installs, found as setuptools finds them."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]
    return setuptools.find_packages(where=str(where), include=find["include"],
                                    exclude=find.get("exclude", ()))
