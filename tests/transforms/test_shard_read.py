"""Reading shards back a sample at a time, as recaption and scoring do."""
import tarfile

import pytest
import webdataset

from transforms.shard_read import iter_shard
from transforms.tar_shard import write_samples

SAMPLES = [{"__key__": f"k{index}", "before.jpg": bytes([index]) * 3000, "after.jpg": b"a" * 700,
            "json": b"{}"} for index in range(3)]


def members(sample):
    return {name: data for name, data in sample.items() if name != "__key__"}


def test_every_sample_in_stored_order_as_webdataset_reads_it(tmp_path):
    path = tmp_path / "shard.tar"
    with open(path, "wb") as stream:
        write_samples(stream, SAMPLES)
    assert list(iter_shard(str(path))) == [(s["__key__"], members(s)) for s in SAMPLES]
    read_by_webdataset = [(sample.pop("__key__"), {k: v for k, v in sample.items()
                                                   if not k.startswith("__")})
                          for sample in webdataset.WebDataset(str(path), shardshuffle=False)]
    assert list(iter_shard(str(path))) == read_by_webdataset


def test_a_sample_comes_out_before_the_rest_of_the_shard_is_read(tmp_path):
    path = tmp_path / "cut.tar"
    with open(path, "wb") as stream:
        write_samples(stream, SAMPLES)
    data = path.read_bytes()
    path.write_bytes(data[:data.index(bytes([2]) * 3000) + 10])  # cut inside the last sample
    samples = iter_shard(str(path))
    assert next(samples) == ("k0", members(SAMPLES[0]))  # the cut is two samples on
    with pytest.raises(tarfile.ReadError):  # the rest of the shard, read on, is cut short
        list(samples)
