"""Keep, or drop with a reason: the one routing of every stage that judges pairs (filter,
caption QC, select, caption).

A stage only decides: None to keep an item, or a `Drop(reason, score, message)`. This module
does the rest, the same way for every stage (as datatrove's BaseFilter does for its filters):
kept items go on unchanged to the "kept" output; a dropped one is counted as
`dropped_<reason>` and goes to the "dropped" output as the PairOutcome that becomes its row of
manifest/pairs.parquet. So a new reason needs no edit anywhere else.

Items are FramePairs or StagedTriples: anything with a `meta`, and a `caption` and `qc_flags`
when it has them (they are kept on the manifest row).
"""
from __future__ import annotations

from typing import Callable, Dict, Iterable, Optional, Tuple

import apache_beam as beam

from schemas.records import Drop, PairOutcome
from transforms import metrics

KEPT = "kept"
DROPPED = "dropped"

Decide = Callable[..., Optional[Drop]]  # (item, *side inputs) -> None (keep) or Drop
DecideGroup = Callable[..., Iterable[Tuple[object, Optional[Drop]]]]


def dropped(item, drop: Drop) -> PairOutcome:
    """`item`, dropped for `drop`: counted, and as its manifest row."""
    metrics.count_dropped(drop.reason)
    return PairOutcome(meta=item.meta, caption=getattr(item, "caption", None), drop=drop,
                       qc_flags=getattr(item, "qc_flags", ()))


def route(item, drop: Optional[Drop]):
    """Yields `item` to the kept output, or its outcome to the dropped one."""
    if drop is None:
        yield item
    else:
        yield beam.pvalue.TaggedOutput(DROPPED, dropped(item, drop))


class _DecideEachFn(beam.DoFn):
    def __init__(self, decide: Decide):
        self._decide = decide

    def process(self, item, *side_inputs):
        yield from route(item, self._decide(item, *side_inputs))


class _DecideGroupFn(beam.DoFn):
    def __init__(self, decide_group: DecideGroup):
        self._decide_group = decide_group

    def process(self, group, *side_inputs):
        for item, drop in self._decide_group(group, *side_inputs):
            yield from route(item, drop)


def keep_or_drop(items, label: str, decide: Decide, *side_inputs) -> Dict[str, object]:
    """{"kept", "dropped"} of `items`, each judged alone by `decide(item, *side_inputs)`.
    `decide` must pickle: a module-level function, or a functools.partial of one."""
    return _split(items | label >> beam.ParDo(_DecideEachFn(decide), *side_inputs)
                  .with_outputs(DROPPED, main=KEPT))


def keep_or_drop_groups(groups, label: str, decide_group: DecideGroup,
                        *side_inputs) -> Dict[str, object]:
    """{"kept", "dropped"} for a stage that judges items together (the captions of one
    video): `decide_group(group, *side_inputs)` yields (item, None or Drop) for each item."""
    return _split(groups | label >> beam.ParDo(_DecideGroupFn(decide_group), *side_inputs)
                  .with_outputs(DROPPED, main=KEPT))


def none_dropped(items) -> Dict[str, object]:
    """The same outputs for a stage that is switched off: everything kept."""
    return {KEPT: items, DROPPED: items.pipeline | "NoneDropped" >> beam.Create([])}


def _split(results) -> Dict[str, object]:
    return {KEPT: results[KEPT], DROPPED: results[DROPPED]}
