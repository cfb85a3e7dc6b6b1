"""The build pipeline: videos in, (before, action, after) WebDataset shards out.

    discover -> decode+sample -> filter -> encode+stage -> caption -> caption QC -> select
    -> write shards -> finalize
"""
from __future__ import annotations

import logging
from typing import Optional

import apache_beam as beam
from apache_beam.options.pipeline_options import (DirectOptions, PipelineOptions, WorkerOptions,
                                                  StandardOptions)

from pipelines import failure
from pipelines.config import BuildConfig
from pipelines.local_runner import no_timed_flushes
from pipelines.preflight import check_target, preflight
from pipelines.progress import run_with_progress
from pipelines.run_lease import holding
from pipelines.report import write_extras
from transforms.caption_qc import CaptionQc
from transforms.select import SelectTriples
from transforms.decode import DecodeAndSample
from transforms.discover import Discover
from transforms.dataset.index import read_index
from transforms.dataset.parts import read_json
from transforms.skip_known import SkipKnown
from transforms.known_ids import RefuseTakenIds
from transforms.filter import FilterPairs
from transforms.finalize import Finalize
from transforms.metrics import run_totals
from transforms.staging import StageTriples
from transforms.storage import join
from transforms.write import WriteShards, human_label, to_triple

log = logging.getLogger(__name__)


def compose(pipeline: beam.Pipeline, config: BuildConfig, run=None, base=None):
    """The whole job, one labelled step per stage. `run`: the lease the run holds; `base`: the
    committed index it starts from (None: the output holds no dataset yet)."""
    output, options = config.write.output, config.run
    sources = pipeline | "Discover" >> Discover(config.discover, exclude=(output,))
    if options.refresh:
        sources = sources | "SkipKnown" >> SkipKnown(output, base, options)
        sources = sources | "TakenIds" >> RefuseTakenIds(output, base)
    decoded = sources | "DecodeAndSample" >> DecodeAndSample(config.decode, config.sample)
    filtered = decoded["pairs"] | "Filter" >> FilterPairs(config.filter)
    # No model: the human label where there is one, else no action. With a model, it captions
    # the JPEGs to be stored, after staging: a batch waiting for it holds offsets, not pixels.
    by_model = config.caption is not None
    staged = (filtered["kept"]
              | "Label" >> beam.Map(lambda pair: (pair, None if by_model else human_label(pair)))
              | "Encode" >> beam.Map(to_triple, config.write.jpeg_quality)
              | "Stage" >> StageTriples(output, run))
    if not by_model:
        triples = staged
        dropped = [filtered["dropped"]]
    else:
        from transforms.caption.stage import CaptionPairs, with_caption
        caption = staged | "Caption" >> CaptionPairs(config.caption, run)
        captioned = caption["captioned"] | "WithCaption" >> beam.MapTuple(with_caption)
        checked = captioned | "CaptionQc" >> CaptionQc(config.qc)
        selected = checked["kept"] | "SelectByScore" >> SelectTriples(config.select)
        triples = selected["kept"]
        dropped = [filtered["dropped"], caption["failed"], checked["dropped"], selected["dropped"]]
    written = triples | "Write" >> WriteShards(config.write, run, options.first_shard(base),
                                               exclusive=options.refresh)
    pairs = (written["kept"], *dropped) | "AllPairs" >> beam.Flatten()
    return ({"videos": decoded["videos"], "pairs": pairs, "shards": written["shards"]}
            | "Finalize" >> Finalize(output, options, base, run))


def pipeline_options(beam_args) -> PipelineOptions:
    """Beam options; the local runner uses every core unless told otherwise.

    Locally the SDK workers are threads of this process (`multi_threading`), not processes:
    the CPU-heavy work, decoding, runs in each worker's decode child process anyway, and worker
    processes cost a start-up of seconds (each imports Beam, this package and their decoders)
    that a small run never earns back (docs/performance.md). Local runs also get the fix in
    pipelines/local_runner.py (no timed flushes that cut elements in two).
    """
    options = PipelineOptions(beam_args)
    standard = options.view_as(StandardOptions)
    direct = options.view_as(DirectOptions)
    given = " ".join(beam_args)
    if "--default_sdk_harness_log_level" not in given:
        options.view_as(WorkerOptions).default_sdk_harness_log_level = "WARNING"
    if standard.runner in (None, "DirectRunner", "direct"):
        if "--direct_running_mode" not in given:
            direct.direct_running_mode = "multi_threading"
        if "--direct_num_workers" not in given and direct.direct_running_mode != "in_memory":
            direct.direct_num_workers = 0  # one worker per core
        no_timed_flushes()
    return options


def run(config: BuildConfig, beam_args=(), test_pipeline: Optional[beam.Pipeline] = None) -> dict:
    """Runs the build to completion: {"dataset": the whole dataset's stats, "run": counters}."""
    if not config.skip_preflight:
        check_target(config)
    output = config.write.output
    with holding(output, config.lease, () if test_pipeline else beam_args) as (run, base):
        if not config.skip_preflight:
            preflight(config)
        pipeline = test_pipeline or beam.Pipeline(options=pipeline_options(list(beam_args)))
        compose(pipeline, config, run, base)
        result = run_with_progress(pipeline)
        with failure.step("writing report.html, README.md and wids.json beside the dataset, "
                          "which was committed"):
            write_extras(config, beam_args)
    stats = join(output, read_index(output)["stats"])  # the version this run committed
    return {"dataset": read_json(stats), "run": run_totals(result)}
