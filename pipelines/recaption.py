"""`idp-corpus caption DIR --model M`: caption an existing dataset again without decoding any
video: a better IDP model should not mean re-decoding a million videos. Works on datasets built
with --no-caption.

The pairs are read back from the shards the index lists; each gets a new caption (or, for a
human label, a new score), caption QC and selection as in a build, and goes to new shards
numbered after the existing ones, with its original image bytes. A new dataset version lists
only the new shards (the old ones stay on disk, superseded: nothing is rewritten) and one new
manifest part with every row, the captioned pairs' rows replaced; rows stream through in
batches, never held whole.
"""
from __future__ import annotations

import collections
import json
from fractions import Fraction
from typing import Dict, Iterator, List, Tuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from schemas import manifests
from schemas.records import (Display, PairMeta, PairOutcome, PairScores, Triple, VideoInfo,
                             VideoSource)
from schemas import shard_layout as layout
from transforms.dataset import heartbeat, lease, parts
from transforms.caption.stage import CaptionPairs, with_caption
from transforms.caption_qc import CaptionQc, CaptionQcConfig
from transforms.dataset.index import check_base, shard_count
from transforms.dataset.commit import commit_version
from transforms.caption.config import CaptionConfig
from transforms.select import SelectConfig, SelectTriples
from transforms.shard_read import iter_shard
from transforms.staging import StageTriples
from transforms.storage import join
from transforms.write import WriteConfig, WriteShards

KEPT = ds.field("status") == "kept"


def meta_from_sample(meta: Dict, video: Dict) -> PairMeta:
    """The pair's record rebuilt from its KEY.json and its video's manifest row."""
    source = VideoSource(
        uri=meta["source_uri"], video_id=meta["video_id"], size=video["size"],
        mtime=meta["source_stamp"], label=meta["label"], class_name=meta["class"],
        license=meta["license"], attribution=meta["attribution"])
    info = VideoInfo(fps=meta["fps"], num_frames=video["num_frames"],
                     width=meta["source_width"], height=meta["source_height"],
                     decoder=video["decoder"], sha256=meta["source_sha256"],
                     display=_display(meta))
    return PairMeta(key=meta["key"], source=source, info=info,
                    before_index=meta["before_frame"], after_index=meta["after_frame"],
                    sampler=meta["sampler"], scores=PairScores(**meta["scores"]),
                    shot=meta.get("shot"))  # absent from samples written before schema 1.3


def _display(meta: Dict) -> Display:
    """How the sample's images were stored: a sample of schema 1.1 holds the coded pictures."""
    if "rotation" not in meta:
        return Display()
    ratio = Fraction(meta["sample_aspect"]).limit_denominator(1000)
    return Display(meta["rotation"], meta["mirrored"], (ratio.numerator, ratio.denominator),
                   meta["field_order"])


def stored_triples(item: Tuple[str, Dict[str, Dict]]) -> Iterator[Triple]:
    """A shard's samples as uncaptioned triples, their stored bytes untouched. `item`: the
    shard's URL and {video_id: the facts of its videos' manifest rows}."""
    url, videos = item
    for _, members in iter_shard(url):
        meta = json.loads(members[layout.METADATA])
        yield Triple(meta=meta_from_sample(meta, videos[meta["video_id"]]), caption=None,
                     before_jpeg=members[layout.BEFORE], after_jpeg=members[layout.AFTER],
                     change_npy=members[layout.CHANGE])


VIDEO_FACTS = ["video_id", "size", "num_frames", "decoder"]


def _kept_pairs(version: int, dataset: str, index: dict) -> Iterator[Tuple[str, str]]:
    """(video_id, shard) of the kept pairs one version's part holds."""
    for batch in parts.scan(dataset, index, "pairs", ["video_id", "shard"], KEPT, {version}):
        yield from zip(batch["video_id"].to_pylist(), batch["shard"].to_pylist())


def _video_facts(version: int, dataset: str, index: dict) -> Iterator[Tuple[str, Dict]]:
    for batch in parts.scan(dataset, index, "videos", VIDEO_FACTS, None, {version}):
        for row in batch.to_pylist():
            yield row["video_id"], row


def _facts_by_shard(joined, url_of: Dict[str, str]) -> Iterator[Tuple[str, Tuple[str, Dict]]]:
    video_id, grouped = joined
    facts = list(grouped["videos"])  # one: the video's latest row
    if facts:
        for shard in sorted(set(grouped["shards"])):
            yield url_of[shard], (video_id, facts[-1])


class ReadStored(beam.PTransform):
    """The dataset's kept triples read back from its shards, each with its video's manifest
    facts. A join by video id, then by shard, carries only metadata: no worker holds the whole
    manifest, and image bytes never go through a shuffle."""

    def __init__(self, dataset: str, index: dict):
        super().__init__()
        self._dataset, self._index = dataset, index

    def expand(self, pipeline):
        dataset, index = self._dataset, self._index
        versions = sorted({part["version"] for part in parts.listed_parts(index)})
        url_of = {shard["name"]: join(dataset, shard["url"]) for shard in index["shards"]}
        listed = pipeline | "Versions" >> beam.Create(versions)
        shards = listed | "KeptPairs" >> beam.FlatMap(_kept_pairs, dataset, index)
        videos = listed | "VideoFacts" >> beam.FlatMap(_video_facts, dataset, index)
        return ({"shards": shards, "videos": videos}
                | "JoinVideos" >> beam.CoGroupByKey()
                | "ByShard" >> beam.FlatMap(_facts_by_shard, url_of)
                | "GroupByShard" >> beam.GroupByKey()
                | "Facts" >> beam.MapTuple(lambda url, facts: (url, dict(facts)))
                | "ReadShard" >> beam.FlatMap(stored_triples))


def _pair_batches(dataset: str, index: dict,
                  new_rows: Dict[str, Dict]) -> Iterator[pa.Table]:
    """The latest pair rows with the captioned pairs' rows replaced, batch by batch."""
    keys = pa.array(sorted(new_rows), pa.string())
    for batch in parts.scan(dataset, index, "pairs"):
        table = pa.Table.from_batches([batch])
        if not pc.any(pc.is_in(table["key"], value_set=keys)).as_py():
            yield table
            continue
        yield pa.Table.from_pylist([new_rows.get(row["key"], row) for row in table.to_pylist()],
                                   schema=manifests.PAIRS)


def _video_batches(dataset: str, index: dict, kept: Dict[str, int]) -> Iterator[pa.Table]:
    """The latest video rows with their counts and status after captioning, batch by batch."""
    for batch in parts.scan(dataset, index, "videos"):
        rows = []
        for row in batch.to_pylist():
            count = kept.get(row["video_id"], 0)
            status, reason = manifests.restated_status(row, count)
            rows.append({**row, "num_kept": count, "status": status, "reason": reason})
        yield pa.Table.from_pylist(rows, schema=manifests.VIDEOS)


def commit(_, output: str, run, previous: dict, outcomes: List[PairOutcome],
           shards: List[Dict]) -> dict:
    """A new version onto `previous` (the committed index the run started from) made of one part
    holding every latest row, the captioned pairs' rows replaced (every kept pair was captioned
    again, so this part supersedes all others), and only the new shards. Rows stream through in
    batches; the lookup files stay as they are (a caption changes no video's URI, size, time or
    failure)."""
    version = previous["version"] + 1
    tmp = run.tmp if run is not None else None
    if run is not None:
        heartbeat.keep_alive(run)
        check_base(output, run)  # before writing anything into the version folder
        lease.check_owner(run)
    base = parts.convert_legacy(output, previous, version, tmp)
    new_rows = {outcome.meta.key: manifests.pair_row(outcome) for outcome in outcomes}
    kept = collections.Counter(row["video_id"] for row in new_rows.values()
                               if row["status"] == "kept")
    entry = parts.write_streamed_part(output, version, _video_batches(output, base, kept),
                                      _pair_batches(output, base, new_rows), tmp)
    listed = [{**shard, "version": version} for shard in sorted(shards, key=lambda s: s["name"])]
    return commit_version(output, version, [entry], base["known"], listed,
                          parts.part_counts(output, entry), previous, run)


def compose(pipeline: beam.Pipeline, dataset: str, caption: CaptionConfig,
            qc: CaptionQcConfig, select: SelectConfig, write: WriteConfig, run=None, base=None):
    """`base`: the committed index the run starts from."""
    if base is None:
        raise ValueError(f"{dataset} has no index.json: not a committed dataset")
    index = base
    # The stored images are staged as they are, and the model captions those JPEGs: a batch
    # waiting for it holds offsets, and nothing joins captions back to images afterwards.
    staged = (pipeline
              | "ReadStored" >> ReadStored(dataset, index)
              | "Stage" >> StageTriples(write.output, run))
    captioned = staged | "Caption" >> CaptionPairs(caption, run)
    checked = (captioned["captioned"]
               | "WithCaption" >> beam.MapTuple(with_caption)
               | "CaptionQc" >> CaptionQc(qc))
    selected = checked["kept"] | "SelectByScore" >> SelectTriples(select)
    written = selected["kept"] | "Write" >> WriteShards(write, run, shard_count(index),
                                                        exclusive=True)
    outcomes = ((written["kept"], captioned["failed"], checked["dropped"], selected["dropped"])
                | "AllPairs" >> beam.Flatten())
    return (pipeline
            | "Once" >> beam.Create([None])
            | "Commit" >> beam.Map(commit, dataset, run, index, beam.pvalue.AsList(outcomes),
                                   beam.pvalue.AsList(written["shards"])))
