"""Tiny random-weight models of the VLM families people fine-tune as IDPs, built offline.

Each builder makes the architecture's own config (hidden size 64 or less, two layers) with its
real processor class and image processor at 32-64 px, and a byte-level BPE tokenizer trained on
the fly that carries the family's special tokens; the caller saves both with `save_pretrained`,
so the pipeline loads them through the Auto classes as it would a hub checkpoint.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

CORPUS = [
    "pick up the red cup", "put the cup on the table", "open the drawer", "close the drawer",
    "push the box to the left", "pull the chair toward the camera", "turn on the light",
    "pour water into the glass", "fold the towel", "cut the bread", "wipe the counter",
    "The first image was taken before an action and the second image after it. What action "
    "turned the first image into the second? Answer with a short imperative phrase, such as "
    "'open the drawer'.", "user model assistant USER: ASSISTANT: system",
]

# A generic chat template: images first (before, then after), then the text; IMAGE is what the
# family's processor expects where an image goes.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'] }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}IMAGE"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}")

HIDDEN, LAYERS, HEADS = 64, 2, 4
# A large init gives peaked logits: greedy picks are then rarely near ties (see the suite).
INIT = 0.2


def chat_template(image: str) -> str:
    return CHAT_TEMPLATE.replace("IMAGE", image)


def tokenizer(specials: Sequence[str], named: Dict[str, str] = None, bos="<s>", eos="</s>",
              pad="<pad>", vocab_size=400):
    """A BPE tokenizer knowing CORPUS's words and the family's special tokens; `named` sets
    attributes processors look up (image_token, boi_token...)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    base = [t for t in ("<unk>", pad, bos, eos) if t]
    specials = base + [t for t in specials if t not in base]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainer=trainers.BpeTrainer(
        vocab_size=vocab_size + len(specials), special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token=pad, bos_token=bos, eos_token=eos,
        extra_special_tokens=dict(named or {}), padding_side="left")


def text_ids(tok) -> dict:
    return dict(vocab_size=len(tok), pad_token_id=tok.pad_token_id,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)


def llama(tok, **extra):
    from transformers import LlamaConfig
    return LlamaConfig(hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=LAYERS,
                       num_attention_heads=HEADS, num_key_value_heads=HEADS,
                       max_position_embeddings=1024, initializer_range=INIT,
                       **text_ids(tok), **extra)


def clip_vision(image_size=32, patch_size=8):
    from transformers import CLIPVisionConfig
    return CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
                            num_attention_heads=2, image_size=image_size, patch_size=patch_size,
                            projection_dim=32)


def siglip_vision(image_size=32, patch_size=8):
    from transformers import SiglipVisionConfig
    return SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
                              num_attention_heads=2, image_size=image_size, patch_size=patch_size)


def finish(model, tok):
    """The model in eval mode with the tokenizer's ids in its generation config.

    Random weights would also generate image and other special tokens, which no trained model
    does and which, fed back in teacher forcing, would be taken for image placeholders: they
    are suppressed, as a checkpoint's generation config can do.
    """
    generation = model.generation_config
    generation.pad_token_id, generation.bos_token_id = tok.pad_token_id, tok.bos_token_id
    generation.eos_token_id = tok.eos_token_id
    generation.suppress_tokens = [i for i in tok.all_special_ids if i != tok.eos_token_id]
    return model.eval()


def llava_next():
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor
    from transformers.models.llava_next.image_processing_pil_llava_next import (
        LlavaNextImageProcessorPil)
    tok = tokenizer(["<image>"], {"image_token": "<image>"})
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    config = LlavaNextConfig(
        vision_config=clip_vision(), text_config=llama(tok),
        image_token_index=tok.convert_tokens_to_ids("<image>"), image_grid_pinpoints=pinpoints,
        vision_feature_select_strategy="default", vision_feature_layer=-1)
    processor = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
            image_grid_pinpoints=pinpoints),
        tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
        num_additional_image_tokens=1, chat_template=chat_template("<image>"))
    return finish(LlavaNextForConditionalGeneration(config), tok), processor


def idefics3():
    from transformers import (Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor,
                              Idefics3VisionConfig)
    from transformers.models.idefics3.image_processing_pil_idefics3 import (
        Idefics3ImageProcessorPil)
    grid = [f"<row_{r}_col_{c}>" for r in range(1, 3) for c in range(1, 3)]
    tok = tokenizer(["<image>", "<fake_token_around_image>", "<global-img>",
                     "<end_of_utterance>", *grid], {"image_token": "<image>"})
    vision = Idefics3VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
                                  num_attention_heads=2, image_size=32, patch_size=8)
    config = Idefics3Config(vision_config=vision, text_config=llama(tok), scale_factor=2,
                            image_token_id=tok.convert_tokens_to_ids("<image>"))
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessorPil(
            size={"longest_edge": 64}, max_image_size={"longest_edge": 32}),
        tokenizer=tok, image_seq_len=4, chat_template=chat_template("<image>"))
    return finish(Idefics3ForConditionalGeneration(config), tok), processor


def paligemma():
    from transformers import (GemmaConfig, PaliGemmaConfig, PaliGemmaForConditionalGeneration,
                              PaliGemmaProcessor)
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    tok = tokenizer(["<image>"], {"image_token": "<image>"}, bos="<bos>", eos="<eos>")
    text = GemmaConfig(hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=LAYERS,
                       num_attention_heads=HEADS, num_key_value_heads=HEADS, head_dim=16,
                       initializer_range=INIT, **text_ids(tok))
    config = PaliGemmaConfig(vision_config=siglip_vision(), text_config=text, projection_dim=HIDDEN,
                             image_token_index=tok.convert_tokens_to_ids("<image>"))
    image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    image_processor.image_seq_length = 16
    # No chat template: PaliGemma's own prompt format (transforms/caption/prompt.py) is what it
    # learnt.
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tok)
    return finish(PaliGemmaForConditionalGeneration(config), tok), processor


def gemma3():
    from transformers import (Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor,
                              Gemma3TextConfig)
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil
    names = {"image_token": "<image_soft_token>", "boi_token": "<start_of_image>",
             "eoi_token": "<end_of_image>"}
    tok = tokenizer(list(names.values()), names, bos="<bos>", eos="<eos>")
    text = Gemma3TextConfig(hidden_size=HIDDEN, intermediate_size=2 * HIDDEN,
                            num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                            num_key_value_heads=HEADS, head_dim=16, sliding_window=64,
                            query_pre_attn_scalar=16, initializer_range=INIT, **text_ids(tok))
    config = Gemma3Config(
        vision_config=siglip_vision(), text_config=text, mm_tokens_per_image=4,
        boi_token_index=tok.convert_tokens_to_ids("<start_of_image>"),
        eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"),
        image_token_index=tok.convert_tokens_to_ids("<image_soft_token>"),
        initializer_range=INIT)
    processor = Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(size={"height": 32, "width": 32}),
        tokenizer=tok, image_seq_length=4, chat_template=chat_template("<start_of_image>"))
    return finish(Gemma3ForConditionalGeneration(config), tok), processor


def mllama():
    from transformers import (MllamaConfig, MllamaForConditionalGeneration, MllamaProcessor,
                              MllamaTextConfig, MllamaVisionConfig)
    from transformers.models.mllama.image_processing_pil_mllama import MllamaImageProcessorPil
    tok = tokenizer(["<|image|>", "<|python_tag|>"], {"image_token": "<|image|>"})
    vision = MllamaVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS, num_global_layers=1,
        attention_heads=2, vision_output_dim=64, image_size=32, patch_size=8, max_num_tiles=2,
        intermediate_layers_indices=[0], supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]])
    text = MllamaTextConfig(
        hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=HEADS, cross_attention_layers=[1],
        initializer_range=INIT, **text_ids(tok))
    config = MllamaConfig(vision_config=vision, text_config=text,
                          image_token_index=tok.convert_tokens_to_ids("<|image|>"))
    processor = MllamaProcessor(
        image_processor=MllamaImageProcessorPil(size={"height": 32, "width": 32},
                                                max_image_tiles=2),
        tokenizer=tok, chat_template=chat_template("<|image|>"))
    return finish(MllamaForConditionalGeneration(config), tok), processor


def mistral3():
    from transformers import (Mistral3Config, Mistral3ForConditionalGeneration, MistralConfig,
                              PixtralProcessor, PixtralVisionConfig)
    from transformers.models.pixtral.image_processing_pil_pixtral import PixtralImageProcessorPil
    tok = tokenizer(["[IMG]", "[IMG_BREAK]", "[IMG_END]"], {"image_token": "[IMG]"})
    vision = PixtralVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
                                 num_attention_heads=2, image_size=64, patch_size=8, head_dim=16)
    text = MistralConfig(hidden_size=HIDDEN, intermediate_size=2 * HIDDEN,
                         num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                         num_key_value_heads=HEADS, head_dim=16, sliding_window=None,
                         initializer_range=INIT, **text_ids(tok))
    config = Mistral3Config(vision_config=vision, text_config=text, spatial_merge_size=2,
                            image_token_index=tok.convert_tokens_to_ids("[IMG]"),
                            vision_feature_layer=-1)
    processor = PixtralProcessor(
        image_processor=PixtralImageProcessorPil(size={"longest_edge": 64},
                                                 patch_size={"height": 8, "width": 8}),
        tokenizer=tok, patch_size=8, spatial_merge_size=2, chat_template=chat_template("[IMG]"))
    return finish(Mistral3ForConditionalGeneration(config), tok), processor


def llava():
    from synthetic_inputs.tiny_vlm import RANDOM_TEST_MODEL
    from training.tiny_model import build_tiny_llava
    import dataclasses
    shape = dataclasses.replace(RANDOM_TEST_MODEL, image_size=32, patch_size=8)
    model, processor = build_tiny_llava(shape, CORPUS)
    return finish(model, processor.tokenizer), processor


def chameleon():
    from transformers import (ChameleonConfig, ChameleonForConditionalGeneration,
                              ChameleonProcessor, ChameleonVQVAEConfig)
    from transformers.models.chameleon.image_processing_pil_chameleon import (
        ChameleonImageProcessorPil)
    # The VQ codes' BPE tokens, named as Chameleon's vocabulary names them (digits as letters).
    codes = ["IMGIMG" + "".join(chr(ord("A") + int(d)) for d in str(i)) + "Z" for i in range(16)]
    tok = tokenizer(["<image>", "<racm3:break>", "<eoss>", "<reserved08706>", *codes],
                    {"image_token": "<image>", "sep_token": "<reserved08706>"})
    vq = ChameleonVQVAEConfig(embed_dim=8, num_embeddings=16, latent_channels=8, resolution=32,
                              base_channels=32, channel_multiplier=[1, 1, 1, 1],
                              num_res_blocks=1, attn_resolutions=[])
    config = ChameleonConfig(
        hidden_size=HIDDEN, intermediate_size=2 * HIDDEN, num_hidden_layers=LAYERS,
        num_attention_heads=HEADS, num_key_value_heads=HEADS, vq_config=vq.to_dict(),
        vocabulary_map=tok.get_vocab(), initializer_range=INIT, **text_ids(tok))
    processor = ChameleonProcessor(
        image_processor=ChameleonImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tok, image_seq_length=16)
    return finish(ChameleonForConditionalGeneration(config), tok), processor


def emu3():
    from transformers import (Emu3Config, Emu3ForConditionalGeneration, Emu3Processor,
                              Emu3TextConfig, Emu3VQVAEConfig)
    from transformers.models.emu3.image_processing_emu3 import Emu3ImageProcessor
    names = {"image_token": "<image>", "boi_token": "<|image start|>",
             "eoi_token": "<|image end|>", "image_wrapper_token": "<|image token|>",
             "eof_token": "<|extra_201|>"}
    codes = [f"<|visual token {i:06d}|>" for i in range(16)]
    tok = tokenizer([*names.values(), "<|extra_200|>", *codes], names)
    vq = Emu3VQVAEConfig(codebook_size=16, embed_dim=4, latent_channels=4, base_channels=32,
                         channel_multiplier=[1, 1, 1, 1], num_res_blocks=1, attn_resolutions=[],
                         hidden_size=32, num_attention_heads=1, temporal_downsample_factor=2)
    text = Emu3TextConfig(hidden_size=HIDDEN, intermediate_size=2 * HIDDEN,
                          num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                          num_key_value_heads=HEADS, initializer_range=INIT, **text_ids(tok))
    config = Emu3Config(vq_config=vq, text_config=text, vocabulary_map=tok.get_vocab())
    processor = Emu3Processor(
        image_processor=Emu3ImageProcessor(min_pixels=32 * 32, max_pixels=48 * 48,
                                           spatial_factor=8),
        tokenizer=tok, chat_template=chat_template("<image>"))
    return finish(Emu3ForConditionalGeneration(config), tok), processor


def janus():
    from transformers import (JanusConfig, JanusForConditionalGeneration, JanusProcessor,
                              JanusVisionConfig, JanusVQVAEConfig)
    from transformers.models.janus.image_processing_pil_janus import JanusImageProcessorPil
    names = {"image_token": "<image_placeholder>", "boi_token": "<begin_of_image>",
             "eoi_token": "<end_of_image>"}
    tok = tokenizer(list(names.values()), names)
    vision = JanusVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=LAYERS,
                               num_attention_heads=2, image_size=32, patch_size=8,
                               projection_dim=HIDDEN, num_image_tokens=16)
    vq = JanusVQVAEConfig(embed_dim=8, num_embeddings=16, latent_channels=8, base_channels=32,
                          channel_multiplier=[1, 1], num_res_blocks=1, num_patches=4,
                          projection_dim=HIDDEN, image_token_embed_dim=HIDDEN)
    config = JanusConfig(text_config=llama(tok), vision_config=vision, vq_config=vq,
                         image_token_id=tok.convert_tokens_to_ids("<image_placeholder>"))
    processor = JanusProcessor(
        image_processor=JanusImageProcessorPil(size={"height": 32, "width": 32}),
        tokenizer=tok, num_image_tokens=16, chat_template=chat_template("<image_placeholder>"))
    return finish(JanusForConditionalGeneration(config), tok), processor


# name -> builder. A family whose processor cannot be built here is not listed: see SKIPPED.
FAMILIES: Dict[str, Callable[[], Tuple[object, object]]] = {
    "llava": llava, "llava_next": llava_next, "idefics3": idefics3, "paligemma": paligemma,
    "gemma3": gemma3, "mllama": mllama, "chameleon": chameleon, "emu3": emu3, "janus": janus,
}

# Families this machine cannot build, and exactly why. torchvision: PyPI's torchvision 0.28
# (the release for torch 2.13) is a CUDA build; beside the CPU torch its import fails ("operator
# torchvision::nms does not exist"), and there is no CPU wheel in reach. Their processors need
# it (`pip install 'idp-corpus[processors]'` where a matching torchvision installs).
_TORCHVISION = ("its processor class needs torchvision ({what}), which does not install beside "
                "the CPU build of torch 2.13 here")
SKIPPED: Dict[str, str] = {
    "llava_onevision": _TORCHVISION.format(what="LlavaOnevisionVideoProcessor"),
    "smolvlm": _TORCHVISION.format(what="SmolVLMVideoProcessor; also num2words"),
    "qwen2_vl": _TORCHVISION.format(what="Qwen2VLVideoProcessor"),
    "qwen2_5_vl": _TORCHVISION.format(what="Qwen2VLVideoProcessor"),
    "internvl": _TORCHVISION.format(what="InternVLVideoProcessor"),
    "mistral3": _TORCHVISION.format(what="PixtralProcessor requires it outright"),
}
