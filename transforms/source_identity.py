"""One source, one row: identity by normalized URI, and ids that never collide in shards.

The same file reached by two spellings (`au/two.json`, `./au/two.json`, its absolute path) or
by two inputs (a labelled CSV and a glob) is one source: its identity is its normalized URI (for
an AURORA item, its two normalized image URIs). When several inputs describe it, the one that
says most about it (label, class, licence, attribution, an id) wins, ties broken by its text, so the
result does not depend on the order inputs happen to arrive in.

Ids given by manifests can collide (two teams' lists both starting at `0001`): a sample key is
built from the id, so two videos with one id would write duplicate keys. Each of them becomes
a `duplicate_id` failure instead, naming the other URI; the same holds against the videos an
existing dataset already has.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, List, Tuple, Union

from schemas.records import VideoSource
from schemas.shard_layout import video_id_for

Identity = Union[str, Tuple[str, str]]


def identity(source: VideoSource) -> Identity:
    return source.images if source.images else source.uri


def _richness(source: VideoSource) -> tuple:
    """Sorts the source that carries the most first (an id of its own counts: a manifest row
    says more than a glob match); its text breaks ties."""
    given_id = None if source.video_id == video_id_for(source.uri) else source.video_id
    carried = (source.label, source.class_name, source.license, source.attribution, given_id)
    return (tuple(value is None for value in carried), repr(source))


def merge_duplicates(sources: Iterable[VideoSource]) -> Tuple[VideoSource, int]:
    """(the source that wins, how many others were merged into it)."""
    ordered = sorted(sources, key=_richness)
    return ordered[0], len(ordered) - 1


def collision(source: VideoSource, other_uris: List[str], where: str) -> VideoSource:
    """The source as a `duplicate_id` failure, naming who else has its id."""
    others = ", ".join(sorted(other_uris)[:3]) + (" ..." if len(other_uris) > 3 else "")
    return dataclasses.replace(
        source, problem="duplicate_id",
        problem_detail=f"id {source.video_id!r} is also used {where} by {others}; give each "
                       "video its own id")


def split_collisions(sources: List[VideoSource]) -> List[VideoSource]:
    """Sources sharing one id: all of them fail as `duplicate_id` (none is more right than the
    others); a lone source passes unchanged."""
    if len(sources) < 2:
        return sources
    uris = [source.uri for source in sources]
    return [collision(source, [uri for uri in uris if uri != source.uri], "in this run")
            for source in sorted(sources, key=lambda s: s.uri)]
