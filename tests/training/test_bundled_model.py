"""The bundled IDP model (models/tiny-idp, trained by train-idp on the procedural domain) labels
held-out procedural scenes correctly: through the whole video pipeline, reversed, as a scorer of
labels, and as the verifier. These tests fail on a swapped before/after, a broken prompt or a
mis-aligned score, which random-weight models cannot see."""
import csv
import json
import os

import pytest

from procedural.writer import write_synth
from training.evaluate import evaluate, items_from_manifest
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.caption.prompt import DEFAULT_PROMPT

MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "models", "tiny-idp")
HELD_OUT_SEED = 9001  # the model was trained on seeds 1 and 3 and evaluated on seed 2
# Measured on this very set (80 scenes): 71 of 80 videos captioned exactly right through the
# whole pipeline (88.75 %), 90 % of image pairs, 93.75 % of reversals; on the 300 scenes of its
# eval set 93.3 % and 93.3 % (models/tiny-idp/README.md). The misses are circle/square. The
# floors sit a few scenes below, far above what a model that ignores the images, swaps before
# and after or reads the wrong prompt gets (near 0 %).
CAPTION_FLOOR = 0.85


@pytest.fixture(scope="module")
def held_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("held-out")
    write_synth(str(folder), n=80, seed=HELD_OUT_SEED)
    return folder


@pytest.fixture(scope="module")
def metrics(held_out):
    model = IdpModelHandler(CaptionConfig(model=MODEL, device="cpu")).load_model()
    result, _ = evaluate(model, items_from_manifest(str(held_out / "pairs.jsonl")), DEFAULT_PROMPT)
    return result


def test_videos_through_the_whole_pipeline_get_the_true_action(held_out, build, tmp_path):
    output = tmp_path / "corpus"
    build("--input", f"{held_out}/videos/*.mp4", "--output", output, "--model", MODEL,
          "--sampler", "first_last", "--direct_running_mode", "in_memory")
    with open(held_out / "videos.csv") as handle:
        truth = {row["uri"].rsplit("/", 1)[-1]: row["label"] for row in csv.DictReader(handle)}
    import webdataset as wds
    index = json.loads((output / "index.json").read_text())
    samples = list(wds.WebDataset([str(output / s["url"]) for s in index["shards"]],
                                  shardshuffle=False).to_tuple("txt", "json"))
    assert len(samples) == len(truth)  # no scene lost to a filter or to caption QC
    matched = sum(action.decode() == truth[json.loads(meta)["source_uri"].rsplit("/", 1)[-1]]
                  for action, meta in samples)
    assert matched / len(samples) >= CAPTION_FLOOR, f"{matched} of {len(samples)} captions right"


def test_reversed_pairs_get_the_inverse_action(metrics):
    assert metrics["invertible_items"] == metrics["items"]
    assert metrics["swap_consistency"] >= 0.9


def test_the_true_action_scores_above_a_wrong_one(metrics):
    assert metrics["label_preference"] >= 0.95  # measured 1.0


def test_verifier_picks_the_true_after_image_among_four(metrics):
    assert metrics["verifier_candidates"] == 4
    assert metrics["verifier_accuracy"] >= 0.95  # measured 1.0


def test_pairs_get_the_true_action(metrics):
    assert metrics["exact_match"] >= CAPTION_FLOOR
