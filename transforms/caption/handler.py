"""The inverse-dynamics (IDP) captioner behind a Beam ModelHandler.

Heavy work (imports of torch, loading weights) happens only in `load_model()`, and the loaded model
is an `IdpModel` (transforms/caption/model.py) whose methods take plain images and return plain
tuples, so that it also works through Beam's cross-process proxy when shared on a GPU.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from schemas.records import Caption
from transforms.caption.config import CaptionConfig
from transforms.caption.inputs import CaptionInput, as_input, batch_images
from transforms.caption.loading import (load_pretrained, local_model_path, pin_revision,
                                        resolve_device)
from transforms.caption.model import IdpModel
from transforms.caption.prompt import parse_action, prompt_id

# Batched kernels differ with batch size in the last float bits (~1e-6); scores are stored
# rounded so that reruns, whose batches may be composed differently, give the same bytes.
SCORE_DECIMALS = 4


def caption_prompt_id(config: CaptionConfig) -> str:
    """The prompt's id; a --prompt-template is part of what the model was asked."""
    if config.prompt_template is None:
        return prompt_id(config.prompt)
    return prompt_id(config.prompt_template.replace("{prompt}", config.prompt))


class IdpModelHandler(ModelHandler[CaptionInput, Caption, IdpModel]):
    """Captions CaptionInputs with a transformers image-text-to-text model. Pairs enter through
    `as_input`, its one preprocessing step: FramePairs and StagedTriples alike."""

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
            self, batch: Sequence[CaptionInput], model: IdpModel,
            inference_args: Optional[dict[str, Any]] = None) -> Iterable[PredictionResult]:
        self.validate_inference_args(inference_args)
        config = self._config
        # Pairs with a human label are scored (how much the model agrees), the rest captioned.
        labelled = [pair for pair in batch if pair.meta.source.label]
        unlabelled = [pair for pair in batch if not pair.meta.source.label]
        answers = model.caption(*batch_images(unlabelled), config.prompt,
                                config.max_new_tokens) if unlabelled else []
        scores = model.score(*batch_images(labelled), config.prompt,
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
        return [as_input]

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

    def get_num_bytes(self, batch: Sequence[CaptionInput]) -> int:
        return sum(item.num_bytes for item in batch)

    def get_metrics_namespace(self) -> str:
        # Imported here: the rest of the handler runs without Beam's metrics module, on a bare
        # GPU box (benchmarks/caption_gpu.py).
        from transforms import metrics
        return metrics.NAMESPACE

    def model_provenance(self) -> dict:
        """What to stamp on a run's stats: which model, revision and prompt captioned it."""
        config = self._config
        return {"model_id": config.model, "model_revision": config.revision,
                "prompt_id": caption_prompt_id(config), "decoding": "greedy",
                "max_new_tokens": config.max_new_tokens}
