"""Hard cuts: the flow-compensated residual between consecutive frames, with each frame's grey
levels standardised (so a gain change such as a light switched on leaves it low; a step in
brightness between strongly correlated frames is a light change, not a cut) and taken as the
median over a 4x4 grid (so a small jumping object is not a cut), spikes well above the frames
around it (a whip pan or shake stays high for several frames), and the picture before it does
not come back within a few frames (a flash or strobe does)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from transforms.shots.config import ShotConfig
from transforms.shots.history import FrameHistory
from transforms.shots.transitions import Candidate

# A cut's plain frame difference is at least this many times that of the frames around it.
CUT_STEP_RATIO = 1.5


def cut_at(history: FrameHistory, config: ShotConfig, flash_frames: int,
           index: int) -> Optional[Candidate]:
    """A cut just before frame `index`, if there is one; the frames up to `flash_frames` after
    it must be in `history` already."""
    if index < 1:
        return None
    residual, step = history.residual, history.step
    value = residual[index]
    if value < config.cut_threshold:
        return None
    around = [residual.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
    if value < config.cut_ratio * max(around):
        return None
    before = history.standard.get(index - 1)
    if light_change(history.tiny[index - 1], history.tiny[index]):
        return None
    steps = [step.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
    if step.get(index, 0.0) < CUT_STEP_RATIO * float(np.median(steps)):
        return None  # the picture changed no more than around it: the flow slipped, no cut
    jump = float(np.abs(history.standard[index] - before).mean())
    after = [i for i in range(index + 1, index + 1 + flash_frames) if i in history.standard]
    if after and min(float(np.abs(history.standard[i] - before).mean())
                     for i in after) < config.flash_return * jump:
        return None  # the picture came back: a flash
    return Candidate(index, index - 1, "cut", 0.0)


def light_change(before: np.ndarray, after: np.ndarray) -> bool:
    """The same picture, brighter or darker (a light switched on or off): the mean steps by a
    fifth or more and the pictures stay correlated. A cut or a jump within a scene keeps the
    light, so the test leaves it alone."""
    low, high = sorted((float(before.mean()) + 1.0, float(after.mean()) + 1.0))
    return high / low > 1.2 and float(np.corrcoef(before, after)[0, 1]) > 0.9
