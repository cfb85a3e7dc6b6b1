"""Write kept triples as WebDataset tar shards, deterministically.

The triples arrive staged (transforms/staging.py): their images wait in staging files. Shard
membership is decided from the sorted list of all keys and sample sizes (small metadata,
gathered once), then each shard is written by reading its samples' images back in key order.
Only metadata is grouped or held, so memory does not grow with the run's output.
Same inputs and config give byte-identical shards: sorted members, fixed mtime, fixed owner.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import apache_beam as beam

from schemas import shard_layout as layout
from schemas.records import Caption, FramePair, PairOutcome, StagedTriple, Triple
from transforms import metrics
from transforms.change_map import change_map, to_npy
from transforms.dataset.heartbeat import keep_alive
from transforms.dataset.layout import shard_path
from transforms.dataset.lease import check_owner
from transforms.jpeg import encode_jpeg
from transforms.dataset.runs import record_planned
from transforms.shard_plan import plan_shards
from transforms.staged_images import read_many
from transforms.storage import committed_file, join
from transforms.tar_shard import sample_length, write_samples

READ_AHEAD = 32  # staged triples whose images a shard writer fetches together


@dataclasses.dataclass(frozen=True)
class WriteConfig:
    output: str = dataclasses.field(default="", metadata={
        "help": "dataset folder (local path or fsspec URL)"})
    samples_per_shard: int = dataclasses.field(default=2000, metadata={
        "help": "most triples per shard (a shard also rolls over at --shard-max-bytes)"})
    shard_max_bytes: int = dataclasses.field(default=512 * 2**20, metadata={
        "help": "most bytes per shard (default 512 MiB)"})
    min_shards: int = dataclasses.field(default=1, metadata={
        "help": "write at least this many shards when there are that many triples (set it to "
                "data-loader workers x ranks)"})
    jpeg_quality: int = dataclasses.field(default=95, metadata={
        "help": "JPEG quality of the stored before/after images (what the model captions)"})
    shard_prefix: str = dataclasses.field(default="", metadata={
        "help": "prefix of shard names, e.g. 'train-' gives train-shard-000000.tar"})

    def __post_init__(self):
        if min(self.samples_per_shard, self.shard_max_bytes, self.min_shards) < 1:
            raise ValueError("samples_per_shard, shard_max_bytes and min_shards must be >= 1")


def human_label(pair: FramePair) -> Optional[Caption]:
    """The source's own label as the action, unscored (no model in this run)."""
    label = pair.meta.source.label
    if not label:
        return None
    return Caption(action=label, idp_score=None, num_tokens=0, model_id=None,
                   model_revision=None, prompt_id=None, source="human")


def to_triple(captioned: Tuple[FramePair, Optional[Caption]], quality: int) -> Triple:
    pair, caption = captioned
    return Triple(meta=pair.meta, caption=caption, before_jpeg=encode_jpeg(pair.before, quality),
                  after_jpeg=encode_jpeg(pair.after, quality),
                  change_npy=to_npy(change_map(pair.before, pair.after, layout.CHANGE_GRID)))


def light_members(triple: StagedTriple) -> Dict[str, bytes]:
    """The sample's members made from its metadata: KEY.json, and KEY.txt when it has an action."""
    layout.check_key(triple.key)
    members = {layout.METADATA: json.dumps(
        layout.sample_metadata(triple.meta, triple.caption, triple.qc_flags),
        sort_keys=True, ensure_ascii=False).encode("utf-8")}
    if triple.caption is not None:
        members[layout.ACTION] = triple.caption.action.replace("\n", " ").encode("utf-8")
    return members


def sample_dict(triple: StagedTriple, images: Tuple[bytes, bytes, bytes]) -> Dict[str, object]:
    """The webdataset sample: built here, at the writer's edge, and nowhere else."""
    before, after, change = images
    return {"__key__": triple.key, layout.BEFORE: before, layout.AFTER: after,
            layout.CHANGE: change, **light_members(triple)}


def sample_size(triple: StagedTriple) -> Tuple[str, int]:
    """(key, the sample's bytes in a tar), without reading its images."""
    before, after, change = triple.images.sizes
    sizes = {layout.BEFORE: before, layout.AFTER: after, layout.CHANGE: change,
             **{field: len(data) for field, data in light_members(triple).items()}}
    return triple.key, sample_length(triple.key, sizes)


def _with_images(triples: List[StagedTriple]) -> Iterator[Dict[str, object]]:
    """The triples' samples in order, their images fetched READ_AHEAD triples at a time
    (concurrent requests on an object store, not one after another), a few MB held."""
    for start in range(0, len(triples), READ_AHEAD):
        chunk = triples[start:start + READ_AHEAD]
        for triple, images in zip(chunk, read_many([triple.images for triple in chunk])):
            yield sample_dict(triple, images)


def write_shard(url: str, triples: List[StagedTriple], tmp_dir: Optional[str] = None,
                exclusive: bool = False) -> Dict[str, object]:
    """Writes one tar shard of the triples, in key order, to `url` atomically; returns its index
    entry. `exclusive`: only if absent, or holding these very bytes (storage.committed_file)."""
    ordered = sorted(triples, key=lambda triple: triple.key)
    with committed_file(url, tmp_dir, exclusive) as tmp:
        with open(tmp, "wb") as stream:
            write_samples(stream, _with_images(ordered))
        digest, size = hashlib.sha256(), 0
        with open(tmp, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
    return {"name": url.rsplit("/", 1)[-1], "num_samples": len(ordered), "size": size,
            "sha256": digest.hexdigest()}


class _WriteShardFn(beam.DoFn):
    OUTCOMES = "outcomes"

    def __init__(self, config: WriteConfig, run=None, exclusive: bool = False):
        self._config = config
        self._run = run
        self._exclusive = exclusive

    def setup(self):
        keep_alive(self._run)

    def process(self, item: Tuple[int, Iterable[StagedTriple]]):
        index, triples = item
        triples = list(triples)
        name = layout.shard_name(index, self._config.shard_prefix)
        run = self._run
        if run is not None:  # a run that lost the dataset to another stops writing into it
            check_owner(run)
        # A refresh never replaces a shard: a run that lost the dataset to another fails here,
        # before its commit, instead of overwriting the other's shard.
        info = write_shard(join(self._config.output, shard_path(name)), triples,
                           run.tmp if run is not None else None,
                           exclusive=run is not None and self._exclusive)
        metrics.count("triples_written", len(triples))
        metrics.count("shards_written")
        yield info
        for triple in triples:
            yield beam.pvalue.TaggedOutput(self.OUTCOMES, PairOutcome(
                meta=triple.meta, caption=triple.caption, shard=name, qc_flags=triple.qc_flags))


class WriteShards(beam.PTransform):
    """StagedTriple -> {"shards": index entry per shard, "kept": PairOutcome per written triple}.

    Shards are numbered from `first_shard` (a refresh's come after the committed ones);
    `exclusive`: a shard is only created, never replaced (a refresh)."""

    def __init__(self, config: WriteConfig, run=None, first_shard: int = 0,
                 exclusive: bool = False):
        super().__init__()
        self._config = config
        self._run = run
        self._first_shard = first_shard
        self._exclusive = exclusive

    def expand(self, triples):
        config = self._config
        assignment = (triples
                      | "Sizes" >> beam.Map(sample_size)
                      | "AllSizes" >> beam.combiners.ToList()
                      | "Plan" >> beam.Map(plan_shards, config.samples_per_shard,
                                           config.shard_max_bytes, config.min_shards,
                                           self._first_shard)
                      | "RecordPlan" >> beam.Map(record_planned, self._run, functools.partial(
                          layout.shard_name, prefix=config.shard_prefix)))
        written = (triples
                   | "ToShard" >> beam.Map(lambda triple, shards: (shards[triple.key], triple),
                                           shards=beam.pvalue.AsSingleton(assignment))
                   | "GroupByShard" >> beam.GroupByKey()
                   | "WriteShard" >> beam.ParDo(_WriteShardFn(
                       config, self._run, self._exclusive)).with_outputs(
                       _WriteShardFn.OUTCOMES, main="shards"))
        return {"shards": written.shards, "kept": written[_WriteShardFn.OUTCOMES]}
