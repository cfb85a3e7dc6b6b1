"""The caption stage: FramePairs or StagedTriples in, (its CaptionInput, Caption) or a
caption_failed PairOutcome out."""
from __future__ import annotations

from typing import Optional

import apache_beam as beam
from apache_beam.ml.inference.base import RunInference
from apache_beam.options.pipeline_options import StandardOptions

from schemas.records import Caption, Drop, PairOutcome, StagedTriple
from transforms import keep_or_drop
from transforms.caption.config import CaptionConfig
from transforms.caption.handler import IdpModelHandler
from transforms.caption.inputs import CaptionInput

REASON = "caption_failed"
MAX_MESSAGE_CHARS = 300


def right_fits(pipeline: beam.Pipeline) -> bool:
    """Whether the pipeline's runner gives a stage with an accelerator hint workers of its own
    (Dataflow's right fitting)."""
    runner = pipeline.options.view_as(StandardOptions).runner or type(pipeline.runner).__name__
    return str(runner).lower().removesuffix("runner") == "dataflow"


def accelerator_hint(config: CaptionConfig, pipeline: beam.Pipeline) -> Optional[str]:
    """The caption stage's accelerator hint: only this stage carries one, so Dataflow runs
    decode, filter, staging and write on CPU workers and sends just the staged pairs' records to
    GPU workers. None when told to run on CPU, and on runners that do not right-fit: there a
    hint only splits the stages around captioning, and Beam's local runner then holds what
    travels between them in memory (docs/performance.md)."""
    if config.device == "cpu" or not config.accelerator or not right_fits(pipeline):
        return None
    return config.accelerator


def with_caption(item: CaptionInput, caption: Caption) -> StagedTriple:
    """The staged triple a build or recaption captioned, now with its caption (the stage runs
    before caption QC: a staged triple has no caption or QC flags before it)."""
    return StagedTriple(meta=item.meta, caption=caption, images=item.staged)


def _failed(pair, error) -> PairOutcome:
    """`pair`: the FramePair or StagedTriple that failed to become an input, or the input
    whose batch failed."""
    _, message, _ = error  # (exception type, repr, traceback lines), as Beam's dead letters carry
    return keep_or_drop.dropped(pair, Drop(reason=REASON, message=message[:MAX_MESSAGE_CHARS]))


class CaptionPairs(beam.PTransform):
    """Captions pairs with the IDP model; outputs {"captioned", "failed"} whatever the config.

    A pair the model cannot take fails alone (the handler checks each pair before batching);
    an error inside inference fails its whole batch, and each pair of it is reported.
    """

    def __init__(self, config: CaptionConfig, run=None):
        super().__init__()
        self._config = config
        self._run = run  # the run's lease, kept alive by the caption workers too

    def expand(self, pairs):
        infer = RunInference(IdpModelHandler(self._config, self._run)).with_exception_handling()
        hint = accelerator_hint(self._config, pairs.pipeline)
        if hint:
            infer = infer.with_resource_hints(accelerator=hint)
        results, errors = pairs | "Infer" >> infer
        captioned = results | "ToTuples" >> beam.Map(lambda r: (r.example, r.inference))
        bad_pairs = [
            errors.failed_inferences | "UnbatchFailed" >> beam.FlatMap(
                lambda failure: [(pair, failure[1]) for pair in failure[0]]),
            *errors.failed_preprocessing,
        ]
        failed = (
            bad_pairs
            | "MergeFailed" >> beam.Flatten()
            | "ToOutcomes" >> beam.MapTuple(_failed))
        return {"captioned": captioned, "failed": failed}
