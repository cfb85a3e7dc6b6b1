"""Encoded images staged to files as they are made, so that no process holds a run's output.

The steps after encoding need the whole run, or a whole video, before they can decide: caption
checks per video, selection by score over all triples, the shard plan from every sample's size.
Beam's local runner holds what such a step waits on in memory (a distributed runner shuffles
it). So triples' images are appended to staging files as they arrive and only where they are
travels on (a StagedTriple); the caption stage and the shard writer read them back
(transforms/staged_images.py).

A staged triple is sent on only once its file is closed: a step fused with this one reads it
at once, and an object store shows a file only when it is closed. Files roll every
ROLL_TRIPLES triples (or ROLL_BYTES), so the next step gets its work in batch-sized runs,
not once a whole bundle is staged.

Staging files lie in the run's own folder (transforms/dataset/runs.py), which its commit removes once
every shard is written, its failure removes, and, after a kill, the next lease holder sweeps.
Without a lease (tests of a transform alone) they go under OUT/staging/ and carry
layout.TMP_MARK, so `remove_temporaries` finds them.
"""
from __future__ import annotations

import os
import uuid
from typing import List

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue

from schemas.records import StagedImages, StagedTriple, Triple
from transforms.dataset.heartbeat import keep_alive
from transforms.dataset.layout import STAGING_DIR, TMP_MARK
from transforms.storage import filesystem, is_local, join

ROLL_TRIPLES = 64  # a caption batch's worth
ROLL_BYTES = 64 * 2**20


class _StageFn(beam.DoFn):
    def __init__(self, folder: str, run=None):
        self._folder = folder
        self._run = run
        self._file = None
        self._url = ""
        self._written = 0
        self._waiting: List[WindowedValue] = []  # staged in the open file, not yet sent on

    def setup(self):
        keep_alive(self._run)  # this worker works for the run: its lease must stay live

    def process(self, triple: Triple, timestamp=beam.DoFn.TimestampParam,
                window=beam.DoFn.WindowParam):
        if self._file is None:
            self._open()
        parts = (triple.before_jpeg, triple.after_jpeg, triple.change_npy)
        for part in parts:
            self._file.write(part)
        images = StagedImages(self._url, self._written, tuple(len(part) for part in parts))
        self._written += sum(images.sizes)
        staged = StagedTriple(meta=triple.meta, caption=triple.caption, images=images)
        self._waiting.append(WindowedValue(staged, timestamp, [window]))
        if len(self._waiting) >= ROLL_TRIPLES or self._written >= ROLL_BYTES:
            yield from self._close()

    def _open(self):
        # A name of its own per file: a retried bundle writes afresh, never into a file whose
        # ranges another attempt already sent on.
        self._url = join(self._folder, f"{uuid.uuid4().hex}{TMP_MARK}stage")
        fs, path = filesystem(self._url)
        if is_local(fs):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self._file, self._written = fs.open(path, "wb"), 0

    def finish_bundle(self):
        yield from self._close()

    def teardown(self):  # a failed bundle: nothing waiting is sent on, its retry stages afresh
        self._close()

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        waiting, self._waiting = self._waiting, []
        return waiting


class StageTriples(beam.PTransform):
    """Triple -> StagedTriple, the images appended to this run's staging files: in its own
    folder (transforms/dataset/runs.py) when it holds the lease (`run`), else under `output`."""

    def __init__(self, output: str, run=None):
        super().__init__()
        self._run = run
        self._folder = run.staging if run is not None else \
            join(output, STAGING_DIR, uuid.uuid4().hex)

    def expand(self, triples):
        return triples | "Stage" >> beam.ParDo(_StageFn(self._folder, self._run))
