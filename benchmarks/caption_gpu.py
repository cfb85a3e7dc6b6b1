"""Caption-stage benchmark: pairs/s through IdpModelHandler.run_inference vs raw model.generate.

    python -m benchmarks.caption_gpu                      # GPU: LLaVA shape, CLIP ViT-L/14-336 +
                                                          # Qwen2-1.5B-shaped LM, random weights
    python -m benchmarks.caption_gpu --shape tiny --sizes 1,2,4   # the same on a CPU, tiny shapes

Two 1280x720 frames per pair, generation forced to exactly --new-tokens tokens (min = max), same
batches for every mode:
  raw       model.generate on inputs already prepared and on the device (the GPU-only ceiling)
  handler   IdpModelHandler.run_inference on in-memory pairs (as_input of FramePairs):
            preprocessing, generate, scoring, parsing
  handler2  the same from two threads at once (two Beam workers sharing one model): one call's
            inputs are prepared while the other's batch generates
  staged    the handler on staged pairs (as_input of StagedTriples), as in a build: each
            batch's JPEGs (quality 95) read from a staging file and decoded on the prepare
            threads
  staged2   the same from two threads at once
  previous  the handler with the input preparation it had before the shared prompt tokens and
            the OpenCV halving (the processor on every pair's text and full frames)
  prepare   IdpModel.inputs alone (the CPU half of the handler), now and previous
It needs no Beam: where apache_beam is missing (a bare GPU box) a two-name stand-in of
apache_beam.ml.inference.base is installed, enough for the handler's module to import.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Optional

import numpy as np

from benchmarks.idefics3_shape import SHAPES as IDEFICS3_SHAPES, build_idefics3

SHAPES = {
    # CLIP ViT-L/14 at 336 px (576 patches per image) and a Qwen2-1.5B-shaped language model.
    "llava-1.5b": dict(
        vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                    num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768),
        text=dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                  num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                  max_position_embeddings=32768, rope_theta=1000000.0,
                  tie_word_embeddings=True)),
    "tiny": dict(
        vision=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                    num_attention_heads=2, image_size=32, patch_size=8, projection_dim=32),
        text=dict(vocab_size=4096, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096)),
}


def ensure_beam_importable() -> None:
    try:
        import apache_beam.ml.inference.base  # noqa: F401
        return
    except ImportError:
        pass
    from typing import Generic, TypeVar

    class PredictionResult(NamedTuple):
        example: Any
        inference: Any
        model_id: Optional[str] = None

    class ModelHandler(Generic[TypeVar("A"), TypeVar("B"), TypeVar("C")]):
        def __init__(self, *args, **kwargs):
            pass

    names = ["apache_beam", "apache_beam.ml", "apache_beam.ml.inference",
             "apache_beam.ml.inference.base"]
    for name in names:
        if sys.modules.get(name) is None:
            sys.modules[name] = types.ModuleType(name)
    base = sys.modules[names[-1]]
    base.ModelHandler, base.PredictionResult = ModelHandler, PredictionResult


def build_model(shape: str, device: str, dtype, image_backend: str = "auto"):
    """A random-weight LLaVA (or Idefics3) model and an offline processor (tokenizer as in
    synthetic_inputs.tiny_vlm)."""
    if shape in IDEFICS3_SHAPES:
        return build_idefics3(shape, device, dtype)
    import torch
    from transformers import (CLIPVisionConfig, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor, Qwen2Config)
    from synthetic_inputs.tiny_vlm import _CORPUS
    from training.tiny_model import CHAT_TEMPLATE, IMAGE_TOKEN, train_tokenizer

    spec = SHAPES[shape]
    tokenizer = train_tokenizer(_CORPUS, 400)
    vision = CLIPVisionConfig(**spec["vision"])
    text = Qwen2Config(**spec["text"], pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    image_size, patch = spec["vision"]["image_size"], spec["vision"]["patch_size"]
    config = LlavaConfig(
        vision_config=vision, text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=(image_size // patch) ** 2, vision_feature_select_strategy="default",
        vision_feature_layer=-2)
    torch.manual_seed(0)
    with torch.device(device):  # random init straight on the device: seconds, not minutes
        model = LlavaForConditionalGeneration(config).eval()
    model.to(dtype)
    gen = model.generation_config
    gen.pad_token_id, gen.bos_token_id = tokenizer.pad_token_id, tokenizer.bos_token_id
    gen.eos_token_id = tokenizer.eos_token_id
    if image_backend == "auto":  # what a hub checkpoint gets: torchvision's, when installed
        try:
            import torchvision  # noqa: F401
            image_backend = "torchvision"
        except ImportError:
            image_backend = "pil"
    if image_backend == "torchvision":
        from transformers.models.clip.image_processing_clip import CLIPImageProcessor as Images
    else:
        from transformers.models.clip.image_processing_pil_clip import (
            CLIPImageProcessorPil as Images)
    images = Images(size={"shortest_edge": image_size},
                    crop_size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(
        image_processor=images, tokenizer=tokenizer, patch_size=patch,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN)
    processor.tokenizer.padding_side = "left"
    return processor, model


def frames(count: int, width: int = 1280, height: int = 720, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        small = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
        out.append(np.ascontiguousarray(np.repeat(np.repeat(small, 16, 0), 16, 1)))
    return out


def make_pairs(count: int, pool):
    from schemas.records import FramePair, PairMeta, PairScores, VideoInfo, VideoSource
    pairs = []
    for index in range(count):
        meta = PairMeta(
            key=f"v{index}_0000010_0000040",
            source=VideoSource(uri=f"file:///videos/v{index}.mp4", video_id=f"v{index}"),
            info=VideoInfo(fps=25.0, num_frames=750, width=1280, height=720, decoder="pyav"),
            before_index=10, after_index=40, sampler="keyframes",
            scores=PairScores(motion=1.0, change=0.2, cut=0.01, sharpness=100.0, brightness=0.5))
        pairs.append(FramePair(meta=meta, before=pool[(2 * index) % len(pool)],
                               after=pool[(2 * index + 1) % len(pool)]))
    return pairs


def stage_pairs(pairs, folder: str, quality: int = 95):
    """The pairs as the build's caption stage gets them: JPEGs in a staging file."""
    import os

    from schemas.records import StagedImages, StagedTriple
    from transforms.jpeg import encode_jpeg

    path, staged = os.path.join(folder, "bench.tmp-stage"), []
    with open(path, "wb") as stream:
        for pair in pairs:
            parts = (encode_jpeg(pair.before, quality), encode_jpeg(pair.after, quality), b"")
            images = StagedImages(path, stream.tell(), tuple(len(part) for part in parts))
            stream.write(b"".join(parts))
            staged.append(StagedTriple(meta=pair.meta, caption=None, images=images))
    return staged


def previous_inputs(self, befores, afters, prompt):
    """IdpModel.inputs as it ran before the shared prompt tokens: the processor on every pair's
    text and on full frames (its PIL pre-shrink never ran under transformers 5, whose image
    processors hold their size as a SizeDict, which the size check did not recognise)."""
    from transforms.caption.prompt import render_prompt
    text = render_prompt(self.processor, prompt)
    images = [image for pair in zip(befores, afters) for image in pair]
    batch = self.processor(images=images, text=[text] * len(befores), padding=True,
                           return_tensors="pt", input_data_format="channels_last",
                           device=self.device)
    batch = batch.to(self.device)
    batch["pixel_values"] = batch["pixel_values"].to(self.model.dtype)
    return batch


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES) + sorted(IDEFICS3_SHAPES),
                        default="llava-1.5b", help="idefics3-*: run with --modes raw,handler")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="1,2,4,8,16,32,64,128")
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", default="raw,handler,handler2,staged,staged2,previous,prepare")
    parser.add_argument("--image-backend", choices=["auto", "torchvision", "pil"], default="auto")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)

    import torch
    ensure_beam_importable()
    from transforms.caption.config import CaptionConfig
    from transforms.caption.handler import IdpModelHandler
    from transforms.caption.inputs import as_input
    from transforms.caption.model import IdpModel

    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" \
        else args.device
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    sizes = [int(size) for size in args.sizes.split(",")]
    modes = args.modes.split(",")
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    started = time.perf_counter()
    processor, model = build_model(args.shape, device, dtype, args.image_backend)
    model.generation_config.min_new_tokens = args.new_tokens  # fixed length: equal work per mode
    report = {"device": torch.cuda.get_device_name() if cuda else "cpu",
              "torch": torch.__version__, "shape": args.shape,
              "params_billion": round(sum(p.numel() for p in model.parameters()) / 1e9, 3),
              "image_processor": type(processor.image_processor).__name__,
              "new_tokens": args.new_tokens, "build_s": round(time.perf_counter() - started, 1),
              "rows": []}
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}), flush=True)
    pool = frames(16)

    for size in sizes:
        config = CaptionConfig(model=f"random-{args.shape}", batch_size=size,
                               max_new_tokens=args.new_tokens, device=device)
        handler = IdpModelHandler(config)
        idp = IdpModel(processor, model, device, None, max_batch=size)
        pairs = make_pairs(size, pool)
        inputs = list(map(as_input, pairs))
        befores, afters = [p.before for p in pairs], [p.after for p in pairs]
        row = {"batch": size}

        def timed(call):
            call()  # warm-up
            sync()
            start = time.perf_counter()
            for _ in range(args.repeats):
                call()
            sync()
            return size * args.repeats / (time.perf_counter() - start)

        if "raw" in modes:
            batch = idp.inputs(befores, afters, config.prompt)
            row["prompt_tokens"] = int(batch["input_ids"].shape[1])

            def raw():
                with torch.inference_mode():
                    model.generate(**batch, do_sample=False, max_new_tokens=args.new_tokens)
            row["raw_pairs_per_s"] = timed(raw)
            del batch
        if "handler" in modes:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            row["handler_pairs_per_s"] = timed(lambda: list(handler.run_inference(inputs, idp)))
            if cuda:
                row["handler_peak_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
        with tempfile.TemporaryDirectory() as folder:
            staged = list(map(as_input, stage_pairs(pairs, folder)))
            if "staged" in modes:
                row["staged_pairs_per_s"] = timed(
                    lambda: list(handler.run_inference(staged, idp)))
            for mode, examples in (("handler2", inputs), ("staged2", staged)):
                if mode in modes:
                    # Two worker threads sharing the model, as Beam runs them: one call
                    # prepares its inputs while the other's batch generates.
                    with ThreadPoolExecutor(2) as threads:
                        def two_calls():
                            list(threads.map(
                                lambda _: list(handler.run_inference(examples, idp)), range(2)))
                        row[f"{mode}_pairs_per_s"] = 2 * timed(two_calls)
        if "previous" in modes:
            idp.inputs = types.MethodType(previous_inputs, idp)
            row["previous_pairs_per_s"] = timed(
                lambda: list(handler.run_inference(inputs, idp)))
            del idp.inputs
        if "prepare" in modes:
            for name, prepare in (("prepare", idp.inputs),
                                  ("previous_prepare", types.MethodType(previous_inputs, idp))):
                rate = timed(lambda: prepare(befores, afters, config.prompt))
                row[f"{name}_ms_per_batch"] = 1000 * size / rate
        if "raw" in modes:
            for mode in ("handler", "handler2", "staged", "staged2", "previous"):
                if f"{mode}_pairs_per_s" in row:
                    row[f"{mode}_vs_raw"] = row[f"{mode}_pairs_per_s"] / row["raw_pairs_per_s"]
        report["rows"].append({k: round(v, 3) if isinstance(v, float) else v
                               for k, v in row.items()})
        print(json.dumps(report["rows"][-1]), flush=True)

    if cuda and "handler" in modes:
        # Bounded memory: twice the largest batch through a handler capped at the largest.
        size = max(sizes)
        handler = IdpModelHandler(CaptionConfig(model="random", batch_size=size,
                                                max_new_tokens=args.new_tokens, device=device))
        idp = IdpModel(processor, model, device, None, max_batch=size)
        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        list(handler.run_inference(list(map(as_input, make_pairs(2 * size, pool))), idp))
        sync()
        report["double_batch"] = {
            "pairs": 2 * size, "max_batch": size,
            "pairs_per_s": round(2 * size / (time.perf_counter() - start), 3),
            "peak_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 3)}
        print(json.dumps(report["double_batch"]), flush=True)
    report["total_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    return report


if __name__ == "__main__":
    main()
