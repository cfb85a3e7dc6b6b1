"""Model inputs for IDP training: the pipeline's own prompt and processor, the loss on the action.

Every example shares one prompt, so its token ids are made once by the processor (image
placeholders expanded as at inference); each example appends its action and an end-of-sequence,
and only those tokens are in the loss.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np

from transforms.idp_inputs import input_short_side
from transforms.idp_runtime import right_padded
from transforms.prompt import render_prompt


class BatchEncoder:
    def __init__(self, processor, prompt: str):
        self.processor, self.tokenizer = processor, processor.tokenizer
        # Any image size gives the same prompt tokens with a fixed-size processor.
        size = 2 * (input_short_side(processor.image_processor) or 224)
        blank = np.zeros((size, size, 3), np.uint8)
        encoded = processor(images=[blank, blank], text=[render_prompt(processor, prompt)],
                            return_tensors="pt")
        self.prompt_ids: List[int] = encoded["input_ids"][0].tolist()
        eos = self.tokenizer.eos_token_id
        self.eos_id = eos if isinstance(eos, int) else eos[0]
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None \
            else self.eos_id

    def pixel_values(self, images: Sequence[np.ndarray]):
        """Processor-normalised images, (len(images), 3, H, W) float32."""
        return self.processor.image_processor(
            images=list(images), return_tensors="pt",
            input_data_format="channels_last")["pixel_values"]

    def action_ids(self, action: str) -> List[int]:
        return self.tokenizer(action, add_special_tokens=False)["input_ids"] + [self.eos_id]

    def batch(self, pixels, actions: Sequence[str]) -> Dict:
        """Inputs for one step. `pixels` is (batch, 2, 3, H, W): before and after per example,
        flattened to b0, a0, b1, a1, ... as the processor orders them. Targets are each action
        and an end-of-sequence, right-padded; `target_mask` marks the real ones."""
        import torch
        target_ids, target_mask = right_padded([self.action_ids(a) for a in actions], self.pad_id)
        prompt = torch.as_tensor(self.prompt_ids).expand(len(actions), -1)
        return {"input_ids": torch.cat([prompt, target_ids], 1),
                "attention_mask": torch.cat([torch.ones_like(prompt), target_mask], 1),
                "pixel_values": pixels.reshape(-1, *pixels.shape[2:]),
                "target_ids": target_ids, "target_mask": target_mask}


def action_loss(model, batch: Dict):
    """Mean cross-entropy over the action tokens only; logits are made for those positions
    alone (never batch x sequence x vocabulary, which for a real model is gigabytes)."""
    import torch
    target_ids, target_mask = batch["target_ids"], batch["target_mask"]
    width = target_ids.shape[1]
    inputs = {k: v for k, v in batch.items() if k not in ("target_ids", "target_mask")}
    logits = model(**inputs, logits_to_keep=width + 1).logits[:, :width]
    losses = torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), target_ids, reduction="none")
    return (losses * target_mask).sum() / target_mask.sum()

