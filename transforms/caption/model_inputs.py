"""Model inputs for a batch of frame pairs: the CPU half of the caption hot path.

Two costs grow with the batch (docs/performance.md): resizing full frames down to the model's
input size, and tokenising the prompt once per pair (the processor expands every image
placeholder into hundreds of image tokens first). Frames many times the input size are halved
with OpenCV on a thread pool first (a JPEG is decoded straight at a reduced scale instead);
and the prompt, the same for every pair, is tokenised once when the image processor makes a
fixed number of tokens per image.

An image is an HxWx3 RGB uint8 array or the bytes of a JPEG: the build captions the JPEGs it
stores, so a batch waiting for the model holds ~0.3 MB a 720p image instead of 2.7 MB.
"""
from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence, Union

import numpy as np

from transforms.caption.prompt import render_prompt

PREP_THREADS = 8  # decoding and resizing threads (PIL and OpenCV release the GIL)
AnyImage = Union[np.ndarray, bytes]  # an RGB array, or a JPEG's bytes


def input_short_side(image_processor) -> Optional[int]:
    """The shorter side of the images the model takes, when its processor has a fixed one."""
    size = getattr(image_processor, "size", None)
    if not hasattr(size, "get"):  # a dict, or transformers' SizeDict
        return None
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    if size.get("height") and size.get("width"):
        return int(min(size["height"], size["width"]))
    return None  # dynamic resolution (min/max pixels): the processor decides


def halve_toward_model_size(image: np.ndarray, short_side: Optional[int]) -> np.ndarray:
    """Halve a frame far larger than the model's input (2x box filter: OpenCV's fast path) while
    it stays at least twice the input size.

    The processor's own resample then does the last step, from 2-4x the input size instead of
    from full resolution: the model sees what its processor would make of the full frame (the
    halvings only low-pass what that resample discards anyway), for a fraction of the work.
    Not down to 1-2x: the last step would then be a box filter where the model was trained on
    its processor's own (bicubic, antialiased) resample.
    """
    import cv2
    height, width = image.shape[:2]
    if short_side is None:
        return image
    while min(height, width) >= 4 * short_side:
        image = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        height, width = image.shape[:2]
    return image


def decode_for_model(data: bytes, short_side: Optional[int]) -> np.ndarray:
    """A JPEG as an RGB array, decoded at the scale `halve_toward_model_size` would bring the
    full frame to.

    libjpeg scales by 1/2, 1/4 or 1/8 inside its inverse DCT (PIL's `draft`), picking the
    smallest that keeps both sides at least twice the input size: the frame
    `halve_toward_model_size` makes, without decoding the full one.
    """
    from PIL import Image
    with Image.open(io.BytesIO(data)) as image:
        if short_side is not None:
            image.draft("RGB", (2 * short_side, 2 * short_side))
        return halve_toward_model_size(np.asarray(image.convert("RGB")), short_side)


def to_model_scale(image: AnyImage, short_side: Optional[int]) -> np.ndarray:
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_for_model(bytes(image), short_side)
    return halve_toward_model_size(image, short_side)


def per_prompt(images: Sequence) -> list:
    """[[b0, a0], [b1, a1], ...] from b0, a0, b1, a1, ...: each prompt's own images, as every
    processor reads them (one that groups images per prompt, given a flat list, puts them all
    on the first prompt; one that tiles would tile each image as if it were alone)."""
    return [list(images[i:i + 2]) for i in range(0, len(images), 2)]


class PairInputs:
    """`(befores, afters, prompt)` -> the processor's batch on the model's device: one text per
    pair, each with its images (arrays or JPEG bytes) nested as [[b0, a0], [b1, a1], ...]."""

    def __init__(self, processor, device: str, dtype, tokenizer_lock=None,
                 prompt_template: Optional[str] = None):
        self.processor, self.device, self.dtype = processor, device, dtype
        self.prompt_template = prompt_template  # None: the chat template or documented format
        self._short_side = input_short_side(getattr(processor, "image_processor", None))
        self._text_rows = {}  # prompt text -> its one-pair processor output (fixed-size only)
        self._shared_fits = self._short_side is not None  # until a batch shows it does not
        self._resizers = ThreadPoolExecutor(PREP_THREADS, thread_name_prefix="idp-resize")
        # Held while the tokenizer works: a fast tokenizer used by two threads at once raises
        # "Already borrowed". Image work needs no lock, so it can overlap generation.
        self._tokenizer_lock = tokenizer_lock or threading.Lock()

    def __call__(self, befores: Sequence[np.ndarray], afters: Sequence[np.ndarray], prompt: str):
        text = render_prompt(self.processor, prompt, self.prompt_template)
        images = self._at_model_scale(
            [image for pair in zip(befores, afters) for image in pair])
        batch = self._shared_text(text, images)
        if batch is None:
            batch = self._processor(text, images)
        batch = batch.to(self.device)
        if "pixel_values" in batch:
            batch["pixel_values"] = batch["pixel_values"].to(self.dtype)
        return batch

    def _at_model_scale(self, images: list) -> list:
        encoded = any(not isinstance(image, np.ndarray) for image in images)
        if not encoded and (self._short_side is None or all(
                min(image.shape[:2]) < 4 * self._short_side for image in images)):
            return images
        return list(self._resizers.map(to_model_scale, images, [self._short_side] * len(images)))

    def _processor(self, text: str, images: list):
        # `device` lets a torchvision-backed image processor resize and normalise on the GPU.
        with self._tokenizer_lock:
            return self.processor(
                images=per_prompt(images), text=[text] * (len(images) // 2), padding=True,
                return_tensors="pt", input_data_format="channels_last", device=self.device)

    def _shared_text(self, text: str, images: list):
        """The batch built from the image processor alone plus one pair's text rows, repeated;
        None where that would not equal the processor's own batch: image processors that return
        more than `pixel_values` (image sizes, grids, tiles: a per-image token count) or not one
        entry per image."""
        if not self._shared_fits:
            return None
        one = self._text_rows.get(text)
        if one is None:
            one = self._text_rows[text] = self._processor(text, images[:2])
        pixels = self.processor.image_processor(
            per_prompt(images), return_tensors="pt", input_data_format="channels_last",
            device=self.device)
        values = pixels.get("pixel_values")
        if (set(pixels.keys()) != {"pixel_values"} or values.shape[0] != len(images)
                or one["pixel_values"].shape[1:] != values.shape[1:]):
            self._shared_fits = False  # this processor's batches need it whole, every time
            return None
        batch = {key: value.repeat(len(images) // 2, *[1] * (value.ndim - 1))
                 for key, value in one.items() if key != "pixel_values"}
        return type(one)({**batch, "pixel_values": values})


# Processor outputs that are training targets, not inputs: given to the model, it would compute
# a loss of its own against them (PaliGemma's processor returns `labels`).
TARGET_KEYS = ("labels",)


def with_targets(model, batch, target_ids, target_mask) -> dict:
    """Model inputs for teacher forcing: the processor's batch (prompt and images, left-padded)
    followed by the target tokens (right-padded, `target_mask` 1 where a token is real).

    Every per-token input is extended the way the model's own `generate()` extends it for each
    new token (its `_update_model_kwargs_for_generation`): token-type ids (PaliGemma marks the
    suffix 1, Gemma 3 text 0), multimodal-type ids (0: text), cross-attention masks (Mllama:
    the last position's), so the scored tokens see exactly what they saw while generated. Per-
    image inputs (pixels, sizes, grids) pass unchanged; training targets are dropped.
    """
    import torch
    kwargs = {key: value for key, value in batch.items()
              if key not in TARGET_KEYS and key not in ("input_ids", "attention_mask")}
    for _ in range(target_ids.shape[1]):  # one at a time: some models extend by one, whatever asked
        kwargs = model._update_model_kwargs_for_generation(
            {}, kwargs, is_encoder_decoder=False, num_new_tokens=1)
    kwargs.pop("cache", None)
    return {**kwargs,
            "input_ids": torch.cat([batch["input_ids"], target_ids], 1),
            "attention_mask": torch.cat([batch["attention_mask"], target_mask], 1)}
