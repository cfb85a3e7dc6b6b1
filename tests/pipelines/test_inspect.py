"""`idp-corpus inspect DIR`: a terminal summary, and the same figures as JSON."""
import json

import pytest

from pipelines.cli import main
from pipelines.inspect import summary
from pipelines.readers import KEPT, open_dataset


@pytest.fixture(scope="module")
def dataset(flagged_corpus):
    """The shared captioned build: three videos and one input that does not decode."""
    _, folder = flagged_corpus
    return folder, open_dataset(str(folder))


def test_json_summary_agrees_with_the_dataset(dataset, capsys):
    folder, committed = dataset
    assert main(["inspect", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    stats = committed.stats
    assert info["triples"] == stats["triples"] > 0 and info["videos"] == stats["videos"]
    assert info["pair_reasons"] == stats["pair_reasons"] and info["video_reasons"] == \
        {"decode_failed": 1}
    assert info["shards"]["count"] == len(committed.index["shards"])
    assert info["shards"]["bytes"] == sum(s["size"] for s in committed.index["shards"])
    assert sum(info["dropped_by_stage"].values()) == stats["pairs"]["rejected"]
    kept = list(committed.rows("pairs", filter=KEPT))
    motion = info["scores"]["kept"]["motion"]
    assert motion["count"] == len(kept)
    assert motion["min"] == pytest.approx(min(r["motion"] for r in kept), abs=1e-6)
    assert motion["min"] <= motion["p50"] <= motion["max"]
    assert info["scores"]["candidates"]["motion"]["count"] == stats["pairs"]["candidates"]
    assert info["scores"]["kept"]["idp_score"]["max"] < 0
    actions = {row["key"]: row["action"] for row in kept}
    assert info["sample_actions"] and all(
        actions[s["key"]] == s["action"] for s in info["sample_actions"])
    assert info["caption_models"][0]["triples"] == stats["triples"]


def test_text_summary_names_counts_reasons_and_actions(dataset, capsys):
    folder, committed = dataset
    assert main(["inspect", str(folder)]) == 0
    text = capsys.readouterr().out
    assert f"triples   {committed.stats['triples']}" in text
    # Every reason a pair or video was dropped for (with shots, the build's pairs no longer
    # span the cut, so its drops are other reasons).
    reasons = committed.stats["pair_reasons"]
    assert reasons and all(reason in text for reason in reasons) and "decode_failed" in text
    assert "scores of kept triples" in text and "idp_score" in text
    assert all(f"{sample['key']}: " in text for sample in summary(committed)["sample_actions"])


def test_a_folder_without_a_dataset_is_an_error(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 1
    assert "no index.json" in capsys.readouterr().err
