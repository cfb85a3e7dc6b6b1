"""The loaded IDP model: batched greedy captioning and teacher-forced scoring, the hot path.

Its methods take plain images (RGB arrays or JPEG bytes) and return plain tuples, so that it
also works through Beam's cross-process proxy when the model is shared on a GPU.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

from transforms.caption.model_inputs import PairInputs, with_targets


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


def right_padded(targets: Sequence[Sequence[int]], pad_id: int):
    """(ids, mask) of token lists right-padded to the longest: (len(targets), longest) long
    tensors, the mask 1 where a real token is."""
    import torch
    width = max(len(target) for target in targets)
    ids = torch.full((len(targets), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, target in enumerate(targets):
        ids[row, :len(target)] = torch.as_tensor(target, dtype=torch.long)
        mask[row, :len(target)] = 1
    return ids, mask


class IdpModel:
    """A loaded processor and model; `caption` is the whole hot path, one call per batch.

    A batch larger than `max_batch` is captioned in chunks (GPU memory stays bounded whatever
    the batch), the next chunk's inputs prepared on a thread while the model generates.
    Calls may come from several threads at once: Beam shares the loaded model between the
    worker threads of a process (and a GPU model between processes, whose calls arrive on
    threads). The model runs one batch at a time, and the tokenizer is only used under the same
    lock (a fast tokenizer used by two threads at once raises "Already borrowed"); a call's image
    work runs outside it, so one batch's inputs are prepared while another batch generates.
    """

    def __init__(self, processor, model, device: str, revision: Optional[str],
                 max_batch: int = 0, prompt_template: Optional[str] = None):
        self.processor, self.model, self.device, self._revision = processor, model, device, revision
        self.max_batch = max_batch  # 0: no cap
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = processor.tokenizer.eos_token_id
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos)
        self._model_lock = threading.Lock()
        self._prepare = PairInputs(processor, device, model.dtype, self._model_lock,
                                   prompt_template)
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="idp-prepare")  # next chunk

    def revision(self) -> Optional[str]:
        return self._revision

    def inputs(self, befores, afters, prompt: str):
        """Processor output for a batch, on the device: one text per pair, each with its before
        and after image."""
        return self._prepare(befores, afters, prompt)

    def caption(self, befores, afters, prompt: str, max_new_tokens: int):
        """[(raw answer, mean log-prob of its tokens, number of tokens, whether it ended with
        end-of-sequence)] for each pair, in order."""
        size = self.max_batch or len(befores) or 1
        chunks = [(befores[i:i + size], afters[i:i + size]) for i in range(0, len(befores), size)]
        if len(chunks) <= 1:
            return self._generate(self.inputs(befores, afters, prompt), max_new_tokens)
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
        tokenizer = self.processor.tokenizer
        with self._model_lock:  # the tokenizer is not safe to share between threads
            targets = [tokenizer(action, add_special_tokens=False)["input_ids"] + [self.eos_ids[0]]
                       for action in actions]
        return self.score_tokens(befores, afters, prompt, targets)

    def score_tokens(self, befores, afters, prompt: str, targets: Sequence[Sequence[int]]):
        """`score` of token ids (as generated, say) instead of texts, taken as they are."""
        size = self.max_batch or len(befores) or 1
        results = []
        for start in range(0, len(befores), size):
            batch = self.inputs(befores[start:start + size], afters[start:start + size], prompt)
            results.extend(self._teacher_forced(batch, targets[start:start + size]))
        return results

    def _teacher_forced(self, batch, targets: Sequence[Sequence[int]]):
        import torch
        with self._model_lock, torch.inference_mode():
            # Right-padded after the prompt: causal attention keeps pads out of every scored logit.
            target_ids, target_mask = right_padded(
                targets, self.processor.tokenizer.pad_token_id or 0)
            width = target_ids.shape[1]
            target_ids, target_mask = target_ids.to(self.device), target_mask.to(self.device)
            # Logits only where an action token is predicted, never (batch, prompt, vocab).
            logits = self.model(**with_targets(self.model, batch, target_ids, target_mask),
                                logits_to_keep=width + 1).logits[:, :width]
            logprobs = logits.float().log_softmax(-1).gather(2, target_ids[..., None])[..., 0]
            sums = (logprobs * target_mask).sum(1)
            counts = target_mask.sum(1)
        return list(zip((sums / counts).tolist(), sums.tolist(), counts.tolist()))

    def _generate(self, batch, max_new_tokens: int):
        import torch
        with self._model_lock, torch.inference_mode():
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
