import cv2
import numpy as np
import pytest
import torch
from transformers import AutoProcessor

from transforms.caption.model_inputs import (PairInputs, decode_for_model,
                                             halve_toward_model_size, input_short_side)
from transforms.shard_read import decode_jpeg
from transforms.jpeg import encode_jpeg
from transforms.caption.prompt import DEFAULT_PROMPT, render_prompt


def smooth_frame(height, width, seed=0):
    """Random colours varying over about a quarter of the frame: pictures that survive a resize."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def processor(tiny_vlm_path):
    processor = AutoProcessor.from_pretrained(tiny_vlm_path)
    processor.tokenizer.padding_side = "left"
    return processor


def pixels(processor, images):
    return processor.image_processor(
        images, return_tensors="pt", input_data_format="channels_last")["pixel_values"]


@pytest.mark.parametrize("height,width", [(720, 1280), (1080, 1920), (1280, 720), (401, 999)])
def test_halving_keeps_what_the_model_sees(processor, height, width):
    frame = smooth_frame(height, width)
    side = input_short_side(processor.image_processor)
    small = halve_toward_model_size(frame, side)
    assert 2 * side <= min(small.shape[:2]) < 4 * side and small.dtype == np.uint8
    assert small.shape[1] / small.shape[0] == pytest.approx(width / height, rel=0.03)
    # The processor makes nearly the same input of the halved frame as of the full one: under
    # 0.01 (normalised units) where the halvings keep the aspect exactly, about 0.05 where one
    # rounds an odd side down (1080 -> 67) and the centre crop moves by a pixel.
    difference = (pixels(processor, [small]) - pixels(processor, [frame])).abs().mean()
    assert difference < 0.06
    assert (pixels(processor, [small]) - pixels(processor, [frame[::-1]])).abs().mean() > 0.3


def test_halving_leaves_frames_near_the_input_size_alone(processor):
    frame = smooth_frame(100, 150)
    assert input_short_side(processor.image_processor) == 32
    assert halve_toward_model_size(frame, 32) is frame
    assert halve_toward_model_size(frame, None) is frame


@pytest.mark.parametrize("height,width", [(720, 1280), (1080, 1920), (1280, 720), (401, 999),
                                          (100, 150)])
def test_a_jpeg_is_decoded_straight_at_the_scale_halving_makes(processor, height, width):
    jpeg = encode_jpeg(smooth_frame(height, width), 95)
    side = input_short_side(processor.image_processor)
    reduced = decode_for_model(jpeg, side)
    reference = halve_toward_model_size(decode_jpeg(jpeg), side)
    # libjpeg rounds a scaled side up where halving rounds down: at most a pixel apart.
    assert np.abs(np.subtract(reduced.shape, reference.shape)).max() <= 1
    assert reduced.dtype == np.uint8 and reduced.shape[2] == 3
    difference = (pixels(processor, [reduced]) - pixels(processor, [reference])).abs().mean()
    assert difference < 0.06  # as close as halving is to the full frame (above)


def test_jpeg_bytes_make_the_batch_their_decoded_frames_make(processor):
    prepare = PairInputs(processor, "cpu", torch.float32)
    befores, afters = frames(3, seed=1), frames(3, seed=5)
    jpegs = [[encode_jpeg(image, 90) for image in images] for images in (befores, afters)]
    decoded = [[decode_for_model(data, 32) for data in images] for images in jpegs]
    from_bytes = prepare(*jpegs, DEFAULT_PROMPT)
    from_arrays = prepare(*decoded, DEFAULT_PROMPT)
    assert from_bytes.keys() == from_arrays.keys()
    assert all(torch.equal(from_bytes[key], from_arrays[key]) for key in from_bytes)


def full_processor(processor, befores, afters):
    """What the processor itself makes of the batch: the reference for the shared-text path."""
    images = [[halve_toward_model_size(image, 32) for image in pair]
              for pair in zip(befores, afters)]
    return processor(images=images, text=[render_prompt(processor, DEFAULT_PROMPT)] * len(befores),
                     padding=True, return_tensors="pt", input_data_format="channels_last")


def frames(count, seed):
    sizes = [(48, 64), (200, 120), (20, 90), (720, 1280)]
    return [smooth_frame(*sizes[(seed + i) % len(sizes)], seed=seed + i) for i in range(count)]


def test_prompt_tokens_are_shared_and_equal_the_processors_own(processor, monkeypatch):
    prepare = PairInputs(processor, "cpu", torch.float32)
    texts_tokenised = []
    call = type(processor).__call__

    def spy(self, *args, **kwargs):
        texts_tokenised.append(len(kwargs["text"]))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(type(processor), "__call__", spy)
    for seed, pairs in ((0, 3), (5, 1), (9, 4)):
        befores, afters = frames(pairs, seed), frames(pairs, seed + 100)
        batch = prepare(befores, afters, DEFAULT_PROMPT)
        monkeypatch.setattr(type(processor), "__call__", call)
        reference = full_processor(processor, befores, afters)
        monkeypatch.setattr(type(processor), "__call__", spy)
        assert set(batch.keys()) == set(reference.keys())
        for key in reference:
            assert torch.equal(batch[key], reference[key]), key
    assert texts_tokenised == [1]  # one pair's text, once, for all three batches


def test_processors_with_per_image_extras_take_the_full_path(processor, monkeypatch):
    """An image processor that also returns image sizes (token counts that vary per image, as in
    LLaVA-NeXT) must not get one pair's tokens repeated."""
    images_call = type(processor.image_processor).__call__

    def with_sizes(self, images, **kwargs):
        out = images_call(self, images, **kwargs)
        out["image_sizes"] = torch.tensor([image.shape[:2] for pair in images for image in pair])
        return out

    monkeypatch.setattr(type(processor.image_processor), "__call__", with_sizes)
    prepare = PairInputs(processor, "cpu", torch.float32)
    befores, afters = frames(3, 1), frames(3, 2)
    for _ in range(2):  # the second batch goes straight to the processor's own path
        batch = prepare(befores, afters, DEFAULT_PROMPT)
        reference = full_processor(processor, befores, afters)
        assert set(batch.keys()) == set(reference.keys()) and "image_sizes" in batch
        for key in reference:
            assert torch.equal(batch[key], reference[key]), key
    assert not prepare._shared_fits
