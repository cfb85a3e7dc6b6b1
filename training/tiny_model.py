"""Small LLaVA-style IDP models built from a config: a CLIP vision tower, a Llama language model,
a byte-level BPE tokenizer trained on the fly, and a processor with a chat template.

Saved with `save_pretrained`, they load through the Auto classes exactly as a hub checkpoint
does, so the pipeline, train-idp and the tests run the real loading code without a download.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

IMAGE_TOKEN = "<image>"
SPECIAL_TOKENS = ["<unk>", "<pad>", "<s>", "</s>", IMAGE_TOKEN]

# Images come first, in the order given (before, then after), then the text; one turn per message.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ message['role'] | upper }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


@dataclasses.dataclass(frozen=True)
class TinyModelConfig:
    image_size: int = 64
    patch_size: int = 8  # 64 tokens per image: learned 3-4x faster per step than 16 here
    vision_hidden: int = 96
    vision_intermediate: int = 384
    vision_layers: int = 3
    vision_heads: int = 4
    text_hidden: int = 128
    text_intermediate: int = 512
    text_layers: int = 3
    text_heads: int = 4
    vocab_size: int = 512  # an upper bound: BPE stops merging when the corpus runs out
    max_positions: int = 512
    initializer_range: float = 0.02
    vision_feature_layer: int = -1


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    # Byte-level BPE so any prompt or caption round-trips, spaces included.
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
        eos_token="</s>", extra_special_tokens={"image_token": IMAGE_TOKEN},
        padding_side="left")


def build_tiny_llava(config: TinyModelConfig, texts: Iterable[str], seed: int = 0):
    """(model, processor): random weights drawn from `seed`, a tokenizer trained on `texts`."""
    import torch
    from transformers import (
        CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
        LlavaProcessor)
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = train_tokenizer(texts, config.vocab_size)
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    vision = CLIPVisionConfig(
        hidden_size=config.vision_hidden, intermediate_size=config.vision_intermediate,
        num_hidden_layers=config.vision_layers, num_attention_heads=config.vision_heads,
        image_size=config.image_size, patch_size=config.patch_size,
        projection_dim=config.vision_hidden)
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=config.text_hidden,
        intermediate_size=config.text_intermediate, num_hidden_layers=config.text_layers,
        num_attention_heads=config.text_heads, num_key_value_heads=config.text_heads,
        max_position_embeddings=config.max_positions,
        initializer_range=config.initializer_range,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id)
    num_patches = (config.image_size // config.patch_size) ** 2
    llava = LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=image_token_id,
        image_seq_length=num_patches, vision_feature_select_strategy="default",
        vision_feature_layer=config.vision_feature_layer)

    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(llava).eval()
    generation = model.generation_config
    generation.pad_token_id, generation.bos_token_id = tokenizer.pad_token_id, tokenizer.bos_token_id
    generation.eos_token_id = tokenizer.eos_token_id

    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": config.image_size},
        crop_size={"height": config.image_size, "width": config.image_size})
    # The CLS token (+1) is dropped again by the "default" feature strategy: num_patches tokens.
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=config.patch_size,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN)
    return model, processor
