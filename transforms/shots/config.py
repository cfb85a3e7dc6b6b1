"""The shot detector's thresholds."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ShotConfig:
    """What each threshold means: the `--shot-*` options' help (transforms/sample.py)."""
    cut_threshold: float = 0.04
    cut_ratio: float = 4.0
    flash_return: float = 0.5
    dissolve_blend: float = 0.10
    dissolve_min_change: float = 0.4
    dissolve_min_area: float = 0.35
    blank_std: float = 3.0
    min_dissolve_seconds: float = 0.28
    max_dissolve_seconds: float = 1.2
