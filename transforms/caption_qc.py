"""Caption quality control: flag generated actions that are empty, cut off at the token limit,
looping, in an unexpected script, or the same for most pairs of a video.

Each check is a pure function returning a reason code or None. The config decides whether a
flagged pair is dropped (reason in pairs.parquet) or kept with its flags (in KEY.json).
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import unicodedata
from typing import Iterable, List, Optional, Tuple

import apache_beam as beam

from schemas.records import Caption, Drop, StagedTriple
from transforms import metrics
from transforms.keep_or_drop import keep_or_drop_groups, none_dropped

POLICIES = ("drop", "flag", "off")


@dataclasses.dataclass(frozen=True)
class CaptionQcConfig:
    qc_policy: str = dataclasses.field(default="drop", metadata={
        "help": "what to do with captions that fail a check: drop the pair, flag it (kept, "
                "flags in KEY.json) or off"})
    qc_charset: str = dataclasses.field(default="latin", metadata={
        "help": "expected script of actions: latin, or any to skip the check"})
    qc_max_foreign_share: float = dataclasses.field(default=0.2, metadata={
        "help": "flag actions with more than this share of letters outside --qc-charset"})
    qc_max_same_share: float = dataclasses.field(default=0.8, metadata={
        "help": "flag a video's pairs when more than this share of them got the same action"})
    qc_min_pairs_same: int = dataclasses.field(default=3, metadata={
        "help": "the same-action check applies to videos with at least this many pairs"})

    def __post_init__(self):
        if self.qc_policy not in POLICIES:
            raise ValueError(f"unknown qc_policy {self.qc_policy!r}; choose one of {POLICIES}")


def empty(caption: Caption, config: CaptionQcConfig) -> Optional[str]:
    return "caption_empty" if not caption.action.strip() else None


def truncated(caption: Caption, config: CaptionQcConfig) -> Optional[str]:
    return "caption_truncated" if caption.truncated else None


def repetitive(caption: Caption, config: CaptionQcConfig) -> Optional[str]:
    words = caption.action.lower().split()
    if len(words) < 4:
        return None
    longest_run = run = 1
    for previous, word in zip(words, words[1:]):
        run = run + 1 if word == previous else 1
        longest_run = max(longest_run, run)
    if longest_run >= 3 or len(set(words)) / len(words) < 0.5:
        return "caption_repetitive"
    return None


def foreign_script(caption: Caption, config: CaptionQcConfig) -> Optional[str]:
    if config.qc_charset == "any":
        return None
    letters = [char for char in caption.action if char.isalpha()]
    if not letters:
        return None
    foreign = sum(1 for char in letters
                  if not unicodedata.name(char, "").startswith(config.qc_charset.upper()))
    return "caption_charset" if foreign / len(letters) > config.qc_max_foreign_share else None


CHECKS = [empty, truncated, repetitive, foreign_script]


def flags_for_pair(caption: Caption, config: CaptionQcConfig) -> List[str]:
    return [flag for flag in (check(caption, config) for check in CHECKS) if flag]


def same_action_keys(actions: List[Tuple[str, str]], config: CaptionQcConfig) -> set:
    """Keys of a video's pairs that share an action with more than the allowed share."""
    if len(actions) < config.qc_min_pairs_same:
        return set()
    counts = collections.Counter(action for _, action in actions)
    action, count = counts.most_common(1)[0]
    if count / len(actions) <= config.qc_max_same_share:
        return set()
    return {key for key, other in actions if other == action}


def check_video(triples: Iterable[StagedTriple], config: CaptionQcConfig):
    """Yields (triple with its flags, Drop or None) for every triple of one video."""
    triples = list(triples)
    same = same_action_keys([(t.key, t.caption.action) for t in triples
                             if t.caption.source == "idp"], config)
    for triple in sorted(triples, key=lambda t: t.key):
        if triple.caption.source != "idp":  # a human label is the ground truth, not checked
            yield triple, None
            continue
        flags = flags_for_pair(triple.caption, config)
        if triple.key in same:
            flags.append("caption_same_for_video")
        if flags and config.qc_policy == "drop":
            yield triple, Drop(flags[0], message=",".join(flags))
        else:
            yield dataclasses.replace(triple, qc_flags=tuple(flags)), None


def check_grouped(video, config: CaptionQcConfig):
    """`check_video` for one (video id, triples) group, counting the flags of kept triples."""
    _, triples = video
    for triple, drop in check_video(triples, config):
        if drop is None:
            for flag in triple.qc_flags:
                metrics.count(f"flagged_{flag}")
        yield triple, drop


class CaptionQc(beam.PTransform):
    """StagedTriple -> {"kept": StagedTriple (flags attached), "dropped": PairOutcome};
    pass-through when the policy is off or the triples carry no generated caption."""

    def __init__(self, config: CaptionQcConfig):
        super().__init__()
        self._config = config

    def expand(self, triples):
        if self._config.qc_policy == "off":
            return none_dropped(triples)
        videos = (triples
                  | "ByVideo" >> beam.Map(lambda t: (t.meta.source.video_id, t))
                  | "GroupByVideo" >> beam.GroupByKey())
        return keep_or_drop_groups(videos, "Check",
                                   functools.partial(check_grouped, config=self._config))
