"""The loaded IDP model: batched greedy captioning and teacher-forced scoring, the hot path.

Its methods take plain images and return plain tuples, so that it also works through Beam's
cross-process proxy when the model is shared on a GPU.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

import numpy as np

from transforms.prompt import render_prompt

PREP_THREADS = 8  # image downscaling threads (PIL releases the GIL while resizing)


def token_logprob_stats(logprobs, generated, eos_ids):
    """Mean log-probability and count of the generated tokens, up to and including the first EOS.

    `logprobs` and `generated` are (batch, steps); what follows an EOS is padding, not the model's
    answer, even when the pad token is the EOS token.
    """
    import torch
    is_eos = torch.isin(generated, torch.as_tensor(eos_ids, device=generated.device))
    ended_before = (torch.cumsum(is_eos, dim=1) - is_eos.long()) > 0
    real = ~ended_before
    count = real.sum(dim=1)
    mean = (logprobs * real).sum(dim=1) / count
    return mean, count


def input_short_side(image_processor) -> Optional[int]:
    """The shorter side of the images the model takes, when its processor has a fixed one."""
    size = getattr(image_processor, "size", None) or {}
    if not isinstance(size, dict):
        return None
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    if size.get("height") and size.get("width"):
        return int(min(size["height"], size["width"]))
    return None  # dynamic resolution (min/max pixels): the processor decides


def shrink(image: np.ndarray, short_side: Optional[int]) -> np.ndarray:
    """Downscale a frame far larger than the model's input before the processor sees it.

    Processors resize with slow, exact filters on full frames (a 1080p frame is 20x the pixels of
    a 336 px input); a box-filtered PIL reduction to the input scale costs a fraction of that.
    Frames less than twice the input size are left to the processor as they are.
    """
    height, width = image.shape[:2]
    if short_side is None or min(height, width) < 2 * short_side:
        return image
    from PIL import Image
    scale = short_side / min(height, width)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=2.0))


class IdpModel:
    """A loaded processor and model; `caption` is the whole hot path, one call per batch.

    A batch larger than `max_batch` is captioned in chunks (GPU memory stays bounded whatever
    the batch), the next chunk's inputs prepared on a thread while the model generates.
    """

    def __init__(self, processor, model, device: str, revision: Optional[str],
                 max_batch: int = 0):
        self.processor, self.model, self.device, self._revision = processor, model, device, revision
        self.max_batch = max_batch  # 0: no cap
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = processor.tokenizer.eos_token_id
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos)
        self._short_side = input_short_side(getattr(processor, "image_processor", None))
        self._resizers = self._ahead = None  # thread pools, made on first use

    def revision(self) -> Optional[str]:
        return self._revision

    def _shrink_all(self, images: list) -> list:
        if self._short_side is None or all(
                min(image.shape[:2]) < 2 * self._short_side for image in images):
            return images
        if self._resizers is None:
            self._resizers = ThreadPoolExecutor(PREP_THREADS, thread_name_prefix="idp-resize")
        return list(self._resizers.map(shrink, images, [self._short_side] * len(images)))

    def inputs(self, befores: Sequence[np.ndarray], afters: Sequence[np.ndarray], prompt: str):
        """Processor output for a batch: one text per pair, images flat as b0, a0, b1, a1, ..."""
        text = render_prompt(self.processor, prompt)
        images = self._shrink_all([image for pair in zip(befores, afters) for image in pair])
        # `device` lets a torchvision-backed image processor resize and normalise on the GPU.
        batch = self.processor(
            images=images, text=[text] * len(befores), padding=True, return_tensors="pt",
            input_data_format="channels_last", device=self.device)
        batch = batch.to(self.device)
        batch["pixel_values"] = batch["pixel_values"].to(self.model.dtype)
        return batch

    def caption(self, befores, afters, prompt: str, max_new_tokens: int):
        """[(raw answer, mean log-prob of its tokens, number of tokens, whether it ended with
        end-of-sequence)] for each pair, in order."""
        size = self.max_batch or len(befores) or 1
        chunks = [(befores[i:i + size], afters[i:i + size]) for i in range(0, len(befores), size)]
        if len(chunks) <= 1:
            return self._generate(self.inputs(befores, afters, prompt), max_new_tokens)
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(1, thread_name_prefix="idp-prepare")
        answers = []
        pending = self._ahead.submit(self.inputs, *chunks[0], prompt)
        for index in range(len(chunks)):
            batch = pending.result()
            if index + 1 < len(chunks):
                pending = self._ahead.submit(self.inputs, *chunks[index + 1], prompt)
            answers.extend(self._generate(batch, max_new_tokens))
        return answers

    def score(self, befores, afters, prompt: str, actions: Sequence[str]):
        """[(mean log-prob, summed log-prob, number of tokens)] of each given action, its tokens
        and an end-of-sequence, after the prompt and the two images: teacher forcing, one
        forward pass per chunk of at most max_batch pairs."""
        size = self.max_batch or len(befores) or 1
        results = []
        for start in range(0, len(befores), size):
            batch = self.inputs(befores[start:start + size], afters[start:start + size], prompt)
            results.extend(self._teacher_forced(batch, actions[start:start + size]))
        return results

    def _teacher_forced(self, batch, actions: Sequence[str]):
        import torch
        tokenizer = self.processor.tokenizer
        prompt_ids = batch["input_ids"]
        targets = [tokenizer(action, add_special_tokens=False)["input_ids"] + [self.eos_ids[0]]
                   for action in actions]
        width = max(len(target) for target in targets)
        # Right-padded after the prompt: causal attention keeps pads out of every scored logit.
        target_ids = torch.full((len(targets), width), tokenizer.pad_token_id or 0,
                                dtype=prompt_ids.dtype)
        target_mask = torch.zeros_like(target_ids)
        for row, target in enumerate(targets):
            target_ids[row, :len(target)] = torch.as_tensor(target)
            target_mask[row, :len(target)] = 1
        target_ids, target_mask = target_ids.to(self.device), target_mask.to(self.device)
        extra = {k: v for k, v in batch.items() if k not in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            # Logits only where an action token is predicted, never (batch, prompt, vocab).
            logits = self.model(
                input_ids=torch.cat([prompt_ids, target_ids], 1),
                attention_mask=torch.cat([batch["attention_mask"], target_mask], 1),
                logits_to_keep=width + 1, **extra).logits[:, :width]
            logprobs = logits.float().log_softmax(-1).gather(2, target_ids[..., None])[..., 0]
            sums = (logprobs * target_mask).sum(1)
            counts = target_mask.sum(1)
        return list(zip((sums / counts).tolist(), sums.tolist(), counts.tolist()))

    def _generate(self, batch, max_new_tokens: int):
        import torch
        with torch.inference_mode():
            out = self.model.generate(
                **batch, do_sample=False, max_new_tokens=max_new_tokens,
                output_logits=True, return_dict_in_generate=True)
            generated = out.sequences[:, batch["input_ids"].shape[1]:]
            # Raw logits, not `scores`, so the score is the model's own likelihood whatever
            # logits processors a checkpoint's generation config carries; one step at a time
            # to never hold a (batch, steps, vocab) tensor.
            logprobs = torch.stack([
                step.float().log_softmax(-1).gather(1, generated[:, t:t + 1]).squeeze(1)
                for t, step in enumerate(out.logits)], dim=1)
            means, counts = token_logprob_stats(logprobs, generated, self.eos_ids)
            eos = torch.as_tensor(self.eos_ids, device=generated.device)
            ended = torch.isin(generated, eos).any(dim=1)
        texts = self.processor.batch_decode(generated, skip_special_tokens=True)
        return list(zip(texts, means.tolist(), counts.tolist(), ended.tolist()))
