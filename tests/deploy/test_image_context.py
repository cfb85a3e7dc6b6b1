"""The worker image's file set: Dockerfile.dockerignore applied to the repository with docker's
own matcher (docker.utils.build.exclude_paths, what `docker build` in docker-py sends), then the
Dockerfile's COPYs. Every package pyproject.toml installs, and every first-party module the
installed code imports (the CLI imports procedural and training), must arrive in the image."""
import ast
import pathlib

import pytest

from tests.deploy import image_spec
from tests.deploy.image_spec import installed_packages

ROOT = image_spec.ROOT


@pytest.fixture(scope="module")
def context():
    return image_spec.build_context()


@pytest.fixture(scope="module")
def stage():
    return image_spec.final_stage(image_spec.DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def image_workdir(context, stage, tmp_path_factory):
    return image_spec.copy_into(context, stage, tmp_path_factory.mktemp("image"))


def first_party_modules():
    """Top-level packages and modules of the repository a `import x` could mean."""
    names = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    return names | {path.stem for path in ROOT.glob("*.py")}


def imported_top_levels(package_dir: pathlib.Path):
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                yield path, [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, [node.module.split(".")[0]]


def test_every_copy_source_is_in_the_build_context(context, stage):
    for sources, _ in image_spec.copies(stage):
        for source in sources:
            assert source.rstrip("/") in context, \
                f"COPY {source}: Dockerfile.dockerignore keeps it out of the build context"


def test_every_package_pyproject_installs_is_in_the_context_and_copied(context, image_workdir):
    packages = installed_packages()
    assert {"pipelines", "transforms", "schemas", "procedural", "training"} <= set(packages)
    for package in packages:
        folder = package.replace(".", "/")
        for source in sorted((ROOT / folder).glob("*.py")):
            relative = str(source.relative_to(ROOT))
            assert relative in context, f"{relative} is excluded by Dockerfile.dockerignore"
            assert (image_workdir / relative).is_file(), f"the Dockerfile does not COPY {relative}"
    # What pip installs in the image: the same packages, found in the copied tree.
    assert set(installed_packages(image_workdir)) == set(packages)


def test_everything_the_installed_code_imports_from_the_project_is_installed():
    installed = {package.split(".")[0] for package in installed_packages()}
    first_party = first_party_modules()
    missing = []
    for top in sorted(installed):
        for path, modules in imported_top_levels(ROOT / top):
            for module in modules:
                if module in first_party and module not in installed:
                    missing.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not missing, "not installed in the image: " + "; ".join(missing)


def test_the_context_leaves_out_what_the_image_does_not_need(context):
    for name in ("tests", "docs", "benchmarks", ".git", ".venv", "models"):
        assert not any(path == name or path.startswith(name + "/") for path in context), name
    assert not any("__pycache__" in path for path in context)
