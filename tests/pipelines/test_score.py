"""The verifier job ranks candidates by the same scores the model handler gives."""
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.caption.inputs import as_input


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verifier")
    rng = np.random.default_rng(0)
    rows = []
    for item in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(folder / f"b{item}.png")
        candidates = []
        for c in range(3):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(
                folder / f"c{item}{c}.png")
            candidates.append(f"c{item}{c}.png")
        rows.append({"id": f"item{item}", "before": f"b{item}.png", "action": "move the cube",
                     "candidates": candidates})
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder, rows


def handler_score(model_path, folder, row, candidate):
    handler = IdpModelHandler(CaptionConfig(model=model_path))
    model = handler.load_model()
    before = np.asarray(Image.open(folder / row["before"]).convert("RGB"))
    after = np.asarray(Image.open(folder / candidate).convert("RGB"))
    meta = PairMeta("k", VideoSource("u", "v", label=row["action"]), VideoInfo(0, 2, 32, 32, "i"),
                    0, 1, "verifier", PairScores(0, 0, 0, 0, 0))
    (result,) = handler.run_inference([as_input(FramePair(meta, before, after))], model)
    return result.inference.idp_score


def test_verifier_ranks_candidates_by_idp_likelihood(items, tiny_vlm_path, tmp_path, cli):
    folder, rows = items
    cli("score", folder / "items.jsonl", "--output", tmp_path / "out", "--model", tiny_vlm_path,
        "--batch-size", "4", "--direct_running_mode", "in_memory")
    scores = pq.read_table(tmp_path / "out" / "scores.parquet").to_pylist()
    assert len(scores) == 6 and all(r["error"] is None for r in scores)
    for item in ("item0", "item1"):
        ranked = sorted((r for r in scores if r["id"] == item), key=lambda r: r["rank"])
        assert [r["rank"] for r in ranked] == [1, 2, 3]
        assert ranked[0]["idp_score"] >= ranked[1]["idp_score"] >= ranked[2]["idp_score"]
    best = [json.loads(line) for line in (tmp_path / "out" / "best.jsonl").read_text().splitlines()]
    assert [b["id"] for b in best] == ["item0", "item1"]
    # The same number the model handler gives for that (before, action, candidate).
    row = rows[0]
    top = next(r for r in scores if r["id"] == "item0" and r["rank"] == 1)
    assert top["idp_score"] == pytest.approx(
        handler_score(tiny_vlm_path, folder, row, row["candidates"][top["candidate"]]), abs=2e-4)


def test_bad_candidates_are_rows_and_the_rest_is_scored(items, tiny_vlm_path, tmp_path, cli):
    folder, rows = items
    (folder / "text.png").write_text("not an image")
    bad = [dict(rows[0], candidates=[rows[0]["candidates"][0], "gone.png", "text.png"]),
           dict(rows[1], id="nobefore", before="gone.png"),
           {"id": "shapeless", "action": "wave"}]
    (folder / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in bad))
    done = cli("score", folder / "bad.jsonl", "--output", tmp_path / "out", "--model",
               tiny_vlm_path, "--batch-size", "4", "--direct_running_mode", "in_memory")
    assert done.stdout.strip().splitlines()[-1].endswith("1 candidates scored, 6 failed "
                                                         "(reason, error columns)")
    scores = pq.read_table(tmp_path / "out" / "scores.parquet").to_pylist()
    reasons = {(r["id"], r["candidate"]): r["reason"] for r in scores}
    assert reasons == {("item0", 0): None, ("item0", 1): "missing_image",
                       ("item0", 2): "not_an_image", ("nobefore", 0): "missing_image",
                       ("nobefore", 1): "missing_image", ("nobefore", 2): "missing_image",
                       ("shapeless", None): "bad_item"}
    assert all(r["error"] for r in scores if r["reason"])
    assert "gone.png" in next(r["error"] for r in scores if r["id"] == "nobefore")
    best = [json.loads(line) for line in (tmp_path / "out" / "best.jsonl").read_text().splitlines()]
    assert [(b["id"], b["best_candidate"]) for b in best] == [("item0", 0)]


def test_no_candidate_scored_fails_the_command(items, tiny_vlm_path, tmp_path, cli):
    folder, rows = items
    (folder / "none.jsonl").write_text(json.dumps(dict(rows[0], candidates=["gone.png"])) + "\n")
    done = cli("score", folder / "none.jsonl", "--output", tmp_path / "out", "--model",
               tiny_vlm_path, "--direct_running_mode", "in_memory", expect=1)
    assert done.stderr.strip().splitlines()[-1] == (
        f"idp-corpus score: none of the 1 candidates could be scored; reasons in "
        f"{tmp_path / 'out'}/scores.parquet (reason, error)")


def test_a_processor_that_needs_an_extra_is_named_before_anything_runs(
        items, tiny_vlm_path, tmp_path, cli):
    """A model whose processor class needs torchvision (Pixtral's), where it is not installed."""
    import shutil
    pytest.importorskip("transformers")
    try:
        import torchvision  # noqa: F401
        pytest.skip("torchvision is installed here")
    except Exception:  # noqa: BLE001 - missing, or a build that does not match torch
        pass
    folder, _ = items
    model = tmp_path / "model"
    shutil.copytree(tiny_vlm_path, model)
    config = json.loads((model / "processor_config.json").read_text())
    (model / "processor_config.json").write_text(
        json.dumps({**config, "processor_class": "PixtralProcessor"}))
    done = cli("score", folder / "items.jsonl", "--output", tmp_path / "out", "--model", model,
               expect=2)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"idp-corpus score: the model {str(model)!r} could not caption")
    assert "pip install 'idp-corpus[processors]'" in last
    assert not (tmp_path / "out").exists()
