"""The inverse-dynamics (IDP) captioner behind a Beam ModelHandler.

Heavy work (imports of torch, loading weights) happens only in `load_model()`, and the loaded model
is an `IdpModel` whose one method takes plain images and returns plain tuples, so that it also works
through Beam's cross-process proxy when the model is shared on a GPU.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from schemas.records import Caption, FramePair
from transforms.prompt import DEFAULT_PROMPT, prompt_id, render_prompt, parse_action

METRICS_NAMESPACE = "idp_corpus"
PREP_THREADS = 8  # image downscaling threads (PIL releases the GIL while resizing)
# Batched kernels differ with batch size in the last float bits (~1e-6); scores are stored
# rounded so that reruns, whose batches may be composed differently, give the same bytes.
SCORE_DECIMALS = 4


@dataclasses.dataclass(frozen=True)
class CaptionConfig:
    model: str  # hub id, local folder, or fsspec URL of a saved folder (gs://, s3://...)
    revision: Optional[str] = None
    prompt: str = DEFAULT_PROMPT
    batch_size: int = 64  # largest batch; 64-128 keeps a large GPU busy (docs/performance.md)
    min_batch_size: int = 1
    max_new_tokens: int = 24
    device: str = "auto"  # "auto": cuda when available, else cpu
    dtype: str = "auto"  # "auto": bfloat16 on cuda, float32 on cpu; else a torch dtype name
    share_across_processes: Optional[bool] = None  # None: share on cuda, not on cpu
    trust_remote_code: bool = False
    # Beam resource hint for the caption stage only (Dataflow right-fitting); "" for none.
    accelerator: str = "type:nvidia-tesla-t4;count:1;install-nvidia-driver"

    def __post_init__(self):
        # Fail when the run is built, not hours later on a worker.
        if not 1 <= self.min_batch_size <= self.batch_size:
            raise ValueError(f"need 1 <= min_batch_size <= batch_size, got {self}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


def check_pair(pair: FramePair) -> FramePair:
    """Reject a pair the model cannot see, one pair at a time, before it can spoil a batch."""
    for name, image in (("before", pair.before), ("after", pair.after)):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
            raise ValueError(
                f"{name} image of {pair.key} is {image.dtype} {image.shape}, "
                "not a non-empty HxWx3 uint8 array")
    return pair


def cuda_available() -> bool:
    """Asks NVML, not the CUDA runtime: this also runs in the launching process at pipeline
    construction, and initialising CUDA there breaks CUDA in the workers it forks later."""
    import torch
    previous = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")
    os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
    try:
        return torch.cuda.is_available()
    finally:
        if previous is None:
            del os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"]
        else:
            os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = previous


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    return "cuda" if cuda_available() else "cpu"


def local_model_path(model: str, cache_dir: Optional[str] = None) -> str:
    """A hub id or local folder as is; a remote fsspec folder copied once into a local cache."""
    if "://" not in model:
        return model
    import fsspec
    fs, root = fsspec.core.url_to_fs(model)
    if "file" in fs.protocol or "local" in fs.protocol:
        return root
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "idp_corpus_models")
    target = os.path.join(cache_dir, hashlib.sha256(model.encode()).hexdigest()[:16])
    if not os.path.isdir(target):
        os.makedirs(cache_dir, exist_ok=True)
        # Copy beside the target and rename, so a concurrent worker never loads half a folder.
        partial = tempfile.mkdtemp(dir=cache_dir)
        fs.get(root.rstrip("/") + "/", partial, recursive=True)
        try:
            os.rename(partial, target)
        except OSError:  # another process got there first; its copy is complete
            pass
    return target


def pin_revision(path: str, revision: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(revision to load both processor and model with, the commit hash it points to, if known).

    A hub revision like "main" moves; resolving it once makes the processor and the model come
    from the same commit, and the commit is what caption provenance should record. Local folders
    and an unreachable hub resolve to nothing.
    """
    try:
        from transformers.utils.hub import resolve_revision
    except ImportError:  # transformers < 5 keeps the commit on the config instead
        return revision, None
    resolved = resolve_revision(path, revision)
    return resolved, getattr(resolved, "resolved", None)


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


def input_short_side(image_processor) -> Optional[int]:
    """The shorter side of the images the model takes, when its processor has a fixed one."""
    size = getattr(image_processor, "size", None) or {}
    if not isinstance(size, dict):
        return None
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    if size.get("height") and size.get("width"):
        return int(min(size["height"], size["width"]))
    return None  # dynamic resolution (min/max pixels): the processor decides


def shrink(image: np.ndarray, short_side: Optional[int]) -> np.ndarray:
    """Downscale a frame far larger than the model's input before the processor sees it.

    Processors resize with slow, exact filters on full frames (a 1080p frame is 20x the pixels of
    a 336 px input); a box-filtered PIL reduction to the input scale costs a fraction of that.
    Frames less than twice the input size are left to the processor as they are.
    """
    height, width = image.shape[:2]
    if short_side is None or min(height, width) < 2 * short_side:
        return image
    from PIL import Image
    scale = short_side / min(height, width)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=2.0))


class IdpModel:
    """A loaded processor and model; `caption` is the whole hot path, one call per batch.

    A batch larger than `max_batch` is captioned in chunks (GPU memory stays bounded whatever
    the batch), the next chunk's inputs prepared on a thread while the model generates.
    """

    def __init__(self, processor, model, device: str, revision: Optional[str],
                 max_batch: int = 0):
        self.processor, self.model, self.device, self._revision = processor, model, device, revision
        self.max_batch = max_batch  # 0: no cap
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = processor.tokenizer.eos_token_id
        self.eos_ids = [eos] if isinstance(eos, int) else list(eos)
        self._short_side = input_short_side(getattr(processor, "image_processor", None))
        self._resizers = self._ahead = None  # thread pools, made on first use

    def revision(self) -> Optional[str]:
        return self._revision

    def _shrink_all(self, images: list) -> list:
        if self._short_side is None or all(
                min(image.shape[:2]) < 2 * self._short_side for image in images):
            return images
        if self._resizers is None:
            self._resizers = ThreadPoolExecutor(PREP_THREADS, thread_name_prefix="idp-resize")
        return list(self._resizers.map(shrink, images, [self._short_side] * len(images)))

    def inputs(self, befores: Sequence[np.ndarray], afters: Sequence[np.ndarray], prompt: str):
        """Processor output for a batch: one text per pair, images flat as b0, a0, b1, a1, ..."""
        text = render_prompt(self.processor, prompt)
        images = self._shrink_all([image for pair in zip(befores, afters) for image in pair])
        # `device` lets a torchvision-backed image processor resize and normalise on the GPU.
        batch = self.processor(
            images=images, text=[text] * len(befores), padding=True, return_tensors="pt",
            input_data_format="channels_last", device=self.device)
        batch = batch.to(self.device)
        batch["pixel_values"] = batch["pixel_values"].to(self.model.dtype)
        return batch

    def caption(self, befores, afters, prompt: str, max_new_tokens: int):
        """[(raw answer, mean log-prob of its tokens, number of tokens, whether it ended with
        end-of-sequence)] for each pair, in order."""
        size = self.max_batch or len(befores) or 1
        chunks = [(befores[i:i + size], afters[i:i + size]) for i in range(0, len(befores), size)]
        if len(chunks) <= 1:
            return self._generate(self.inputs(befores, afters, prompt), max_new_tokens)
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(1, thread_name_prefix="idp-prepare")
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
        size = self.max_batch or len(befores) or 1
        results = []
        for start in range(0, len(befores), size):
            batch = self.inputs(befores[start:start + size], afters[start:start + size], prompt)
            results.extend(self._teacher_forced(batch, actions[start:start + size]))
        return results

    def _teacher_forced(self, batch, actions: Sequence[str]):
        import torch
        tokenizer = self.processor.tokenizer
        prompt_ids = batch["input_ids"]
        targets = [tokenizer(action, add_special_tokens=False)["input_ids"] + [self.eos_ids[0]]
                   for action in actions]
        width = max(len(target) for target in targets)
        # Right-padded after the prompt: causal attention keeps pads out of every scored logit.
        target_ids = torch.full((len(targets), width), tokenizer.pad_token_id or 0,
                                dtype=prompt_ids.dtype)
        target_mask = torch.zeros_like(target_ids)
        for row, target in enumerate(targets):
            target_ids[row, :len(target)] = torch.as_tensor(target)
            target_mask[row, :len(target)] = 1
        target_ids, target_mask = target_ids.to(self.device), target_mask.to(self.device)
        extra = {k: v for k, v in batch.items() if k not in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            # Logits only where an action token is predicted, never (batch, prompt, vocab).
            logits = self.model(
                input_ids=torch.cat([prompt_ids, target_ids], 1),
                attention_mask=torch.cat([batch["attention_mask"], target_mask], 1),
                logits_to_keep=width + 1, **extra).logits[:, :width]
            logprobs = logits.float().log_softmax(-1).gather(2, target_ids[..., None])[..., 0]
            sums = (logprobs * target_mask).sum(1)
            counts = target_mask.sum(1)
        return list(zip((sums / counts).tolist(), sums.tolist(), counts.tolist()))

    def _generate(self, batch, max_new_tokens: int):
        import torch
        with torch.inference_mode():
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


class IdpModelHandler(ModelHandler[FramePair, Caption, IdpModel]):
    """Captions FramePairs with a transformers image-text-to-text model."""

    def __init__(self, config: CaptionConfig):
        super().__init__()
        self._config = config

    def load_model(self) -> IdpModel:
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        config = self._config
        device = resolve_device(config.device)
        if config.dtype != "auto":
            dtype = getattr(torch, config.dtype)
        else:
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        path = local_model_path(config.model)
        revision, commit = pin_revision(path, config.revision)
        common = dict(revision=revision, trust_remote_code=config.trust_remote_code)
        processor = AutoProcessor.from_pretrained(path, **common)
        # Decoder-only generation continues from the last position: pad on the left.
        processor.tokenizer.padding_side = "left"
        if processor.tokenizer.pad_token is None:
            processor.tokenizer.pad_token = processor.tokenizer.eos_token
        model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, **common)
        model.to(device).eval()
        commit = commit or getattr(model.config, "_commit_hash", None)  # transformers < 5
        return IdpModel(processor, model, device, commit or config.revision,
                        max_batch=config.batch_size)

    def run_inference(
            self, batch: Sequence[FramePair], model: IdpModel,
            inference_args: Optional[dict[str, Any]] = None) -> Iterable[PredictionResult]:
        self.validate_inference_args(inference_args)
        batch = [check_pair(pair) for pair in batch]
        config = self._config
        # Pairs with a human label are scored (how much the model agrees), the rest captioned.
        labelled = [pair for pair in batch if pair.meta.source.label]
        unlabelled = [pair for pair in batch if not pair.meta.source.label]
        answers = model.caption(
            [pair.before for pair in unlabelled], [pair.after for pair in unlabelled],
            config.prompt, config.max_new_tokens) if unlabelled else []
        scores = model.score(
            [pair.before for pair in labelled], [pair.after for pair in labelled], config.prompt,
            [pair.meta.source.label for pair in labelled]) if labelled else []
        revision, pid = model.revision(), prompt_id(config.prompt)
        provenance = dict(model_id=config.model, model_revision=revision, prompt_id=pid)
        decoding = f"greedy,max_new_tokens={config.max_new_tokens}"
        for pair, (text, score, num_tokens, ended) in zip(unlabelled, answers):
            yield PredictionResult(pair, Caption(
                action=parse_action(text), idp_score=round(score, SCORE_DECIMALS),
                idp_score_sum=round(score * num_tokens, SCORE_DECIMALS), num_tokens=num_tokens,
                source="idp", decoding=decoding,
                truncated=not ended and num_tokens >= config.max_new_tokens, **provenance))
        for pair, (mean, total, num_tokens) in zip(labelled, scores):
            yield PredictionResult(pair, Caption(
                action=pair.meta.source.label, idp_score=round(mean, SCORE_DECIMALS),
                idp_score_sum=round(total, SCORE_DECIMALS), num_tokens=num_tokens,
                source="human", decoding="teacher_forced", **provenance))

    def get_preprocess_fns(self):
        # Bad pairs fail alone here; inside run_inference they would take their batch down.
        return [check_pair]

    def validate_inference_args(self, inference_args: Optional[dict[str, Any]]):
        if inference_args:
            raise ValueError(f"IdpModelHandler takes no inference_args, got {inference_args}")

    def batch_elements_kwargs(self):
        return {"min_batch_size": self._config.min_batch_size,
                "max_batch_size": self._config.batch_size}

    def share_model_across_processes(self) -> bool:
        share = self._config.share_across_processes
        if share is None:
            return resolve_device(self._config.device).startswith("cuda")
        return share

    def get_num_bytes(self, batch: Sequence[FramePair]) -> int:
        return sum(pair.before.nbytes + pair.after.nbytes for pair in batch)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE

    def model_provenance(self) -> dict:
        """What to stamp on a run's stats: which model, revision and prompt captioned it."""
        config = self._config
        return {"model_id": config.model, "model_revision": config.revision,
                "prompt_id": prompt_id(config.prompt), "decoding": "greedy",
                "max_new_tokens": config.max_new_tokens}
