"""Samples staged as their final tar bytes, so that no process holds a run's output.

Shard membership needs every sample's size before any shard is written. Rather than keep the
encoded samples waiting for that plan (Beam's local runner holds them in memory; a distributed
runner shuffles them), each bundle appends its samples' tar bytes to one staging file as they
arrive and sends on only where they are. Shards are then written by copying those byte ranges
in key order: the same bytes as writing the samples directly (transforms/tar_shard.py).

Staging files carry storage.TMP_MARK, so the commit's sweep of temporaries removes them with
the staging folder once every shard is written, and a killed run's leftovers show as strays.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Optional

import apache_beam as beam

from schemas.records import PairOutcome
from transforms.storage import STAGING_DIR, TMP_MARK, filesystem, is_local, join


@dataclasses.dataclass(frozen=True)
class StagedSample:
    """Where a sample's tar bytes were staged, and its outcome (shard still unknown)."""
    outcome: PairOutcome
    url: str
    offset: int
    size: int

    @property
    def key(self) -> str:
        return self.outcome.meta.key


def read_staged(staged: StagedSample) -> bytes:
    fs, path = filesystem(staged.url)
    return fs.cat_file(path, start=staged.offset, end=staged.offset + staged.size)


class StageSamples(beam.DoFn):
    """(outcome, tar bytes) -> StagedSample, the bytes appended to this bundle's staging file."""

    def __init__(self, output: str, run_id: str):
        self._folder = join(output, STAGING_DIR, run_id)
        self._file = None
        self._url: Optional[str] = None
        self._written = 0

    def process(self, item):
        outcome, data = item
        if self._file is None:
            self._open()
        self._file.write(data)
        yield StagedSample(outcome, self._url, self._written, len(data))
        self._written += len(data)

    def _open(self):
        # A name of its own per bundle: a retried bundle writes afresh, never into a file
        # whose ranges another attempt already sent on.
        self._url = join(self._folder, f"{uuid.uuid4().hex}{TMP_MARK}stage")
        fs, path = filesystem(self._url)
        if is_local(fs):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self._file, self._written = fs.open(path, "wb"), 0

    def finish_bundle(self):
        # Nothing reads a staging file before the plan, which waits for every bundle to finish.
        self._close()

    def teardown(self):
        self._close()

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
