"""LoRA for large models: low-rank adapters on the language model's projections, the vision-to-
text projector trained in full; merged back at the end so the pipeline loads a plain model."""
from __future__ import annotations

# Attention and MLP projections of Llama/Qwen/Mistral-style decoders.
TEXT_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def add_lora(model, rank: int, alpha: int):
    from peft import LoraConfig, get_peft_model
    # Only the language model's projections: the vision tower stays frozen, as in LLaVA tuning.
    target = r".*language_model.*\.(" + "|".join(TEXT_PROJECTIONS) + r")$"
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=target,
                        modules_to_save=["multi_modal_projector"])
    return get_peft_model(model, config)


def merge(model):
    """A plain transformers model with the adapters folded into its weights."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model
