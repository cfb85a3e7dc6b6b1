"""Every name in a dataset folder, relative to the folder (OUT):

    index.json                       the pointer: a copy of the latest committed version's index
    versions/v000001/index.json      that version's commit marker (transforms/dataset/index.py)
    versions/v000001/stats.json      its counts; beside them its manifest part (parts.py)
    shards/shard-000000.tar          the WebDataset shards the versions list
    manifest/videos.parquet, manifest/pairs.parquet, stats.json
                                     plain-named copies of the latest version (commit.py)
    wids.json, report.html, README.md
                                     written beside the dataset after its commit
    lease/000001.json, lease/RUN_ID.beat
                                     the run that holds the dataset (lease.py)
    runs/RUN_ID/                     that run's staging, temporaries and planned shard names
    staging/                         staging of a run that holds no lease

Readers follow index.json, never a listing of the folder.
"""
from __future__ import annotations

INDEX = "index.json"
STATS = "stats.json"
VIDEOS_MANIFEST = "manifest/videos.parquet"
PAIRS_MANIFEST = "manifest/pairs.parquet"
SHARDS_DIR = "shards"
VERSIONS_DIR = "versions"
WIDS_INDEX = "wids.json"  # the shard list for wids.ShardListDataset (pipelines/readers.py)
REPORT = "report.html"
CARD = "README.md"  # the dataset card
LEASE_DIR = "lease"
RUNS_DIR = "runs"  # each run's own folder: its staging and temporaries
STAGING_DIR = "staging"  # what a run writes and reads back before it commits (staging.py)
TMP_DIR = "tmp"  # a run's temporaries, beside its staging
PLANNED = "planned-shards.json"  # the shard names a run may write, recorded before it writes
TMP_MARK = ".tmp-"  # temporary files carry this in their name; validators look for strays
# What a folder holds once a build has touched it (a committed version, a staging area,
# another run's lease): a folder with none of these and other files in it is someone else's.
MARKERS = frozenset({INDEX, STAGING_DIR, VERSIONS_DIR, LEASE_DIR, RUNS_DIR})


def version_folder(version: int) -> str:
    return f"{VERSIONS_DIR}/v{version:06d}"


def version_marker(version: int) -> str:
    return f"{version_folder(version)}/{INDEX}"


def version_stats(version: int) -> str:
    return f"{version_folder(version)}/{STATS}"


def shard_path(name: str) -> str:
    """A shard's path in the index ("url"), relative to the dataset folder."""
    return f"{SHARDS_DIR}/{name}"


def part_files(version: int) -> dict:
    """The files of the manifest part one version writes (transforms/dataset/parts.py)."""
    folder = version_folder(version)
    return {"videos": f"{folder}/videos.parquet", "pairs": f"{folder}/pairs.parquet",
            "meta": f"{folder}/part.json", "known": f"{folder}/known.parquet"}


def converted_files(version: int) -> dict:
    """The files the first refresh of a dataset written before parts adds for its old part."""
    folder = version_folder(version)
    return {"meta": f"{folder}/converted-part.json", "known": f"{folder}/converted-known.parquet"}
