"""`idp-corpus export --format aurora`: AURORA-style JSON with the images beside it."""
import json
import tarfile

import pytest

from pipelines.cli import main
from pipelines.readers import open_dataset


@pytest.fixture(scope="module")
def dataset(flagged_corpus):
    """The shared captioned build, several triples a shard over several shards."""
    _, folder = flagged_corpus
    return folder, open_dataset(str(folder))


def members(committed):
    found = {}
    for url in committed.shard_urls():
        with tarfile.open(url) as tar:
            for info in tar:
                found[info.name] = tar.extractfile(info).read()
    return found


def test_aurora_export_lists_every_triple_with_its_images(dataset, tmp_path, capsys):
    folder, committed = dataset
    out = tmp_path / "aurora"
    assert main(["export", "--format", "aurora", str(folder), str(out)]) == 0
    assert f"wrote {committed.stats['triples']} items" in capsys.readouterr().out
    items = json.loads((out / "train.json").read_text(encoding="utf-8"))
    shard = members(committed)
    assert len(items) == committed.stats["triples"] > 0
    for item in items:
        assert set(item) == {"instruction", "input", "output"}
        key = item["input"].rsplit("/", 1)[-1].split(".")[0]
        assert item["instruction"] == shard[f"{key}.txt"].decode("utf-8")
        # The shard's JPEG bytes, not re-encoded; paths relative to the JSON file.
        assert (out / item["input"]).read_bytes() == shard[f"{key}.before.jpg"]
        assert (out / item["output"]).read_bytes() == shard[f"{key}.after.jpg"]
    assert items == sorted(items, key=lambda item: item["input"])


def test_export_twice_gives_the_same_bytes(dataset, tmp_path):
    folder, _ = dataset
    for name in ("one", "two"):
        assert main(["export", "--format", "aurora", str(folder), str(tmp_path / name)]) == 0
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    assert all((tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()
               for f in files if (tmp_path / "one" / f).is_file())


def test_unknown_format_is_refused(dataset, tmp_path):
    folder, _ = dataset
    with pytest.raises(SystemExit):
        main(["export", "--format", "coco", str(folder), str(tmp_path / "x")])
