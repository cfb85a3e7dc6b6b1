"""LoRA for large models: low-rank adapters on the language model's attention and MLP
projections, the vision-to-text projector trained in full; merged back at the end so the
pipeline loads a plain model.

Both are found by what they are, not by their names, which differ across families
(`language_model` / `text_model`, `multi_modal_projector` / `connector` / `aligner`): the
projections are the linear layers of the decoder's attention and MLP blocks, and the projector
is whatever the model runs on the images after their encoder and before its decoder.
"""
from __future__ import annotations

from typing import Dict, List

# Block classes of transformers' decoders end so: LlamaAttention, MllamaTextCrossAttention,
# Gemma3MLP, ... (their vision towers' blocks sit outside the decoder).
BLOCK_SUFFIXES = ("Attention", "MLP")


class NoLoraTargets(ValueError):
    pass


def language_projections(model) -> List[str]:
    """Full names of the linear layers inside the decoder's attention and MLP blocks."""
    import torch
    in_decoder = {id(module) for module in model.get_decoder().modules()}
    found = []
    for name, module in model.named_modules():
        if id(module) not in in_decoder or not type(module).__name__.endswith(BLOCK_SUFFIXES):
            continue
        found += [f"{name}.{child}" for child, layer in module.named_modules()
                  if child and isinstance(layer, torch.nn.Linear)]
    return sorted(set(found))


def vision_projector(model, batch: Dict) -> List[str]:
    """Names of the modules that map image features into the decoder: the parts of the
    multimodal model that run on a real batch after the first one (the image encoder) and
    before the decoder. None for families whose images enter as tokens of the decoder's own
    vocabulary (Chameleon, Emu3: a VQ tokenizer, no projector)."""
    import torch
    inner = getattr(model, "model", model)
    decoder = model.get_decoder()
    started = []
    hooks = [child.register_forward_pre_hook(lambda *_, name=name: started.append(name))
             for name, child in inner.named_children()
             if child is not decoder and any(p.numel() for p in child.parameters())]
    try:
        with torch.no_grad():
            model(**batch)
    finally:
        for hook in hooks:
            hook.remove()
    prefix = "model." if inner is not model else ""
    ran = list(dict.fromkeys(started))  # in the order they first ran
    return [prefix + name for name in ran[1:]]


def add_lora(model, rank: int, alpha: int, batch: Dict, log=print):
    """`model` with LoRA adapters; `batch` is one training batch's model inputs (the projector
    is found by running it)."""
    from peft import LoraConfig, get_peft_model
    targets = language_projections(model)
    if not targets:
        raise NoLoraTargets(
            f"no attention or MLP projections found in {type(model).__name__}'s language model "
            f"({type(model.get_decoder()).__name__}): --lora cannot adapt it; train without it")
    projector = vision_projector(model, batch)
    log(f"train-idp: LoRA on {len(targets)} language-model projections; "
        + (f"projector trained in full: {', '.join(projector)}" if projector else
           "no vision-to-text projector (images enter as tokens of the decoder's vocabulary)"))
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets,
                        modules_to_save=projector or None)
    return get_peft_model(model, config)


def merge(model):
    """A plain transformers model with the adapters folded into its weights."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
