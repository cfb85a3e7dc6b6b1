"""The standard-library shard writer makes exactly the bytes webdataset's TarWriter makes."""
import io

import pytest
import webdataset as wds

from transforms.tar_shard import sample_bytes, sample_length, write_samples

SAMPLES = [
    {"__key__": "video-a/000012_000020", "before.jpg": b"\xff\xd8jpeg", "after.jpg": b"\xff\xd8",
     "action.txt": "pick up the red cup".encode(), "json": b'{"k": 1}', "change.npy": b""},
    {"__key__": "v" * 120 + "/000000_000008", "before.jpg": bytes(range(256)) * 9,
     "after.jpg": b"x" * 513, "json": "{\"a\": \"\u00e9\"}".encode()},
]


# A whole 10240-byte record before the end blocks: 2 members of a 512-byte header and 4608 bytes.
ONE_RECORD = [{"__key__": "r", "a": b"1" * 4608, "b": b"2" * 4608}]


@pytest.mark.parametrize("samples", [SAMPLES, [], ONE_RECORD, SAMPLES[::-1] + ONE_RECORD])
def test_same_bytes_as_webdataset_tarwriter(samples):
    ours, theirs = io.BytesIO(), io.BytesIO()
    write_samples(ours, samples)
    writer = wds.TarWriter(theirs, mtime=0, user="idp", group="idp", mode=0o444)
    for sample in samples:
        writer.write(sample)
    writer.close()
    assert ours.getvalue() == theirs.getvalue()


def test_webdataset_reads_the_samples_back(tmp_path):
    path = tmp_path / "shard-000000.tar"
    with open(path, "wb") as stream:
        write_samples(stream, SAMPLES)
    read = list(wds.WebDataset(str(path), shardshuffle=False))
    assert [sample["__key__"] for sample in read] == [s["__key__"] for s in SAMPLES]
    for got, sample in zip(read, SAMPLES):
        assert {k: v for k, v in got.items() if not k.startswith("__")} == {
            k: v for k, v in sample.items() if k != "__key__"}


def test_sample_length_is_the_length_of_the_sample_bytes():
    for sample in SAMPLES + ONE_RECORD:  # the second has a long key: more header blocks
        sizes = {field: len(data) for field, data in sample.items() if field != "__key__"}
        assert sample_length(sample["__key__"], sizes) == len(sample_bytes(sample))
