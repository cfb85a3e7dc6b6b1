"""Reading a committed dataset the way its readers should: through index.json, never a glob.

Also writes `wids.json`, the shard list in the format of `wids.ShardListDataset`, beside
index.json. Its URLs are relative (`shards/shard-000000.tar`); wids resolves them against the
folder the JSON was opened from, so the folder can be moved or copied to a bucket as a whole.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Dict, Iterable, List

import pyarrow.parquet as pq

from schemas import manifests
from transforms.existing import INDEX
from transforms.shard_read import iter_shard
from transforms.storage import filesystem, join, write_bytes

WIDS_INDEX = "wids.json"


class NotADataset(FileNotFoundError):
    """The folder has no index.json: no build ever committed there."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One committed version of a dataset: its index, stats and manifests' rows."""
    root: str
    index: dict
    stats: dict
    videos: List[dict]
    pairs: List[dict]

    def url(self, relative: str) -> str:
        return join(self.root, relative)

    def shard_urls(self) -> List[str]:
        return [self.url(shard["url"]) for shard in self.index["shards"]]

    @property
    def kept(self) -> List[dict]:
        return [row for row in self.pairs if row["status"] == "kept"]

    @property
    def rejected(self) -> List[dict]:
        return [row for row in self.pairs if row["status"] == "rejected"]


def read_json(url: str) -> dict:
    fs, path = filesystem(url)
    with fs.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _read_table(url: str, schema) -> List[dict]:
    fs, path = filesystem(url)
    with fs.open(path, "rb") as handle:
        return pq.read_table(handle, schema=schema).to_pylist()


def open_dataset(root: str) -> Dataset:
    """The version index.json points at; raises NotADataset when there is none."""
    root = root.rstrip("/")
    try:
        index = read_json(join(root, INDEX))
    except FileNotFoundError as error:
        raise NotADataset(f"{root}: no {INDEX}; not a committed idp-corpus dataset") from error
    return Dataset(
        root=root, index=index, stats=read_json(join(root, index["stats"])),
        videos=_read_table(join(root, index["manifests"]["videos"]), manifests.VIDEOS),
        pairs=_read_table(join(root, index["manifests"]["pairs"]), manifests.PAIRS))


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
    """The members of the wanted kept samples. Each shard that holds one is streamed only up to
    its last wanted sample (the writer stores samples in key order)."""
    shard_of = {row["key"]: row["shard"] for row in dataset.kept}
    wanted: Dict[str, set] = {}
    for key in keys:
        wanted.setdefault(shard_of[key], set()).add(key)
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
