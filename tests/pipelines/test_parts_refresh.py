"""A dataset written before manifests came in parts (an index naming one videos.parquet and one
pairs.parquet) still validates, loads and refreshes; its first refresh converts the index."""
import json

import pyarrow.parquet as pq

from pipelines.inspect import summary
from pipelines.readers import open_dataset
from pipelines.validate import validate
from schemas import manifests
from tests.pipelines.test_refresh import files, make_videos

OLD_SECTIONS = ("videos", "video_reasons", "pairs", "pair_reasons")


def to_layout_before_parts(folder):
    """Rewrites a one-version dataset the way the commit wrote it before parts: all rows in
    versions/v000001/{videos,pairs}.parquet, stats without the newer sections, an index naming
    the two files, and no part or lookup files."""
    dataset = open_dataset(str(folder))
    index, stats = dataset.index, dataset.stats
    version = folder / "versions/v000001"
    for name, schema, key in (("videos", manifests.VIDEOS, "uri"),
                              ("pairs", manifests.PAIRS, "key")):
        table = manifests.table(list(dataset.rows(name)), schema, key)
        pq.write_table(table, version / f"{name}.parquet", compression="zstd")
        pq.write_table(table, folder / f"manifest/{name}.parquet", compression="zstd")
    (version / "part.json").unlink()
    (version / "known.parquet").unlink()
    old_stats = {name: stats[name] for name in (*OLD_SECTIONS, "schema_version", "triples",
                                                "shards")}
    for path in (version / "stats.json", folder / "stats.json"):
        path.write_text(json.dumps(old_stats, indent=2, sort_keys=True) + "\n")
    old_index = {key: index[key] for key in ("schema_version", "version", "num_samples", "stats")}
    old_index["shards"] = [{k: v for k, v in shard.items() if k != "version"}
                           for shard in index["shards"]]
    old_index["manifests"] = {"videos": "versions/v000001/videos.parquet",
                              "pairs": "versions/v000001/pairs.parquet"}
    (folder / "index.json").write_text(json.dumps(old_index, indent=2, sort_keys=True) + "\n")
    return old_stats


def test_a_dataset_from_before_parts_validates_loads_and_refreshes(tmp_path, build, cli):
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    make_videos(videos, range(2))
    options = ["--input", videos / "*", "--output", output, "--no-caption",
               "--samples-per-shard", "4", "--direct_running_mode", "in_memory"]
    build(*options)
    old_stats = to_layout_before_parts(output)
    before = files(output)

    assert validate(str(output)) == []
    info = summary(open_dataset(str(output)))
    assert info["triples"] == old_stats["triples"] > 0
    assert sum(info["dropped_by_stage"].values()) == old_stats["pairs"]["rejected"]

    make_videos(videos, range(2, 3))
    refreshed = build(*options)
    assert refreshed["run"]["videos_already_in_dataset"] == 2
    assert refreshed["run"]["videos_decoded"] == 1
    index = json.loads((output / "index.json").read_text())
    first, second = index["parts"]
    assert (first["videos"], first["pairs"]) == ("versions/v000001/videos.parquet",
                                                 "versions/v000001/pairs.parquet")
    assert second["version"] == 2 and first["meta"].startswith("versions/v000002/converted")
    assert all(files(output)[name] == data for name, data in before.items()
               if name.startswith(("shards/", "versions/v000001/")))  # nothing rewritten
    stats = refreshed["dataset"]
    assert stats["videos"]["total"] == 3
    assert stats["pairs"]["candidates"] == old_stats["pairs"]["candidates"] + \
        second["rows"]["pairs"]
    assert validate(str(output)) == []
    assert validate(str(output), since=1) == []
    assert "OK" in cli("validate", output, "--since", "1").stdout

    after = files(output)
    again = build(*options)  # nothing new: nothing written
    assert again["run"].get("videos_decoded", 0) == 0 and files(output) == after
