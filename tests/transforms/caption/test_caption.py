import dataclasses
import os

import apache_beam as beam
import fsspec
import numpy as np
import pytest
import torch
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import FramePair, StagedImages, StagedTriple
from tests.transforms.conftest import make_pair
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.caption.inputs import as_input
from transforms.caption.loading import local_model_path
from transforms.caption.model import token_logprob_stats
from transforms.caption.model_inputs import decode_for_model, input_short_side
from transforms.caption.prompt import prompt_id
from transforms.caption.stage import CaptionPairs
from transforms.staged_images import read_many
from transforms.jpeg import encode_jpeg

# Four pairs of different sizes, including before != after within a pair.
SIZES = [((32, 32), (32, 32)), ((48, 64), (48, 64)), ((20, 90), (60, 30)), ((3, 3), (100, 40))]


@pytest.fixture(scope="module")
def config(tiny_vlm_path):
    return CaptionConfig(model=tiny_vlm_path, max_new_tokens=8, batch_size=4)


@pytest.fixture(scope="module")
def loaded(config):
    handler = IdpModelHandler(config)
    return handler, handler.load_model()


@pytest.fixture
def pairs(pair_factory):
    return [pair_factory(f"p{i}", b, a, seed=i) for i, (b, a) in enumerate(SIZES)]


def captions(handler, model, batch):
    return [result.inference
            for result in handler.run_inference(list(map(as_input, batch)), model)]


def test_images_reach_the_model_as_before_then_after(loaded, monkeypatch, pairs):
    handler, model = loaded
    seen = {}
    generate = model.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return generate(**kwargs)

    monkeypatch.setattr(model.model, "generate", spy)
    batch = pairs[2:]
    captions(handler, model, batch)
    separately = [
        model.processor.image_processor(
            [image], return_tensors="pt", input_data_format="channels_last")["pixel_values"][0]
        for pair in batch for image in (pair.before, pair.after)]
    assert torch.equal(seen["pixel_values"], torch.stack(separately))


def test_batching_matches_one_pair_at_a_time(loaded, pairs):
    handler, model = loaded
    batched = captions(handler, model, pairs)
    single = [captions(handler, model, [pair])[0] for pair in pairs]
    assert [c.action for c in batched] == [c.action for c in single]
    assert [c.num_tokens for c in batched] == [c.num_tokens for c in single]
    np.testing.assert_allclose(
        [c.idp_score for c in batched], [c.idp_score for c in single], atol=1e-4)
    assert len({c.action for c in batched}) > 1  # the images, not only the prompt, matter


def test_caption_carries_provenance(loaded, config, pairs):
    handler, model = loaded
    (caption,) = captions(handler, model, pairs[:1])
    assert caption.model_id == config.model and caption.source == "idp"
    assert caption.prompt_id == prompt_id(config.prompt)
    assert caption.num_tokens == config.max_new_tokens  # the random model never says EOS
    assert caption.truncated  # so every action is cut off at the limit
    assert caption.decoding == f"greedy,max_new_tokens={config.max_new_tokens}"
    assert caption.idp_score < 0


def teacher_forced_score(model, pair, prompt, generated):
    """Mean log-probability of `generated` after the prompt, from one plain forward pass."""
    inputs = model.inputs([pair.before], [pair.after], prompt)
    ids = torch.cat([inputs["input_ids"], generated[None]], dim=1)
    with torch.inference_mode():
        logits = model.model(
            input_ids=ids, attention_mask=torch.ones_like(ids),
            pixel_values=inputs["pixel_values"]).logits
    start = inputs["input_ids"].shape[1]
    logprobs = logits[0, start - 1:-1].float().log_softmax(-1)
    return logprobs.gather(1, generated[:, None]).mean().item()


def greedy_tokens(model, pair, prompt, max_new_tokens):
    inputs = model.inputs([pair.before], [pair.after], prompt)
    out = model.model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens)
    return out[0, inputs["input_ids"].shape[1]:]


def test_score_is_the_teacher_forced_likelihood(loaded, config, pairs):
    handler, model = loaded
    pair = pairs[1]
    (caption,) = captions(handler, model, [pair])
    generated = greedy_tokens(model, pair, config.prompt, config.max_new_tokens)
    assert caption.num_tokens == len(generated)
    expected = teacher_forced_score(model, pair, config.prompt, generated)
    assert caption.idp_score == pytest.approx(expected, abs=1e-4)


def test_score_stops_at_eos_in_a_padded_batch(loaded, config, monkeypatch, pairs):
    handler, model = loaded
    batch = pairs
    # Declare a token pair 0 says at step 3 an EOS, so generation ends early for some pairs
    # and the batch is padded after their EOS.
    stop = greedy_tokens(model, batch[0], config.prompt, config.max_new_tokens)[2].item()
    eos = [stop, model.model.generation_config.eos_token_id]
    monkeypatch.setattr(model.model.generation_config, "eos_token_id", eos)
    monkeypatch.setattr(model, "eos_ids", eos)
    results = captions(handler, model, batch)
    assert results[0].num_tokens == 3 and not results[0].truncated  # ended on its own
    for pair, caption in zip(batch, results):
        generated = greedy_tokens(model, pair, config.prompt, config.max_new_tokens)
        generated = generated[generated != model.processor.tokenizer.pad_token_id]
        assert caption.num_tokens == len(generated)
        expected = teacher_forced_score(model, pair, config.prompt, generated)
        assert caption.idp_score == pytest.approx(expected, abs=1e-4)


def test_token_stats_count_the_eos_but_not_what_follows():
    logprobs = torch.tensor([[-1.0, -2.0, -3.0, -9.0], [-1.0, -1.0, -1.0, -1.0]])
    generated = torch.tensor([[5, 6, 2, 2], [5, 5, 5, 5]])  # 2 is EOS, and also pads
    mean, count = token_logprob_stats(logprobs, generated, [2])
    assert count.tolist() == [3, 4]
    assert mean.tolist() == [-2.0, -1.0]


def test_config_fails_fast_and_handler_batches_as_configured(tiny_vlm_path):
    with pytest.raises(ValueError):
        CaptionConfig(model=tiny_vlm_path, max_new_tokens=0)
    with pytest.raises(ValueError):
        CaptionConfig(model=tiny_vlm_path, batch_size=2, min_batch_size=4)
    handler = IdpModelHandler(CaptionConfig(model=tiny_vlm_path, batch_size=8, device="cpu"))
    assert handler.batch_elements_kwargs() == {"min_batch_size": 1, "max_batch_size": 8}
    assert handler.share_model_across_processes() is False
    assert handler.get_metrics_namespace() == "idp_corpus"
    with pytest.raises(ValueError):
        handler.validate_inference_args({"temperature": 0.7})


def test_remote_model_folder_is_copied_to_a_local_cache(tiny_vlm_path, tmp_path):
    memory = fsspec.filesystem("memory")
    for name in os.listdir(tiny_vlm_path):
        memory.put(os.path.join(tiny_vlm_path, name), f"/tiny_vlm/{name}")
    local = local_model_path("memory://tiny_vlm", cache_dir=str(tmp_path))
    assert sorted(os.listdir(local)) == sorted(os.listdir(tiny_vlm_path))
    assert local_model_path("memory://tiny_vlm", cache_dir=str(tmp_path)) == local
    assert local_model_path(f"file://{tiny_vlm_path}") == tiny_vlm_path


def run_caption(config, batch):
    with BeamTestPipeline() as p:
        out = p | beam.Create(batch, reshuffle=False) | "Caption" >> CaptionPairs(config)
        assert set(out) == {"captioned", "failed"}
        captioned = out["captioned"] | "CaptionedKeys" >> beam.Map(
            lambda kv: (kv[0].key, kv[1].source, kv[1].num_tokens))
        failed = out["failed"] | "FailedKeys" >> beam.Map(
            lambda o: (o.meta.key, o.drop.reason, o.caption is None, bool(o.drop.message)))
        yield captioned, failed


def test_pipeline_routes_a_bad_pair_to_failed(config, pairs, pair_factory):
    good = pairs
    bad = dataclasses.replace(pair_factory("empty"), before=np.zeros((0, 0, 3), np.uint8))
    for captioned, failed in run_caption(config, good + [bad]):
        assert_that(captioned, equal_to(
            [(p.key, "idp", config.max_new_tokens) for p in good]), label="Good")
        assert_that(failed, equal_to([("empty", "caption_failed", True, True)]), label="Bad")


def test_pipeline_accounts_for_every_pair_of_a_failed_batch(
        config, monkeypatch, pairs, pair_factory):
    # A batch-level failure (the model itself raising) fails the whole batch; each of its pairs
    # must still come out as a failed record.
    run_inference = IdpModelHandler.run_inference

    def flaky(self, batch, model, inference_args=None):
        if any(pair.key == "boom" for pair in batch):
            raise RuntimeError("CUDA out of memory (simulated)")
        return run_inference(self, batch, model, inference_args)

    monkeypatch.setattr(IdpModelHandler, "run_inference", flaky)
    one_batch = dataclasses.replace(config, min_batch_size=5, batch_size=5)
    batch = pairs + [pair_factory("boom")]
    for captioned, failed in run_caption(one_batch, batch):
        assert_that(captioned, equal_to([]), label="Good")
        assert_that(failed, equal_to(
            [(p.key, "caption_failed", True, True) for p in batch]), label="Bad")


def staged(pairs, folder, label):
    """The pairs as the build hands them to the caption stage: JPEGs in a staging file."""
    path, triples = os.path.join(folder, "one.tmp-stage"), []
    with open(path, "wb") as stream:
        for pair in pairs:
            parts = [encode_jpeg(pair.before, 90), encode_jpeg(pair.after, 90), b"change"]
            images = StagedImages(path, stream.tell(), tuple(len(part) for part in parts))
            stream.write(b"".join(parts))
            meta = dataclasses.replace(
                pair.meta, source=dataclasses.replace(pair.meta.source, label=label(pair.key)))
            triples.append(StagedTriple(meta=meta, caption=None, images=images))
    return triples


def test_staged_jpegs_are_captioned_and_scored_as_their_decoded_frames(loaded, pairs, tmp_path):
    handler, model = loaded
    side = input_short_side(model.processor.image_processor)
    big = [make_pair(f"big{i}", (300, 400), (300, 400), seed=i) for i in range(2)]
    label = {"p1": "push the box", "big1": "lift it"}.get
    triples = staged(pairs + big, str(tmp_path), label)
    decoded = [FramePair(triple.meta, *(decode_for_model(data, side)
                                        for data in read_many([triple.images])[0][:2]))
               for triple in triples]
    inputs = list(map(as_input, triples))
    from_staged = handler.run_inference(inputs, model)
    from_frames = handler.run_inference(list(map(as_input, decoded)), model)
    assert ([(r.example.key, r.inference) for r in from_staged]
            == [(r.example.key, r.inference) for r in from_frames])
    assert {r.inference.source for r in handler.run_inference(inputs, model)} == {"idp", "human"}
    assert handler.get_num_bytes(inputs) == sum(sum(t.images.sizes[:2]) for t in triples)


def test_a_staged_pair_whose_file_is_gone_fails_as_caption_failed(config, pairs, tmp_path):
    triples = staged(pairs, str(tmp_path), lambda key: None)
    os.remove(triples[0].images.url)
    for captioned, failed in run_caption(config, triples):
        assert_that(captioned, equal_to([]), label="Good")
        assert_that(failed, equal_to(
            [(t.key, "caption_failed", True, True) for t in triples]), label="Bad")
