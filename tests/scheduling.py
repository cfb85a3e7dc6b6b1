"""The order test files start in under pytest-xdist: the longest first.

With `--dist loadfile` a worker runs a whole file, and a long file handed out last leaves the
other workers idle until it ends; started first, it runs beside many short ones. pytest-xdist's
own order (most tests first) hands out long files of few tests last. The list holds the files
that take ten seconds or more, longest first (beside each, its seconds in one run on a 2-CPU
machine with two workers); every other file keeps its collection order after them. A file
missing here only starts later.
"""

SLOWEST_FIRST = (
    "tests/pipelines/test_refresh.py",  # 84
    "tests/pipelines/test_overlapping_runs.py",  # 70
    "tests/pipelines/test_build.py",  # 40, with the shared flagged build
    "tests/models/test_commands.py",  # 39
    "tests/pipelines/test_portable.py",  # 39
    "tests/pipelines/test_score.py",  # 36
    "tests/pipelines/test_object_store.py",  # 32
    "tests/training/test_train_idp.py",  # 31
    "tests/training/test_bundled_model.py",  # 25
    "tests/pipelines/test_labelled.py",  # 22
    "tests/pipelines/test_preflight.py",  # 19
    "tests/pipelines/test_local_runner.py",  # 14
    "tests/procedural/test_synth_pipeline.py",  # 12
    "tests/pipelines/test_clean_exit.py",  # 12
    "tests/pipelines/test_bad_manifests.py",  # 11
    "tests/models/test_training.py",  # 10
    "tests/transforms/test_isolation.py",  # 10
    "tests/pipelines/test_fidelity.py",  # 10
    "tests/transforms/test_decode_pool.py",  # 10
    "tests/deploy/test_worker_environment.py",  # 10
)


def slowest_first(items: list) -> list:
    """items reordered so SLOWEST_FIRST's files come first, in that order; a stable sort, so
    each file's tests keep their order and so does the rest."""
    rank = {path: place for place, path in enumerate(SLOWEST_FIRST)}
    return sorted(items, key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
