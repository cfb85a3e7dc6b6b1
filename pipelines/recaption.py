"""`idp-corpus caption DIR --model M`: caption an existing dataset again without decoding any
video: a better IDP model should not mean re-decoding a million videos. Works on datasets built
with --no-caption.

The pairs are read back from the shards the index lists; each gets a new caption (or, for a
human label, a new score), caption QC and selection as in a build, and goes to new shards
numbered after the existing ones, with its original image bytes. A new dataset version lists
only the new shards (the old ones stay on disk, superseded: nothing is rewritten), and updates
the captioned pairs' rows in the manifests.
"""
from __future__ import annotations

import collections
import json
from fractions import Fraction
from typing import Dict, Iterator, List

import apache_beam as beam

from schemas import manifests
from schemas.records import (Display, PairMeta, PairOutcome, PairScores, Triple, VideoInfo,
                             VideoSource)
from transforms.caption import CaptionPairs, with_caption
from transforms.caption_qc import CaptionQc, CaptionQcConfig
from transforms.existing import read_index, read_rows
from transforms.index_commit import current_index
from transforms.finalize import commit_version
from transforms.caption_config import CaptionConfig
from transforms.select import SelectConfig, SelectTriples
from transforms.shard_read import iter_shard
from transforms.staging import StageTriples
from transforms.storage import join
from transforms.write import WriteConfig, WriteShards


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


def stored_triples(url: str, videos: Dict[str, Dict]) -> Iterator[Triple]:
    """A shard's samples as uncaptioned triples, their stored bytes untouched."""
    for _, members in iter_shard(url):
        meta = json.loads(members["json"])
        yield Triple(meta=meta_from_sample(meta, videos[meta["video_id"]]), caption=None,
                     before_jpeg=members["before.jpg"], after_jpeg=members["after.jpg"],
                     change_npy=members["change.npy"])


def commit(_, output: str, run, outcomes: List[PairOutcome], shards: List[Dict]) -> dict:
    previous = current_index(output)
    new_rows = {outcome.meta.key: manifests.pair_row(outcome) for outcome in outcomes}
    pair_rows = [new_rows.get(row["key"], row) for row in read_rows(output, previous, "pairs")]
    kept = collections.Counter(row["video_id"] for row in pair_rows if row["status"] == "kept")
    video_rows = []
    for row in read_rows(output, previous, "videos"):
        status, reason = row["status"], row["reason"]
        if status != "failed":
            count = kept[row["video_id"]]
            status, reason = ("ok", None) if count else ("no_pairs",
                                                         reason or "all_pairs_dropped")
        video_rows.append({**row, "num_kept": kept[row["video_id"]], "status": status,
                           "reason": reason})
    return commit_version(output, video_rows, pair_rows,
                          sorted(shards, key=lambda shard: shard["name"]), previous, run)


def compose(pipeline: beam.Pipeline, dataset: str, caption: CaptionConfig,
            qc: CaptionQcConfig, select: SelectConfig, write: WriteConfig, run=None):
    index = read_index(dataset)
    if index is None:
        raise ValueError(f"{dataset} has no index.json: not a committed dataset")
    videos = {row["video_id"]: row for row in read_rows(dataset, index, "videos")}
    # The stored images are staged as they are, and the model captions those JPEGs: a batch
    # waiting for it holds offsets, and nothing joins captions back to images afterwards.
    staged = (pipeline
              | "Shards" >> beam.Create([join(dataset, s["url"]) for s in index["shards"]])
              | "ReadShard" >> beam.FlatMap(stored_triples, videos)
              | "Stage" >> StageTriples(write.output, run))
    captioned = staged | "Caption" >> CaptionPairs(caption, run)
    checked = (captioned["captioned"]
               | "WithCaption" >> beam.MapTuple(with_caption)
               | "CaptionQc" >> CaptionQc(qc))
    selected = checked["kept"] | "SelectByScore" >> SelectTriples(select)
    written = selected["kept"] | "Write" >> WriteShards(write, run)
    outcomes = ((written["kept"], captioned["failed"], checked["dropped"], selected["dropped"])
                | "AllPairs" >> beam.Flatten())
    return (pipeline
            | "Once" >> beam.Create([None])
            | "Commit" >> beam.Map(commit, dataset, run, beam.pvalue.AsList(outcomes),
                                   beam.pvalue.AsList(written["shards"])))
