"""The whole job, as a user runs it: `idp-corpus build` on real encoded videos."""
import json
import shutil

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from pipelines.readers import open_dataset
from schemas import manifests
from schemas.shard_layout import is_valid_metadata
from tests.shared_builds import FLAGGED_OPTIONS


@pytest.fixture(scope="module")
def runs(flagged_corpus, video_folder, tiny_vlm_path, tmp_path_factory, build):
    """The shared flagged build and a second run of the same command into another folder."""
    summary, first = flagged_corpus
    second = tmp_path_factory.mktemp("corpus2")
    build("--input", video_folder / "*", "--model", tiny_vlm_path, *FLAGGED_OPTIONS,
          "--output", second)
    return summary["dataset"], first, second


def read_samples(folder):
    index = json.loads((folder / "index.json").read_text())
    urls = [str(folder / shard["url"]) for shard in index["shards"]]
    dataset = wds.WebDataset(urls, shardshuffle=False).decode("pil").to_tuple(
        "before.jpg", "txt", "after.jpg", "json")
    return index, list(dataset)


def test_shards_read_back_with_webdataset(runs):
    stats, folder, _ = runs
    index, samples = read_samples(folder)
    assert len(samples) == stats["triples"] == index["num_samples"] > 0
    assert len(index["shards"]) == stats["shards"] == -(-len(samples) // 3)
    for before, action, after, meta in samples:
        assert before.size == after.size == (meta["source_width"], meta["source_height"])
        assert isinstance(action, str) and "\n" not in action
        assert is_valid_metadata(meta) and meta["action_source"] == "idp"
        assert meta["caption_model"]["prompt_id"] and meta["idp_score"] < 0
        assert meta["caption_model"]["decoding"] == "greedy,max_new_tokens=24"
        assert "caption_truncated" in meta["qc_flags"]
        assert meta["source_sha256"] and meta["source_stamp"]
    keys = [meta["key"] for *_, meta in samples]
    assert len(set(keys)) == len(keys) and all("." not in key for key in keys)


def test_every_video_is_accounted_for(runs, video_folder):
    stats, folder, _ = runs
    videos = pq.read_table(folder / "manifest/videos.parquet")
    assert videos.schema.equals(manifests.VIDEOS)
    rows = {row["uri"].rsplit("/", 1)[-1]: row for row in videos.to_pylist()}
    assert sorted(rows) == sorted(p.name for p in video_folder.iterdir())
    assert rows["broken.mp4"]["status"] == "failed"
    assert rows["broken.mp4"]["reason"] == "decode_failed" and rows["broken.mp4"]["message"]
    assert rows["a.mp4"]["status"] == "ok" and rows["a.mp4"]["num_frames"] == 120
    assert stats["videos"] == {"total": 4, "ok": 3, "no_pairs": 0, "failed": 1}


def test_counts_agree_across_stats_manifests_and_shards(runs):
    stats, folder, _ = runs
    _, samples = read_samples(folder)
    pairs = pq.read_table(folder / "manifest/pairs.parquet").to_pylist()
    videos = pq.read_table(folder / "manifest/videos.parquet").to_pylist()
    kept = [row for row in pairs if row["status"] == "kept"]
    assert sorted(row["key"] for row in kept) == sorted(meta["key"] for *_, meta in samples)
    assert all(row["shard"] and row["action"] is not None for row in kept)
    assert stats["pairs"]["candidates"] == len(pairs) == sum(v["num_candidates"] for v in videos)
    assert stats["pairs"]["kept"] == len(kept) == sum(v["num_kept"] for v in videos)
    rejected = [row for row in pairs if row["status"] == "rejected"]
    assert all(row["reason"] for row in rejected)
    assert stats["pair_reasons"] == {reason: sum(1 for r in rejected if r["reason"] == reason)
                                     for reason in {r["reason"] for r in rejected}}
    assert "static" in stats["pair_reasons"]  # a.mp4 ends still
    # a.mp4 cuts at frame 60: its pairs lie in one shot or the other, none across.
    a_pairs = [row for row in pairs if row["uri"].endswith("/a.mp4")]
    assert {row["shot"] for row in a_pairs} == {0, 1}
    assert not any(row["before_frame"] < 60 <= row["after_frame"] for row in a_pairs)


def test_a_second_run_is_byte_identical(runs):
    _, first, second = runs
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_validate_passes_both_runs(runs):
    from pipelines.validate import validate
    _, first, second = runs
    assert validate(str(first)) == [] and validate(str(second)) == []


def test_default_caption_qc_drops_truncated_actions_and_says_so(video_folder, tiny_vlm_path,
                                                               tmp_path, cli):
    done = cli("build", "--input", video_folder / "a.mp4", "--output", tmp_path / "o",
               "--model", tiny_vlm_path, "--direct_running_mode", "in_memory")
    summary = json.loads(done.stdout)
    assert summary["dataset"]["triples"] == 0
    assert summary["dataset"]["pair_reasons"]["caption_truncated"] > 0
    assert "0 triples" in done.stderr and "caption_truncated" in done.stderr


def test_the_model_captions_what_the_shards_store(runs, tiny_vlm_path, tmp_path, cli):
    """The build captions the JPEGs it writes, so captioning its shards again with the same
    model (`idp-corpus caption`, which reads only the shards) says the same of every pair."""
    _, folder, _ = runs
    again = tmp_path / "again"
    shutil.copytree(folder, again)
    cli("caption", again, "--model", tiny_vlm_path, "--qc-policy", "flag", "--batch-size", "3",
        "--direct_running_mode", "in_memory")

    def kept(dataset):
        rows = open_dataset(str(dataset)).rows("pairs")
        return {row["key"]: (row["action"], row["idp_score"], row["num_tokens"])
                for row in rows if row["status"] == "kept"}

    built, recaptioned = kept(folder), kept(again)
    assert built and recaptioned == built
