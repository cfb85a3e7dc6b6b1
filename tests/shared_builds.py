"""Datasets built once per test session and read by several test modules (the fixtures are in
tests/conftest.py): what they are built with, and the guard that keeps them unchanged."""

# video_folder's inputs captioned by the tiny VLM: its random actions never end, so caption QC
# flags them all as truncated; keeping them flagged rather than dropped lets the plumbing be
# checked.
FLAGGED_OPTIONS = ("--qc-policy", "flag", "--samples-per-shard", "3", "--batch-size", "4")


def snapshot(folder):
    """{relative path: bytes} of every file under folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def shared_dataset(folder, summary):
    """Yields (summary, folder) to the modules that only read the dataset, then fails the session
    if one of them wrote into it: a test that changes a dataset works on a copy."""
    built = snapshot(folder)
    yield summary, folder
    assert snapshot(folder) == built, f"a test changed the shared dataset {folder}"
