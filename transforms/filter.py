"""Pair filters: each a pure predicate that keeps a pair or drops it with a reason and a score.

A new filter is one function added to FILTERS; its reason code becomes a `dropped_<reason>`
counter and a manifest value with no edit anywhere else.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable, List, Optional

import apache_beam as beam

from schemas.records import Drop, FramePair, PairScores
from transforms.image_pairs import SAMPLER as IMAGE_PAIR
from transforms.keep_or_drop import keep_or_drop


@dataclasses.dataclass(frozen=True)
class FilterConfig:
    min_brightness: float = dataclasses.field(default=0.06, metadata={
        "help": "drop pairs whose darker frame has a mean grey level below this (0..1): dark"})
    min_change: float = dataclasses.field(default=0.01, metadata={
        "help": "drop pairs whose mean grey-level change is below this (0..1): static"})
    max_change: float = dataclasses.field(default=0.5, metadata={
        "help": "drop pairs whose mean grey-level change is above this (0..1): too_different"})
    max_cut: float = dataclasses.field(default=0.08, metadata={
        "help": "drop pairs with a consecutive-frame cut score above this "
                "(flow residual or histogram distance, 0..1): scene_cut"})
    min_sharpness: float = dataclasses.field(default=10.0, metadata={
        "help": "drop pairs whose blurrier frame has a Laplacian variance below this: blurry"})
    filter_image_pairs: bool = dataclasses.field(default=False, metadata={
        "help": "judge labelled image pairs (AURORA-format JSON) by the motion filters too "
                "(static, scene_cut, too_different); by default those curated pairs are only "
                "scored, since an edit or an action between two images is no shot change"})
    filter_cuts_within_shots: bool = dataclasses.field(default=False, metadata={
        "help": "judge pairs inside one detected shot by --max-cut too; by default the shot "
                "detector decides where cuts are (--shots auto), since within a shot a flash, "
                "a car passing close to the lens or fast motion also raise the cut score"})


def dark(scores: PairScores, config: FilterConfig) -> Optional[Drop]:
    if scores.brightness < config.min_brightness:
        return Drop("dark", scores.brightness)
    return None


def static(scores: PairScores, config: FilterConfig) -> Optional[Drop]:
    if scores.change < config.min_change:
        return Drop("static", scores.change)
    return None


def scene_cut(scores: PairScores, config: FilterConfig) -> Optional[Drop]:
    if scores.cut > config.max_cut:
        return Drop("scene_cut", scores.cut)
    return None


def too_different(scores: PairScores, config: FilterConfig) -> Optional[Drop]:
    if scores.change > config.max_change:
        return Drop("too_different", scores.change)
    return None


def blurry(scores: PairScores, config: FilterConfig) -> Optional[Drop]:
    if scores.sharpness < config.min_sharpness:
        return Drop("blurry", scores.sharpness)
    return None


# Order matters only for which reason a pair failing several checks is reported under.
FILTERS: List[Callable[[PairScores, FilterConfig], Optional[Drop]]] = [
    dark, static, scene_cut, too_different, blurry]
# Filters that judge the motion between two frames of one shot: not a human-labelled image pair,
# whose two images have no frames between them and may differ by the edit itself.
MOTION_FILTERS = (static, scene_cut, too_different)


def check(scores: PairScores, config: FilterConfig, image_pair: bool = False,
          within_shot: bool = False) -> Optional[Drop]:
    """The first filter that drops the pair, or None to keep it."""
    for predicate in FILTERS:
        if image_pair and not config.filter_image_pairs and predicate in MOTION_FILTERS:
            continue
        if within_shot and not config.filter_cuts_within_shots and predicate is scene_cut:
            continue
        drop = predicate(scores, config)
        if drop is not None:
            return drop
    return None


def check_pair(config: FilterConfig, pair: FramePair) -> Optional[Drop]:
    """`check` for one sampled pair: a labelled image pair skips the motion filters, and a
    pair inside one detected shot the cut threshold, unless the config asks for them."""
    return check(pair.meta.scores, config, pair.meta.sampler == IMAGE_PAIR,
                 pair.meta.shot is not None)


class FilterPairs(beam.PTransform):
    """FramePair -> {"kept": FramePair, "dropped": PairOutcome with the reason}."""

    def __init__(self, config: FilterConfig):
        super().__init__()
        self._config = config

    def expand(self, pairs):
        return keep_or_drop(pairs, "Check", functools.partial(check_pair, self._config))
