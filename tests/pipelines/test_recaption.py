"""Two-phase captioning: build without a model, caption later, no video decoded again."""
import json
import shutil

from pipelines.readers import open_dataset
from pipelines.validate import validate


def test_caption_a_no_caption_dataset_later(uncaptioned_corpus, video_folder, tiny_vlm_path,
                                           tmp_path, cli):
    first, built = uncaptioned_corpus  # built over video_folder with --no-caption
    output = tmp_path / "corpus"
    shutil.copytree(built, output)
    index_before = json.loads((output / "index.json").read_text())
    old_shards = {s["name"]: (output / s["url"]).read_bytes() for s in index_before["shards"]}
    for video in video_folder.iterdir():  # no video may be needed any more
        video.rename(video.with_suffix(video.suffix + ".away"))
    try:
        cli("caption", output, "--model", tiny_vlm_path, "--qc-policy", "flag",
            "--direct_running_mode", "in_memory")
    finally:
        for video in video_folder.iterdir():
            video.rename(video.with_suffix(""))
    index = json.loads((output / "index.json").read_text())
    assert index["version"] == index_before["version"] + 1
    assert index["num_samples"] == first["dataset"]["triples"]
    new = {s["name"] for s in index["shards"]}
    assert not new & set(old_shards)  # new shards, numbered after the old ones
    assert all((output / "shards" / name).read_bytes() == data  # old ones untouched
               for name, data in old_shards.items())
    kept = [r for r in open_dataset(str(output)).rows("pairs")
            if r["status"] == "kept"]
    assert kept and all(r["action"] is not None and r["idp_score"] is not None
                        and r["shard"] in new for r in kept)
    assert validate(str(output)) == []
