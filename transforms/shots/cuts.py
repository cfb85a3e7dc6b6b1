"""Hard cuts: the flow-compensated residual between consecutive frames, with each frame's grey
levels standardised (so a gain change such as a light switched on leaves it low; a step in
brightness between strongly correlated frames is a light change, not a cut) and taken as the
median over a 4x4 grid (so a small jumping object is not a cut), spikes well above the frames
around it (a whip pan or shake stays high for several frames), and the picture before it does
not come back within a few frames (a flash or strobe does).

A jump within a scene (a zoom or reframing cut on the same subject) is one the flow explains, so
its residual stays low; it shows as a jump in the flow itself: one frame moves many times more
than the two either side, and its plain difference stands out as much. No camera moves so: a
whip pan or a zoom speeds up and slows down over several frames, a shake moves there and back."""
from __future__ import annotations

from typing import Optional

import numpy as np

from transforms.shots.config import ShotConfig
from transforms.shots.history import FrameHistory, correlation
from transforms.shots.transitions import Candidate

# A cut's plain frame difference is at least this many times that of the frames around it.
CUT_STEP_RATIO = 1.5
# A jump's motion and plain difference are at least this many times the largest of the two
# frames either side, and it moves at least this share of the frame's width.
JUMP_RATIO = 8.0
JUMP_MIN_MOTION = 0.006
# A cut between two different pictures moves the grey-level histogram (the analysis pass's cut
# distance) this far at least, and cut_ratio times as far as the frames around it. In grainy
# footage the standardised residual is high on every frame and its spike at a cut stands out
# less (3x at a cut of the benchmark videos); the histogram does not see grain.
CHANGE_SPIKE_FLOOR = 0.25
# A relit picture keeps its fine detail: at the analysis size, the frame moved back by the flow
# correlates with the one before it at least this much (0.98 where a light comes on). A cut
# between two pictures of like layout and new texture (the same subject in the same place, a new
# background) correlates like a light change at the tiny size, but not in its detail (0.28-0.80).
DETAIL_KEPT = 0.9


def cut_at(history: FrameHistory, config: ShotConfig, flash_frames: int,
           index: int) -> Optional[Candidate]:
    """A cut just before frame `index`, if there is one; the frames up to `flash_frames` after
    it must be in `history` already."""
    if index < 1:
        return None
    if not (_residual_spike(history, config, index) or _motion_jump(history, index)
            or _change_spike(history, config, index)):
        return None
    step = history.step
    before = history.standard.get(index - 1)
    # Detail is measured only where the histogram moved far (CHANGE_SPIKE_FLOOR); below that the
    # tiny frames' test decides alone.
    if light_change(history.tiny[index - 1], history.tiny[index]) and \
            history.detail_correlation.get(index, 1.0) >= DETAIL_KEPT:
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


def _residual_spike(history: FrameHistory, config: ShotConfig, index: int) -> bool:
    residual = history.residual
    value = residual[index]
    if value < config.cut_threshold:
        return False
    around = [residual.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
    return value >= config.cut_ratio * max(around)


def _change_spike(history: FrameHistory, config: ShotConfig, index: int) -> bool:
    change = history.change
    value = change[index]
    if value < CHANGE_SPIKE_FLOOR:
        return False
    around = [change.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
    return value >= config.cut_ratio * max(around)


def _motion_jump(history: FrameHistory, index: int) -> bool:
    motion, step = history.motion, history.step
    value = motion[index]
    if value < JUMP_MIN_MOTION * history.gray_width:
        return False
    around = [k for k in (-2, -1, 1, 2) if index + k in motion]
    return len(around) == 4 and \
        value >= JUMP_RATIO * max(max(motion[index + k] for k in around), 0.05) and \
        step[index] >= JUMP_RATIO * max(max(step[index + k] for k in around), 1e-4)


def light_change(before: np.ndarray, after: np.ndarray) -> bool:
    """The same picture, brighter or darker (a light switched on or off): the mean steps by a
    fifth or more and the pictures stay correlated. A cut or a jump within a scene keeps the
    light, so the test leaves it alone."""
    low, high = sorted((float(before.mean()) + 1.0, float(after.mean()) + 1.0))
    return high / low > 1.2 and correlation(before, after) > 0.9
