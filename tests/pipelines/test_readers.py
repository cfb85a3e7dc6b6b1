"""The shards load unchanged in the readers trainers use: webdataset, wids (through the
wids.json the build writes), Hugging Face datasets and a multi-worker torch DataLoader."""
import json

import pytest
from PIL import Image

from pipelines.readers import KEPT, open_dataset


@pytest.fixture(scope="module")
def dataset(flagged_corpus):
    """The shared captioned build, several shards of a few triples each."""
    _, folder = flagged_corpus
    committed = open_dataset(str(folder))
    assert len(committed.index["shards"]) >= 3  # enough for two reader workers
    return folder, committed


def kept_keys(committed):
    return sorted(row["key"] for row in committed.rows("pairs", filter=KEPT))


def test_webdataset_decodes_every_sample(dataset):
    import webdataset as wds
    _, committed = dataset
    samples = list(wds.WebDataset(committed.shard_urls(), shardshuffle=False).decode("pil")
                   .to_tuple("__key__", "before.jpg", "txt", "after.jpg", "json"))
    assert sorted(key for key, *_ in samples) == kept_keys(committed)
    for key, before, action, after, meta in samples:
        assert isinstance(before, Image.Image) and before.size == after.size
        assert isinstance(action, str) and action and meta["key"] == key


def test_wids_reads_the_index_the_build_wrote(dataset, tmp_path):
    wids = pytest.importorskip("wids", reason="wids is in the test extra")
    folder, committed = dataset
    description = json.loads((folder / "wids.json").read_text())
    assert description["wids_version"] == 1
    assert [shard["nsamples"] for shard in description["shardlist"]] == \
        [shard["num_samples"] for shard in committed.index["shards"]]
    # Relative URLs resolve against the JSON's folder, wherever it is opened from.
    reader = wids.ShardListDataset(str(folder / "wids.json"), cache_dir=str(tmp_path))
    assert len(reader) == committed.index["num_samples"]
    samples = [reader[i] for i in range(len(reader))]
    assert sorted(sample["__key__"] for sample in samples) == kept_keys(committed)
    last = samples[-1]
    assert isinstance(last[".before.jpg"], Image.Image) and last[".txt"]
    assert last[".json"]["key"] == last["__key__"]


def test_hugging_face_datasets_loads_the_shards(dataset, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="datasets is in the test extra")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, committed = dataset
    loaded = datasets.load_dataset("webdataset", data_files={"train": committed.shard_urls()},
                                   split="train", cache_dir=str(tmp_path / "hf"))
    # Keys have no dots, so each member becomes one column named after its suffix.
    assert {"before.jpg", "after.jpg", "txt", "json", "__key__"} <= set(loaded.column_names)
    assert sorted(loaded["__key__"]) == kept_keys(committed)
    row = loaded[0]
    assert isinstance(row["before.jpg"], Image.Image) and row["txt"]
    assert row["json"]["key"] == row["__key__"] and row["json"]["scores"]["motion"] >= 0


def test_a_two_worker_dataloader_sees_each_sample_once(dataset):
    import torch
    import webdataset as wds
    _, committed = dataset
    # Shards are split between the workers (webdataset's default worker splitter).
    pipeline = wds.WebDataset(committed.shard_urls(), shardshuffle=False,
                              nodesplitter=wds.split_by_node).to_tuple("__key__", "txt")
    loader = torch.utils.data.DataLoader(pipeline, num_workers=2, batch_size=None)
    keys = [key for key, _ in loader]
    assert sorted(keys) == kept_keys(committed) and len(set(keys)) == len(keys)
