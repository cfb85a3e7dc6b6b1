"""A dataset built before shots (sample schema 1.1, manifests without the shot columns; built
by the code at dbf6c5d, tests/pipelines/data/dataset_schema_1_1) refreshes, validates and
loads with the samples of both versions."""
import json
import shutil
from pathlib import Path

import webdataset as wds

from pipelines.readers import open_dataset
from pipelines.report import shots_section
from pipelines.validate import validate
from schemas.shard_layout import SCHEMA_VERSION
from synthetic_inputs.videos import scene_video

OLD = Path(__file__).parent / "data" / "dataset_schema_1_1"


def test_a_dataset_built_before_shots_refreshes_validates_and_loads(tmp_path, build):
    corpus, videos = tmp_path / "corpus", tmp_path / "videos"
    shutil.copytree(OLD, corpus)
    assert validate(str(corpus)) == []
    videos.mkdir()
    scene_video(str(videos / "edited.mp4"), num_frames=90, width=96, height=72, seed=5,
                motion_spans=((5, 35), (50, 80)), cut_at=(45,), speed=1)
    summary = build("--input", videos / "*", "--output", corpus, "--no-caption",
                    "--sampler", "stride", "--stride-seconds", "0.4",
                    "--direct_running_mode", "in_memory")
    assert summary["run"]["videos_decoded"] == 1
    assert validate(str(corpus)) == []

    dataset = open_dataset(str(corpus))
    rows = {Path(row["uri"]).name: row for row in dataset.rows("videos")}
    assert rows["v00.mp4"]["shot_starts"] is None  # written before shots were looked for
    assert rows["edited.mp4"]["shot_starts"] == [0, 45]
    assert rows["edited.mp4"]["shot_transitions"] == ["start", "cut"]
    shots = shots_section(dataset)  # the report's strips: only videos with shots, read by filter
    assert shots.count('<div class="strip">') == 1 and "edited.mp4" in shots
    index = json.loads((corpus / "index.json").read_text())
    urls = [str(corpus / shard["url"]) for shard in index["shards"]]
    samples = [json.loads(meta) for (meta,) in
               wds.WebDataset(urls, shardshuffle=False).to_tuple("json")]
    versions = {meta["schema_version"] for meta in samples}
    assert versions == {"1.1", SCHEMA_VERSION} and len(samples) == index["num_samples"]
    for meta in samples:
        if meta["schema_version"] == SCHEMA_VERSION:
            assert meta["shot"] in (0, 1)
            assert (meta["before_frame"] < 45) == (meta["after_frame"] < 45)
        else:
            assert "shot" not in meta
