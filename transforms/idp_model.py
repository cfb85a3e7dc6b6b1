"""The inverse-dynamics (IDP) captioner behind a Beam ModelHandler.

Heavy work (imports of torch, loading weights) happens only in `load_model()`, and the loaded model
is an `IdpModel` (transforms/idp_runtime.py) whose methods take plain images and return plain
tuples, so that it also works through Beam's cross-process proxy when shared on a GPU.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from schemas.records import Caption, FramePair, StagedTriple
from transforms.caption_config import CaptionConfig
from transforms.idp_runtime import IdpModel
from transforms.prompt import parse_action, prompt_id
from transforms.staged_images import read_many

# What the handler captions: a pair with its frames, or a staged triple whose JPEGs are read
# only when its batch runs (a waiting batch then holds file offsets, not pixels).
Example = Union[FramePair, StagedTriple]

METRICS_NAMESPACE = "idp_corpus"
# Batched kernels differ with batch size in the last float bits (~1e-6); scores are stored
# rounded so that reruns, whose batches may be composed differently, give the same bytes.
SCORE_DECIMALS = 4


def check_pair(pair: Example) -> Example:
    """Reject a pair the model cannot see, one pair at a time, before it can spoil a batch."""
    if isinstance(pair, StagedTriple):  # this run's own JPEGs, read when the batch runs
        return pair
    for name, image in (("before", pair.before), ("after", pair.after)):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or image.size == 0:
            raise ValueError(
                f"{name} image of {pair.key} is {image.dtype} {image.shape}, "
                "not a non-empty HxWx3 uint8 array")
    return pair


def pair_images(batch: Sequence[Example]) -> Tuple[List[Any], List[Any]]:
    """(befores, afters) of the examples: arrays of a FramePair, JPEG bytes of a StagedTriple."""
    read = iter(read_many([pair.images for pair in batch if isinstance(pair, StagedTriple)]))
    images = [next(read)[:2] if isinstance(pair, StagedTriple) else (pair.before, pair.after)
              for pair in batch]
    return [before for before, _ in images], [after for _, after in images]


def caption_prompt_id(config: CaptionConfig) -> str:
    """The prompt's id; a --prompt-template is part of what the model was asked."""
    if config.prompt_template is None:
        return prompt_id(config.prompt)
    return prompt_id(config.prompt_template.replace("{prompt}", config.prompt))


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


# Packages some families' processors import that the core install leaves out, and the extra
# that adds them (pyproject.toml).
PROCESSOR_EXTRAS = {"torchvision": "processors", "num2words": "processors"}


def missing_extra(message: str) -> str:
    """A hint naming the extra to install, when a load failed for want of one of its packages;
    "" otherwise."""
    missing = sorted(name for name in PROCESSOR_EXTRAS if name in message.lower())
    if not missing:
        return ""
    extras = sorted({PROCESSOR_EXTRAS[name] for name in missing})
    return (f" (this model's processor needs {' and '.join(missing)}: pip install "
            f"'idp-corpus[{','.join(extras)}]', with the torchvision build that matches your "
            "torch, e.g. from https://download.pytorch.org/whl/cpu for a CPU torch)")


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


def load_pretrained(path: str, dtype, revision: Optional[str] = None,
                    trust_remote_code: bool = False):
    """(processor, model) of a saved or hub model through the Auto classes: how captioning,
    scoring and train-idp all load one."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    common = dict(revision=revision, trust_remote_code=trust_remote_code)
    processor = AutoProcessor.from_pretrained(path, **common)
    # Decoder-only generation continues from the last position: pad on the left.
    processor.tokenizer.padding_side = "left"
    if processor.tokenizer.pad_token is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=dtype, **common)
    return processor, model


class IdpModelHandler(ModelHandler[Example, Caption, IdpModel]):
    """Captions FramePairs or StagedTriples with a transformers image-text-to-text model."""

    def __init__(self, config: CaptionConfig, run=None):
        super().__init__()
        self._config = config
        self._run = run  # the lease of the run it captions for (None: no lease)

    def load_model(self) -> IdpModel:
        import torch

        from transforms.dataset.heartbeat import keep_alive
        # A worker that only captions (Dataflow's GPU pool) works for the run too: its lease
        # must stay live while the launcher is gone.
        keep_alive(self._run)
        config = self._config
        device = resolve_device(config.device)
        if config.dtype != "auto":
            dtype = getattr(torch, config.dtype)
        else:
            dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        path = local_model_path(config.model)
        revision, commit = pin_revision(path, config.revision)
        processor, model = load_pretrained(path, dtype, revision, config.trust_remote_code)
        model.to(device).eval()
        commit = commit or getattr(model.config, "_commit_hash", None)  # transformers < 5
        return IdpModel(processor, model, device, commit or config.revision,
                        max_batch=config.batch_size, prompt_template=config.prompt_template)

    def run_inference(
            self, batch: Sequence[Example], model: IdpModel,
            inference_args: Optional[dict[str, Any]] = None) -> Iterable[PredictionResult]:
        self.validate_inference_args(inference_args)
        batch = [check_pair(pair) for pair in batch]
        config = self._config
        # Pairs with a human label are scored (how much the model agrees), the rest captioned.
        labelled = [pair for pair in batch if pair.meta.source.label]
        unlabelled = [pair for pair in batch if not pair.meta.source.label]
        answers = model.caption(*pair_images(unlabelled), config.prompt,
                                config.max_new_tokens) if unlabelled else []
        scores = model.score(*pair_images(labelled), config.prompt,
                             [pair.meta.source.label for pair in labelled]) if labelled else []
        revision, pid = model.revision(), caption_prompt_id(config)
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

    def get_num_bytes(self, batch: Sequence[Example]) -> int:
        return sum(sum(pair.images.sizes[:2]) if isinstance(pair, StagedTriple)
                   else pair.before.nbytes + pair.after.nbytes for pair in batch)

    def get_metrics_namespace(self) -> str:
        return METRICS_NAMESPACE

    def model_provenance(self) -> dict:
        """What to stamp on a run's stats: which model, revision and prompt captioned it."""
        config = self._config
        return {"model_id": config.model, "model_revision": config.revision,
                "prompt_id": caption_prompt_id(config), "decoding": "greedy",
                "max_new_tokens": config.max_new_tokens}
