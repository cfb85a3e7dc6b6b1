"""Scoring mode: the IDP likelihood of a given action, checked against a direct computation."""
import concurrent.futures
import dataclasses

import pytest
import torch

from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.caption.inputs import as_input

LABELS = ["open the drawer", "move the red cube left", "wave", "pick up the cup and put it down"]


@pytest.fixture(scope="module")
def loaded(tiny_vlm_path):
    handler = IdpModelHandler(CaptionConfig(model=tiny_vlm_path, max_new_tokens=6, batch_size=4))
    return handler, handler.load_model()


def labelled(pair, label):
    source = dataclasses.replace(pair.meta.source, label=label)
    return dataclasses.replace(pair, meta=dataclasses.replace(pair.meta, source=source))


@pytest.fixture
def pairs(pair_factory):
    sizes = [(32, 32), (48, 40), (20, 36), (64, 64)]
    return [labelled(pair_factory(f"k{i}", hw, hw, seed=i), label)
            for i, (hw, label) in enumerate(zip(sizes, LABELS))]


def direct_score(model, pair, prompt, action):
    """Teacher forcing by hand, one pair, no padding: mean and sum over action tokens + EOS."""
    inputs = model.inputs([pair.before], [pair.after], prompt)
    target = model.processor.tokenizer(action, add_special_tokens=False)["input_ids"]
    target = torch.tensor(target + [model.eos_ids[0]])
    ids = torch.cat([inputs["input_ids"][0], target])[None]
    with torch.inference_mode():
        logits = model.model(input_ids=ids, attention_mask=torch.ones_like(ids),
                             pixel_values=inputs["pixel_values"]).logits[0]
    start = inputs["input_ids"].shape[1]
    logprobs = logits[start - 1:-1].float().log_softmax(-1).gather(1, target[:, None])[:, 0]
    return logprobs.mean().item(), logprobs.sum().item(), len(target)


def run(handler, model, pairs):
    return {r.example.key: r.inference
            for r in handler.run_inference(list(map(as_input, pairs)), model)}


def test_labelled_pairs_are_scored_not_captioned(loaded, pairs):
    handler, model = loaded
    results = run(handler, model, pairs)
    for pair in pairs:
        caption = results[pair.key]
        assert caption.action == pair.meta.source.label and caption.source == "human"
        assert caption.decoding == "teacher_forced"
        mean, total, count = direct_score(model, pair, handler._config.prompt, caption.action)
        assert caption.num_tokens == count
        assert caption.idp_score == pytest.approx(mean, abs=2e-4)
        assert caption.idp_score_sum == pytest.approx(total, abs=2e-3)


def test_batched_scoring_equals_one_at_a_time(loaded, pairs):
    handler, model = loaded
    batched = run(handler, model, pairs)
    for pair in pairs:
        assert run(handler, model, [pair])[pair.key].idp_score == \
            pytest.approx(batched[pair.key].idp_score, abs=2e-4)


def test_a_mixed_batch_captions_the_unlabelled_and_scores_the_rest(loaded, pairs, pair_factory):
    handler, model = loaded
    plain = pair_factory("plain", seed=9)
    results = run(handler, model, [plain, *pairs[:2]])
    assert results["plain"].source == "idp" and results["k0"].source == "human"
    generated = results["plain"]
    assert generated.idp_score_sum == pytest.approx(generated.idp_score * generated.num_tokens,
                                                    abs=1e-3)


def test_the_true_label_can_be_told_from_a_wrong_one_by_score(loaded, pairs):
    """Scores depend on the action: the same pair scores two labels differently."""
    handler, model = loaded
    first = run(handler, model, [pairs[0]])["k0"].idp_score
    other = run(handler, model, [labelled(pairs[0], "wave")])["k0"].idp_score
    assert first != other


def test_calls_from_many_threads_at_once_equal_calls_one_at_a_time(loaded, pairs, pair_factory):
    """Beam's worker threads share one loaded model: captioning and scoring may run at once."""
    handler, model = loaded
    unlabelled = [pair_factory(f"u{i}", (40, 48), (40, 48), seed=10 + i) for i in range(4)]
    batches = [pairs, unlabelled, pairs[:2] + unlabelled[2:], unlabelled[:1]] * 3
    alone = [run(handler, model, batch) for batch in batches]
    with concurrent.futures.ThreadPoolExecutor(6) as threads:
        together = list(threads.map(lambda batch: run(handler, model, batch), batches))
    assert together == alone
