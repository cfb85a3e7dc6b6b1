"""Reading a committed dataset the way its readers should: through index.json, never a glob.

Also writes `wids.json`, the shard list in the format of `wids.ShardListDataset`, beside
index.json. Its URLs are relative (`shards/shard-000000.tar`); wids resolves them against the
folder the JSON was opened from, so the folder can be moved or copied to a bucket as a whole.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import pyarrow as pa
import pyarrow.dataset as ds

from transforms.dataset import manifest_stats, parts
from transforms.dataset.index import read_index
from transforms.dataset.layout import INDEX, WIDS_INDEX
from transforms.shard_read import iter_shard
from transforms.storage import join, write_bytes

class NotADataset(FileNotFoundError):
    """The folder has no index.json: no build ever committed there."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One committed version of a dataset: its index and stats; its manifests are read from
    their parts in batches (transforms/dataset/parts.py), never held whole."""
    root: str
    index: dict
    stats: dict

    def url(self, relative: str) -> str:
        return join(self.root, relative)

    def shard_urls(self) -> List[str]:
        return [self.url(shard["url"]) for shard in self.index["shards"]]

    def scan(self, name: str, columns: Optional[List[str]] = None,
             filter: Optional[ds.Expression] = None,
             versions: Optional[set] = None) -> Iterator[pa.RecordBatch]:
        """The latest rows of the "videos" or "pairs" manifest, in batches; `versions`: only
        the rows those versions added."""
        return parts.scan(self.root, self.index, name, columns, filter, versions)

    def rows(self, name: str, columns: Optional[List[str]] = None,
             filter: Optional[ds.Expression] = None,
             versions: Optional[set] = None) -> Iterator[dict]:
        for batch in self.scan(name, columns, filter, versions):
            yield from batch.to_pylist()

    def table(self, name: str, columns: Optional[List[str]] = None,
              filter: Optional[ds.Expression] = None,
              versions: Optional[set] = None) -> pa.Table:
        """As one table: for a selection small enough to hold (a filter, a few columns)."""
        return parts.read_table(self.root, self.index, name, columns, filter, versions)

    def sample(self, name: str, max_rows: int, seed: int,
               columns: Optional[List[str]] = None) -> Tuple[pa.Table, bool]:
        """(rows, whether they are a sample of the latest rows): all of them up to max_rows."""
        return parts.sample(self.root, self.index, name, max_rows, seed, columns)

    def shard_versions(self, shard_names: Iterable[str]) -> set:
        """The versions whose parts hold the rows of these shards (a shard's rows are written
        by the run that wrote it; shards listed before parts are in the first part)."""
        first = parts.listed_parts(self.index)[0]["version"]
        versions = {shard["name"]: shard.get("version", first) for shard in self.index["shards"]}
        return {versions[name] for name in shard_names}


KEPT = ds.field("status") == "kept"
REJECTED = ds.field("status") == "rejected"


def open_dataset(root: str) -> Dataset:
    """The version index.json points at; raises NotADataset when there is none."""
    root = root.rstrip("/")
    index = read_index(root)
    if index is None:
        raise NotADataset(f"{root}: no {INDEX}; not a committed idp-corpus dataset")
    stats = parts.read_json(join(root, index["stats"]))
    if not manifest_stats.complete(stats):  # written before a section existed: counted once
        stats = {**stats, **manifest_stats.count_parts(root, index)}
    return Dataset(root=root, index=index, stats=stats)


def wids_description(index: dict) -> dict:
    """The wids dataset description of an index: shard URLs relative to the dataset folder."""
    return {
        "__kind__": "wids-shard-index-v1",
        "wids_version": 1,
        "name": "idp-corpus",
        "shardlist": [{"url": shard["url"], "nsamples": shard["num_samples"],
                       "filesize": shard["size"]} for shard in index["shards"]],
    }


def write_wids_index(dataset: Dataset) -> str:
    url = dataset.url(WIDS_INDEX)
    data = json.dumps(wids_description(dataset.index), indent=2, sort_keys=True) + "\n"
    write_bytes(url, data.encode("utf-8"))
    return url


def read_samples(dataset: Dataset, keys: Iterable[str]) -> Dict[str, Dict[str, bytes]]:
    """The members of the wanted kept samples."""
    keys = sorted(set(keys))
    shard_of = {row["key"]: row["shard"] for row in dataset.rows(
        "pairs", ["key", "shard"], KEPT & ds.field("key").isin(keys))} if keys else {}
    return read_members(dataset, shard_of)


def read_members(dataset: Dataset, shard_of: Dict[str, str]) -> Dict[str, Dict[str, bytes]]:
    """The members of kept samples, given each one's shard. Each shard that holds one is
    streamed only up to its last wanted sample (the writer stores samples in key order)."""
    wanted: Dict[str, set] = {}
    for key, shard in shard_of.items():
        wanted.setdefault(shard, set()).add(key)
    url_of = {shard["name"]: dataset.url(shard["url"]) for shard in dataset.index["shards"]}
    found: Dict[str, Dict[str, bytes]] = {}
    for shard in sorted(wanted):
        remaining = set(wanted[shard])
        for key, members in iter_shard(url_of[shard]):
            if key in remaining:
                found[key] = members
                remaining.discard(key)
                if not remaining:
                    break
    return found
