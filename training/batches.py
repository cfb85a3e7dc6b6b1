"""Model inputs for IDP training: built by the pipeline's own input code, the loss on the action.

A batch is what captioning and scoring give the model (transforms/caption/model_inputs.py: the
processor on the real images, nested per prompt, every output it makes, in each family's
layout), followed by each example's action and an end-of-sequence extended as scoring extends it
(`with_targets`); only those tokens are in the loss. One place builds model inputs, so
training, captioning and scoring cannot drift apart.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np

from transforms.caption.model_inputs import PairInputs, with_targets
from transforms.caption.model import right_padded


class BatchEncoder:
    def __init__(self, processor, prompt: str, prompt_template: Optional[str] = None):
        import torch
        self.processor, self.tokenizer, self.prompt = processor, processor.tokenizer, prompt
        # Prompts are left-padded, as at inference: the targets follow every prompt's end.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._inputs = PairInputs(processor, "cpu", torch.float32,
                                  prompt_template=prompt_template)
        eos = self.tokenizer.eos_token_id
        self.eos_id = eos if isinstance(eos, int) else eos[0]
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else self.eos_id

    def action_ids(self, action: str) -> List[int]:
        return self.tokenizer(action, add_special_tokens=False)["input_ids"] + [self.eos_id]

    def batch(self, befores: Sequence[np.ndarray], afters: Sequence[np.ndarray],
              actions: Sequence[str]) -> Dict:
        """Inputs for one step: the processor's batch of the pairs and the prompt (on CPU), and
        each action and an end-of-sequence right-padded as `target_ids` (`target_mask` 1 on the
        real ones)."""
        batch = dict(self._inputs(befores, afters, self.prompt))
        target_ids, target_mask = right_padded([self.action_ids(a) for a in actions], self.pad_id)
        return {**batch, "target_ids": target_ids, "target_mask": target_mask}


def action_loss(model, batch: Dict):
    """Mean cross-entropy over the action tokens only; logits are made for those positions
    alone (never batch x sequence x vocabulary, which for a real model is gigabytes)."""
    import torch
    target_ids, target_mask = batch["target_ids"], batch["target_mask"]
    width = target_ids.shape[1]
    prompt = {k: v for k, v in batch.items() if k not in ("target_ids", "target_mask")}
    inputs = with_targets(model, prompt, target_ids, target_mask)
    logits = model(**inputs, logits_to_keep=width + 1).logits[:, :width]
    losses = torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), target_ids, reduction="none")
    return (losses * target_mask).sum() / target_mask.sum()
