"""Selection by IDP score: a plain threshold, then the paper's stratified top-K (Algorithm 1):
sort triples by score, then take the best remaining triple of each class in turn until K are
chosen, so that no class crowds out the others. Deterministic: ties break by key.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Optional, Set, Tuple

import apache_beam as beam

from schemas.records import Drop, StagedTriple
from transforms.keep_or_drop import keep_or_drop, none_dropped

Item = Tuple[str, float, str]  # (key, score, class)


@dataclasses.dataclass(frozen=True)
class SelectConfig:
    select_top_k: int = dataclasses.field(default=0, metadata={
        "help": "keep only K triples, chosen by stratified top-K over classes (0: keep all)"})
    min_idp_score: Optional[float] = dataclasses.field(default=None, metadata={
        "help": "drop triples whose IDP score (mean log-probability) is below this"})

    @property
    def active(self) -> bool:
        return bool(self.select_top_k) or self.min_idp_score is not None


def stratified_top_k(items: Iterable[Item], k: int) -> List[str]:
    """Keys chosen, in the order Algorithm 1 picks them."""
    by_class: Dict[str, List[Item]] = {}
    for item in sorted(items, key=lambda item: (-item[1], item[0])):
        by_class.setdefault(item[2], []).append(item)
    # Classes take turns in the order of their best triple, so the order is by score too.
    queues = [by_class[name] for name in sorted(by_class, key=lambda c: (-by_class[c][0][1], c))]
    chosen: List[str] = []
    depth = 0
    while len(chosen) < k and any(depth < len(queue) for queue in queues):
        for queue in queues:
            if depth < len(queue) and len(chosen) < k:
                chosen.append(queue[depth][0])
        depth += 1
    return chosen


def triple_class(triple: StagedTriple) -> str:
    """The stratum: the source's class, else the dataset (input) it came from."""
    source = triple.meta.source
    return source.class_name or source.dataset or ""


def select(items: List[Item], config: SelectConfig) -> Dict[str, Drop]:
    """{key: why it was not selected} for the items that are dropped."""
    drops: Dict[str, Drop] = {}
    if config.min_idp_score is not None:
        drops = {key: Drop("low_idp_score", score) for key, score, _ in items
                 if score < config.min_idp_score}
    remaining = [item for item in items if item[0] not in drops]
    if config.select_top_k:
        chosen: Set[str] = set(stratified_top_k(remaining, config.select_top_k))
        drops.update({key: Drop("not_selected", score) for key, score, _ in remaining
                      if key not in chosen})
    return drops


def _item(triple: StagedTriple) -> Item:
    return triple.key, triple.caption.idp_score, triple_class(triple)


def _decision(triple: StagedTriple, drops: Dict[str, Drop]) -> Optional[Drop]:
    return drops.get(triple.key)


class SelectTriples(beam.PTransform):
    """StagedTriple -> {"kept": StagedTriple, "dropped": PairOutcome (low_idp_score /
    not_selected)}. Decided from (key, score, class) gathered once; the images stay staged."""

    def __init__(self, config: SelectConfig):
        super().__init__()
        self._config = config

    def expand(self, triples):
        if not self._config.active:
            return none_dropped(triples)
        drops = (triples
                 | "Scores" >> beam.Map(_item)
                 | "AllScores" >> beam.combiners.ToList()
                 | "Select" >> beam.Map(select, self._config))
        return keep_or_drop(triples, "Route", _decision, beam.pvalue.AsSingleton(drops))
