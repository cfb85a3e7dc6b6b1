"""The order test files start in under pytest-xdist: the longest first.

With `--dist loadfile` a worker runs a whole file, and a long file handed out last leaves the
other workers idle until it ends; started first, it runs beside many short ones. pytest-xdist's
own order (most tests first) hands out long files of few tests last. The list holds the files
that take tens of seconds, longest first (seconds they took on a 2-CPU machine, two workers);
every other file keeps its collection order after them. A file missing here only starts later.
"""

SLOWEST_FIRST = (
    "tests/models/test_training.py",
    "tests/pipelines/test_refresh.py",
    "tests/pipelines/test_portable.py",
    "tests/pipelines/test_overlapping_runs.py",
    "tests/models/test_commands.py",
    "tests/pipelines/test_score.py",
    "tests/pipelines/test_object_store.py",
    "tests/pipelines/test_build.py",
    "tests/pipelines/test_labelled.py",
    "tests/training/test_bundled_model.py",
    "tests/models/test_conformance.py",
    "tests/pipelines/test_bad_manifests.py",
    "tests/training/test_train_idp.py",
    "tests/deploy/test_worker_environment.py",
    "tests/pipelines/test_readers.py",
    "tests/pipelines/test_preflight.py",
    "tests/transforms/test_isolation.py",
    "tests/pipelines/test_clean_exit.py",
)


def slowest_first(items: list) -> list:
    """items reordered so SLOWEST_FIRST's files come first, in that order; a stable sort, so
    each file's tests keep their order and so does the rest."""
    rank = {path: place for place, path in enumerate(SLOWEST_FIRST)}
    return sorted(items, key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
