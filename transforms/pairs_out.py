"""The one count of a video's pairs already sent on, and what a failure after them leaves.

Pairs go out as they are made (they may be in shards by now), so a video cut short by a failure
keeps them: its outcome counts them and keeps the video's info, the manifest shows it as cut
short by the failure's reason rather than failed, and a retry of failed videos does not repeat
them. The decode child and the Beam stage both keep this count, each with one of these.
"""
from __future__ import annotations

from typing import Optional

from schemas.records import FramePair, VideoInfo, VideoOutcome, VideoSource


def failed_outcome(source: VideoSource, reason: str, message: str, pairs_out: int = 0,
                   info: Optional[VideoInfo] = None) -> VideoOutcome:
    """The outcome of a video that failed after `pairs_out` pairs (of `info`) went out."""
    if pairs_out:
        message = f"stopped after {pairs_out} pairs, which are kept: {message}"
        return VideoOutcome(source, info, pairs_out, reason, message[:500])
    return VideoOutcome(source, None, 0, reason, message[:500])


class PairsOut:
    """Counts one video's pairs as they go out."""

    def __init__(self, source: VideoSource):
        self.source = source
        self.count = 0
        self.info: Optional[VideoInfo] = None  # from the pairs out

    def note(self, item) -> None:
        if isinstance(item, FramePair):
            self.count, self.info = self.count + 1, item.meta.info

    def failed(self, reason: str, message: str) -> VideoOutcome:
        return failed_outcome(self.source, reason, message, self.count, self.info)
