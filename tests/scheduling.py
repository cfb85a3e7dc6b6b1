"""The order test files start in under pytest-xdist: the longest first.

With `--dist loadfile` a worker runs a whole file, and a long file handed out last leaves the
other workers idle until it ends; started first, it runs beside many short ones. pytest-xdist's
own order (most tests first) hands out long files of few tests last. The list holds the files
that take tens of seconds, longest first (beside each, its seconds on a 2-CPU machine with two
workers); every other file keeps its collection order after them. A file missing here only
starts later.
"""

SLOWEST_FIRST = (
    "tests/pipelines/test_overlapping_runs.py",  # 115
    "tests/pipelines/test_refresh.py",  # 95
    "tests/pipelines/test_build.py",  # 91, with the shared flagged build
    "tests/pipelines/test_score.py",  # 82
    "tests/models/test_commands.py",  # 81
    "tests/training/test_train_idp.py",  # 80
    "tests/pipelines/test_object_store.py",  # 62
    "tests/training/test_bundled_model.py",  # 58
    "tests/pipelines/test_labelled.py",  # 49
    "tests/pipelines/test_preflight.py",  # 47
    "tests/pipelines/test_portable.py",  # 39-62
    "tests/pipelines/test_report.py",  # 28 where it builds the shared flagged dataset
    "tests/pipelines/test_clean_exit.py",  # 27
    "tests/pipelines/test_bad_manifests.py",  # 26
    "tests/procedural/test_synth_pipeline.py",  # 25
    "tests/deploy/test_worker_environment.py",  # 21
    "tests/pipelines/test_fidelity.py",  # 19
    "tests/pipelines/test_parts_refresh.py",  # 18
    "tests/pipelines/test_validate.py",  # 18
    "tests/transforms/test_isolation.py",  # 14
)


def slowest_first(items: list) -> list:
    """items reordered so SLOWEST_FIRST's files come first, in that order; a stable sort, so
    each file's tests keep their order and so does the rest."""
    rank = {path: place for place, path in enumerate(SLOWEST_FIRST)}
    return sorted(items, key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
