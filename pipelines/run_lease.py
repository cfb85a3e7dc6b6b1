"""A committing command's hold on its dataset, from before any work to after its commit.

    with holding(output, lease_config, beam_args) as (run, base):
        ... build the pipeline with `run` onto `base`, run it ...

`base` is the committed index the run starts from, read once when the lease is taken: the
stages that skip known videos, number shards and commit take it from here.

Taking the lease also finishes what a dead run left: the index pointer is rolled forward to the
last committed version, and the folders (staging, temporaries, unlisted shards, an uncommitted
version folder) of runs that no longer hold the lease are swept. A run that fails removes its
own staging, or says how much it left where.
"""
from __future__ import annotations

import contextlib
import shlex
import sys
from typing import Iterator, Optional, Sequence, Tuple

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.preflight import PreflightError
from transforms.dataset import heartbeat, index as dataset_index, lease, runs
from transforms.dataset.layout import version_folder
from transforms.storage import join

LOCAL_RUNNERS = (None, "DirectRunner", "direct", "SwitchingDirectRunner",
                 "BundleBasedDirectRunner", "FnApiRunner", "InteractiveRunner")


def runs_locally(beam_args: Sequence[str]) -> bool:
    """Whether the work runs in this process tree (a dead launcher means a dead run)."""
    runner = PipelineOptions(list(beam_args)).view_as(StandardOptions).runner
    return runner in LOCAL_RUNNERS


def _listed_shards(index: Optional[dict]):
    return [shard["name"] for shard in index["shards"]] if index else []


@contextlib.contextmanager
def holding(output: str, config: lease.LeaseConfig, beam_args: Sequence[str] = (),
            command: str = "") -> Iterator[Tuple[lease.RunRef, Optional[dict]]]:
    command = command or shlex.join(["idp-corpus", *sys.argv[1:]])
    committed = []  # the index read once the lease is held

    def base_version() -> int:
        committed.append(dataset_index.current_index(output))
        return dataset_index.version_of(committed[-1])

    try:
        run = lease.take(output, command, config, base_version=base_version,
                         local=runs_locally(beam_args),
                         on_wait=lambda line: print(f"idp-corpus: {line}", file=sys.stderr))
    except lease.LeaseHeld as error:
        raise PreflightError(str(error)) from None
    except OSError as error:  # the lease is the first thing a run writes
        raise PreflightError(f"the output {output!r} is not writable: "
                             f"{type(error).__name__}: {error}") from None
    heartbeat.keep_alive(run)  # the same beat the workers of this process join
    base = committed[-1]
    try:
        dataset_index.repair_pointer(output, base)
        runs.sweep(output, run.run_id, _listed_shards(base),
                   join(output, version_folder(run.base_version + 1)))
        yield run, base
    except BaseException:
        heartbeat.stop_beats(run)
        # A run that lost the lease leaves the shards alone: their names may be the new
        # holder's by now, and its sweep removes this run's.
        owned = lease.owns(run)
        leftover = runs.remove_failed_run(
            run, _listed_shards(dataset_index.current_index(output)) if owned else None)
        if leftover:
            print(f"idp-corpus: {leftover}; remove it by hand or let the next run sweep it",
                  file=sys.stderr)
        lease.release(run)
        raise
    heartbeat.stop_beats(run)
    # when the commit had nothing new
    runs.remove_run(output, run.run_id, _listed_shards(dataset_index.current_index(output)))
    lease.release(run)
