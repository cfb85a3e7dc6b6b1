"""Encoded images staged to files as they are made, so that no process holds a run's output.

The steps after encoding need the whole run, or a whole video, before they can decide: caption
checks per video, selection by score over all triples, the shard plan from every sample's size.
Beam's local runner holds what such a step waits on in memory (a distributed runner shuffles
it). So each bundle appends its triples' images to one staging file as they arrive and sends on
only where they are (a StagedTriple); the shard writer reads them back.

Staging files carry storage.TMP_MARK, so the commit's sweep of temporaries removes them with
the staging folder once every shard is written, and a killed run's leftovers show as strays.
"""
from __future__ import annotations

import os
import uuid
from typing import Tuple

import apache_beam as beam

from schemas.records import StagedImages, StagedTriple, Triple
from transforms.storage import STAGING_DIR, TMP_MARK, filesystem, is_local, join


def read_images(images: StagedImages) -> Tuple[bytes, bytes, bytes]:
    """(before JPEG, after JPEG, change map) of a staged triple."""
    fs, path = filesystem(images.url)
    data = fs.cat_file(path, start=images.offset, end=images.offset + sum(images.sizes))
    before, after, _ = images.sizes
    return data[:before], data[before:before + after], data[before + after:]


class _StageFn(beam.DoFn):
    def __init__(self, folder: str):
        self._folder = folder
        self._file = None
        self._url = ""
        self._written = 0

    def process(self, triple: Triple):
        if self._file is None:
            self._open()
        parts = (triple.before_jpeg, triple.after_jpeg, triple.change_npy)
        for part in parts:
            self._file.write(part)
        images = StagedImages(self._url, self._written, tuple(len(part) for part in parts))
        self._written += sum(images.sizes)
        yield StagedTriple(meta=triple.meta, caption=triple.caption, images=images)

    def _open(self):
        # A name of its own per bundle: a retried bundle writes afresh, never into a file
        # whose ranges another attempt already sent on.
        self._url = join(self._folder, f"{uuid.uuid4().hex}{TMP_MARK}stage")
        fs, path = filesystem(self._url)
        if is_local(fs):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        self._file, self._written = fs.open(path, "wb"), 0

    def finish_bundle(self):
        # The steps that read staged images wait for every bundle of this step to finish.
        self._close()

    def teardown(self):
        self._close()

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class StageTriples(beam.PTransform):
    """Triple -> StagedTriple, the images appended to this run's staging files under `output`."""

    def __init__(self, output: str):
        super().__init__()
        self._folder = join(output, STAGING_DIR, uuid.uuid4().hex)  # this run's own

    def expand(self, triples):
        return triples | "Stage" >> beam.ParDo(_StageFn(self._folder))
