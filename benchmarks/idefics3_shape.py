"""Random-weight Idefics3 models for the caption benchmark: a family whose processor splits each
frame into crops per prompt (no shared-prompt fast path), beside the LLaVA shapes of
caption_gpu.py."""
from __future__ import annotations

SHAPES = {
    # Idefics3-8B: SigLIP-so400m at 364 px, Llama-3-8B text, pixel shuffle 2 (169 tokens a crop),
    # frames split into 364-px crops up to 1456 px on the long side, plus a global image.
    "idefics3-8b": dict(
        vision=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                    num_attention_heads=16, image_size=364, patch_size=14),
        text=dict(vocab_size=128259, hidden_size=4096, intermediate_size=14336,
                  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                  max_position_embeddings=16384, rope_theta=500000.0),
        longest_edge=1456),
    "idefics3-tiny": dict(
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=2, image_size=32, patch_size=8),
        text=dict(vocab_size=4096, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096),
        longest_edge=64),
}


def build_idefics3(shape: str, device: str, dtype):
    """(processor, model), the tokenizer trained offline as for the LLaVA shapes."""
    import torch
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration,
                              Idefics3Processor, Idefics3VisionConfig, LlamaConfig)
    from transformers.models.idefics3.image_processing_pil_idefics3 import (
        Idefics3ImageProcessorPil)
    from synthetic_inputs.tiny_vlm import _CORPUS
    from training.tiny_model import CHAT_TEMPLATE, IMAGE_TOKEN, train_tokenizer

    spec = SHAPES[shape]
    tokenizer = train_tokenizer(_CORPUS, 400)
    grid = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokenizer.add_special_tokens({"additional_special_tokens": [
        "<fake_token_around_image>", "<global-img>", "<end_of_utterance>", *grid]})
    size, patch = spec["vision"]["image_size"], spec["vision"]["patch_size"]
    text = LlamaConfig(**spec["text"], pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    config = Idefics3Config(vision_config=Idefics3VisionConfig(**spec["vision"]),
                            text_config=text, scale_factor=2,
                            image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN))
    torch.manual_seed(0)
    with torch.device(device):  # random init straight on the device
        model = Idefics3ForConditionalGeneration(config).eval()
    model.to(dtype)
    gen = model.generation_config
    gen.pad_token_id, gen.bos_token_id = tokenizer.pad_token_id, tokenizer.bos_token_id
    gen.eos_token_id = tokenizer.eos_token_id
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessorPil(
            size={"longest_edge": spec["longest_edge"]}, max_image_size={"longest_edge": size}),
        tokenizer=tokenizer, image_seq_len=(size // patch) ** 2 // 4,
        chat_template=CHAT_TEMPLATE)
    processor.tokenizer.padding_side = "left"
    return processor, model
