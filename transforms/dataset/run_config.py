"""What one run does to the dataset it writes into: add to it or rebuild it, retry which
failures, and how many failures it may commit. Build and caption read it; the stages that skip
known videos (transforms/skip_known.py), number shards (transforms/write.py) and commit
(transforms/finalize.py) take it as one object."""
from __future__ import annotations

import dataclasses
from typing import Optional

from transforms.dataset.index import shard_count

MODES = ("refresh", "overwrite")
RETRY_CHOICES = ("", "transient", "all")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    mode: str = dataclasses.field(default="refresh", metadata={
        "help": "refresh: add only videos the dataset at --output lacks, in new shards; "
                "overwrite: rebuild from scratch"})
    retry_failed: str = dataclasses.field(default="", metadata={
        "help": "re-process only the videos whose last status was failed: 'transient' "
                "(io_error, decode_timeout, decoder_crashed) or 'all'; nothing else is touched"})
    max_failure_ratio: float = dataclasses.field(default=0.5, metadata={
        "help": "fail the run, without committing the index, when more than this share of the "
                "input videos failed to decode"})

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; choose one of {MODES}")
        if self.retry_failed not in RETRY_CHOICES:
            raise ValueError(f"retry_failed must be one of {RETRY_CHOICES}")
        if self.retry_failed and self.mode != "refresh":
            raise ValueError("retry_failed works on an existing dataset: use it with --mode "
                             "refresh")

    @property
    def refresh(self) -> bool:
        """Whether the run adds to the committed version (and never replaces a shard)."""
        return self.mode == "refresh"

    def previous(self, base: Optional[dict]) -> Optional[dict]:
        """The committed index the new version builds on: `base` for a refresh, None for a
        rebuild."""
        return base if self.refresh else None

    def first_shard(self, base: Optional[dict]) -> int:
        """The number of the run's first shard: after the committed ones for a refresh."""
        return shard_count(self.previous(base))
