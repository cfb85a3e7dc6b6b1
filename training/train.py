"""train-idp: fine-tune an image-text-to-text model to name the action between two frames.

Loss on the action tokens only (the paper's recipe), AdamW with warm-up and cosine decay, seeded
and deterministic, checkpoints it resumes from, held-out metrics at the end. Full fine-tuning by
default, LoRA (peft) with --lora for models too large for that.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List

from training import checkpoints
from training.batches import BatchEncoder, action_loss
from training.config import TrainConfig
from training.examples import Example, read_examples, split
from training.schedule import batch_indices, warmup_cosine
from training.tiny_model import CHAT_TEMPLATE, TinyModelConfig, build_tiny_llava

# Settings that change what a run computes: a resumed run must share them.
RUN_FIELDS = ("data", "model", "tiny", "lora", "lora_rank", "lora_alpha", "steps", "batch_size",
              "learning_rate", "warmup_steps", "weight_decay", "seed", "held_out", "prompt",
              "prompt_template")


def _tokenizer_texts(examples: List[Example], prompt: str) -> List[str]:
    # The words a new tokenizer must know: every action, the prompt, the chat template's.
    return sorted({e.action for e in examples}) + [prompt, "USER: ASSISTANT:", CHAT_TEMPLATE]


def starting_model(config: TrainConfig, train: List[Example], base: str):
    """(model, processor) to train: a new tiny model (saved once to `base`, so a resumed run
    starts from the very same one) or a pretrained model through the Auto classes."""
    from transforms.caption.loading import load_pretrained, local_model_path
    if config.tiny and not os.path.isdir(base):
        model, processor = build_tiny_llava(
            TinyModelConfig(), _tokenizer_texts(train, config.prompt), config.seed)
        model.save_pretrained(base)
        processor.save_pretrained(base)
    path = base if config.tiny else local_model_path(config.model)
    processor, model = load_pretrained(path, dtype="float32")
    return model, processor


def keep_batch_statistics(model) -> None:
    """Batch-norm layers (VQ image tokenizers: Emu3's) keep their running statistics: a few
    batches of frames must not re-estimate how the model tokenizes images."""
    import torch
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


def _check_resumable(folder: str, config: TrainConfig) -> None:
    path = os.path.join(folder, "run.json")
    wanted = {name: getattr(config, name) for name in RUN_FIELDS}
    if os.path.exists(path):
        with open(path) as handle:
            found = json.load(handle)
        # A field newer than the run's record holds its default there.
        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
        changed = sorted(name for name in wanted
                         if found.get(name, defaults[name]) != wanted[name])
        if changed:
            raise ValueError(f"{folder} holds checkpoints of a run with other settings "
                             f"({', '.join(changed)}); use another --output or delete it")
    else:
        os.makedirs(folder, exist_ok=True)
        with open(path, "w") as handle:
            json.dump(wanted, handle, indent=2, sort_keys=True)


def _inputs(encoder: BatchEncoder, examples: List[Example], indices: List[int]):
    chosen = [examples[i] for i in indices]
    # JPEG bytes, as the build captions its staged images: decoded at the model's scale.
    return encoder.batch([e.before_jpeg for e in chosen], [e.after_jpeg for e in chosen],
                         [e.action for e in chosen])


def run(config: TrainConfig, log: Callable[[str], None] = print) -> Dict:
    """Trains, saves the model to config.output, and returns the run's record (training.json)."""
    import torch
    from transforms.caption.loading import resolve_device

    started = time.time()
    examples, counts = read_examples(config.data)
    train, held = split(examples, config.held_out, config.seed)
    if not train:
        raise ValueError(f"no labelled training pairs in {config.data} ({counts})")
    log(f"train-idp: {len(train)} training pairs, {len(held)} held out ({counts})")
    folder = os.path.join(config.output, "checkpoints")
    _check_resumable(folder, config)
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    model, processor = starting_model(config, train, os.path.join(folder, "base"))
    encoder = BatchEncoder(processor, config.prompt, config.prompt_template or None)
    prepare = lambda step: _inputs(encoder, train, batch_indices(  # noqa: E731
        step, config.batch_size, len(train), config.seed))
    if config.lora:
        from training.lora import add_lora
        sample = {k: v for k, v in prepare(0).items()
                  if k not in ("target_ids", "target_mask", "labels")}
        model = add_lora(model, config.lora_rank, config.lora_alpha, sample, log)
    model.to(device).train()
    keep_batch_statistics(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.warmup_steps, config.steps))
    start = 0
    resume = checkpoints.latest(folder)
    if resume:
        start = checkpoints.restore(resume, model, optimizer, scheduler)
        log(f"train-idp: resumed from {resume} (step {start})")

    history, window, step_started = [], [], time.time()
    with ThreadPoolExecutor(1, thread_name_prefix="train-prepare") as ahead:
        # The next batch's JPEG decoding and preprocessing overlap this step's compute.
        pending = ahead.submit(prepare, start) if start < config.steps else None
        for step in range(start, config.steps):
            batch = {k: v.to(device) for k, v in pending.result().items()}
            if step + 1 < config.steps:
                pending = ahead.submit(prepare, step + 1)
            with torch.autocast("cuda", torch.bfloat16, enabled=device.startswith("cuda")):
                loss = action_loss(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            window.append(loss.item())
            done = step + 1
            if done % config.log_every == 0 or done == config.steps:
                entry = {"step": done, "loss": sum(window) / len(window),
                         "learning_rate": scheduler.get_last_lr()[0],
                         "seconds_per_step": (time.time() - step_started) / len(window)}
                history.append(entry)
                log(f"step {done}/{config.steps} loss {entry['loss']:.4f} "
                    f"lr {entry['learning_rate']:.2e} {entry['seconds_per_step']:.2f} s/step")
                window, step_started = [], time.time()
            if done % config.checkpoint_every == 0 and done < config.steps:
                checkpoints.save(folder, done, model, optimizer, scheduler)

    from training.save import finish
    return finish(config, model, processor, device, held, counts, history, start,
                  time.time() - started, log, num_train=len(train))
