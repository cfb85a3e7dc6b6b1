"""Shot boundaries found in the analysis pass, from the small grey frames it already decodes.

Three kinds of transition, each tested where it can be told apart from camera work:
- `cut`: the flow-compensated residual between consecutive frames, with each frame's grey
  levels standardised (so a gain change such as a light switched on leaves it low; a step in
  brightness between strongly correlated frames is a light change, not a cut) and taken
  as the median over a 4x4 grid (so a small jumping object is not a cut), spikes well
  above the frames around it (a whip pan or shake stays high for several frames), and the
  picture before it does not come back within a few frames (a flash or strobe does).
- `dissolve`: a window whose inner frames are, pixel for pixel, the blends of its two ends in
  proportion (a pan or zoom leaves a double image, far from the frame in between), whose ends
  differ after standardisation (a gain ramp does not) over much of the picture (an object
  fading in or out blends one region only) and where no single step holds most of the change
  (a cut).
- `fade`: a run of flat frames (black, white, a colour card) with content on both sides; the
  span reaches back while contrast falls into it and on while contrast rises out of it.

Causal with a bounded lookahead: a transition is decided `lookahead` frames after it ends
(the longest dissolve plus about 0.3 s: 37 frames at 25 fps; a fade also waits for its flat run
to end), and its span never reaches back further than `edge_reach` frames before the frames
already settled (`confirmed_through`). Memory is about twice `lookahead` tiny frames (64 px
wide, float32: 9 KiB each, kept twice: as they are and standardised), whatever the length.
The thresholds are SampleConfig's `--shot-*` options (transforms/sample.py).
"""
from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

TINY_WIDTH = 64  # the frames blends and returns are compared on: cheap, and blind to noise
KINDS = ("cut", "dissolve", "fade")
# A cut's plain frame difference is at least this many times that of the frames around it.
CUT_STEP_RATIO = 1.5
# Grey levels by which a coarse cell must change to count towards a dissolve's area.
AREA_CHANGE_LEVELS = 8.0
DISSOLVE_GAP = 6  # frames between two blends for them to be two transitions
DISSOLVE_EVERY = 2  # windows are tried ending at every other frame: a blend spans many


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


@dataclasses.dataclass(frozen=True)
class Transition:
    """Frames first..last (both included) belong to no shot; the next shot starts at last + 1.
    A cut has no frame of its own: first == last + 1, the new shot's first frame."""
    first: int
    last: int
    kind: str

    @property
    def next_start(self) -> int:
        return self.last + 1


def shots_of(transitions: List[Transition], num_frames: int) -> List[Tuple[int, int]]:
    """(first, last) frames of each shot, both included, in order; a shot may be empty
    (first > last) where two transitions touch."""
    shots, start = [], 0
    for transition in transitions:
        shots.append((start, transition.first - 1))
        start = transition.next_start
    shots.append((start, num_frames - 1))
    return shots


def _spread_residual(warped: np.ndarray, previous: np.ndarray) -> float:
    """The median over a 4x4 grid of the mean residual in each cell: a cut changes the whole
    picture, an object that jumps (or a fixture's square wrapping round) a few cells."""
    cells = cv2.resize(cv2.absdiff(warped, previous), (4, 4), interpolation=cv2.INTER_AREA)
    return float(np.median(cells))


def _standardised(image: np.ndarray):
    """(The image with zero mean and about unit spread, its standard deviation); the spread's
    guard keeps noise in flat frames from being blown up."""
    mean, std = cv2.meanStdDev(image)
    scaled = (image.astype(np.float32) - np.float32(mean[0, 0])) / np.float32(std[0, 0] + 4.0)
    return scaled, float(std[0, 0])


class ShotDetector:
    """Frames are pushed in order (their small grey image, and the current frame warped onto the
    previous one by the optical flow); transitions come out as they are decided."""

    def __init__(self, config: ShotConfig, fps: float):
        self._config = config
        fps = fps if fps > 0 else 25.0
        self._flash_frames = max(2, int(round(0.12 * fps)))
        self._min_len = max(3, int(round(config.min_dissolve_seconds * fps)))
        self._max_len = max(self._min_len + 1, int(round(config.max_dissolve_seconds * fps)))
        self._len_step = max(1, int(round(fps / 25)))
        self._length_bonus = 0.05 / fps  # per frame: 0.05 of misfit per second of blend
        self.lookahead = self._max_len + self._flash_frames + 4
        self._keep = self._max_len + self.lookahead + 8
        self._count = 0
        self._tiny: Dict[int, np.ndarray] = {}
        self._standard: Dict[int, np.ndarray] = {}
        self._residual: Dict[int, float] = {}
        self._step: Dict[int, float] = {}
        self._std: Dict[int, float] = {}
        self._decided: List[Transition] = []  # final, in order
        self._candidates: List[Tuple[int, int, str, float]] = []  # (first, last, kind, rank)
        self._blank_from: Optional[int] = None  # first frame of the flat run going on
        self._pending_fade: Optional[Tuple[int, int]] = None  # (flat run's first, its end)
        self._truly_flat = False  # the flat run going on has a frame below blank_std
        self._previous_z: Optional[np.ndarray] = None  # the last small frame, standardised
        self._ring: Optional[np.ndarray] = None
        self._standard_ring: Optional[np.ndarray] = None

    @property
    def transitions(self) -> List[Transition]:
        return list(self._decided)

    def decided_since(self, count: int) -> List[Transition]:
        """The transitions decided after the first `count`."""
        return self._decided[count:]

    @property
    def edge_reach(self) -> int:
        """Frames before a transition's first that its margin can reach, at most."""
        return 3 * self._max_len + 1  # a blend's reach back, and its span again

    @property
    def confirmed_through(self) -> int:
        """No transition decided later touches a frame at or before this one."""
        limit = self._settled_before(self._count - 1) - 1
        for first, _, _, _ in self._candidates:
            limit = min(limit, first - 1)
        return limit

    def _settled_before(self, index: int) -> int:
        """Candidates found from frame `index` on start at or after this frame."""
        limit = index - self.lookahead
        for flat_start in (self._blank_from, self._pending_fade and self._pending_fade[0]):
            if flat_start is not None:
                limit = min(limit, flat_start - self._max_len)
        return limit

    def push(self, gray: np.ndarray, warped: Optional[np.ndarray]) -> List[Transition]:
        """Frame `count` (its small grey image, and the same frame warped onto the previous
        one, None for the first); the transitions decided now."""
        index = self._count
        self._count += 1
        height = max(2, int(round(gray.shape[0] * TINY_WIDTH / gray.shape[1])))
        tiny = cv2.resize(gray, (TINY_WIDTH, height), interpolation=cv2.INTER_AREA)
        tiny = tiny.astype(np.float32).ravel()
        self._width = TINY_WIDTH
        standard, std = _standardised(tiny)
        self._tiny[index], self._std[index], self._standard[index] = tiny, std, standard
        if self._ring is None:  # the same frames as rows, for tests on many windows at once
            self._ring = np.zeros((self._keep, tiny.size), np.float32)
            self._standard_ring = np.zeros_like(self._ring)
        self._ring[index % self._keep] = tiny
        self._standard_ring[index % self._keep] = standard
        current_z = _standardised(gray)[0]
        previous = index - 1
        if warped is None or previous not in self._tiny:
            self._residual[index] = self._step[index] = 0.0
        else:
            self._step[index] = float(cv2.norm(tiny, self._tiny[previous], cv2.NORM_L1)
                                      / tiny.size / 255.0)
            flat = std < self._config.blank_std or self._std[previous] < self._config.blank_std
            self._residual[index] = 0.0 if flat else _spread_residual(
                _standardised(warped)[0], self._previous_z)
        self._previous_z = current_z
        self._fade_at(index)
        self._cut_at(index - self._flash_frames)
        if index % DISSOLVE_EVERY == 0:
            self._dissolve_at(index - 2)
        self._forget(index - self._keep)
        return self._decide(index)

    def finish(self) -> List[Transition]:
        """The end of the video: every transition still open is decided (or dropped)."""
        end = self._count
        for index in range(max(0, end - self._flash_frames), end):
            self._cut_at(index, at_end=True)
        self._blank_from = self._pending_fade = None  # a fade out at the end parts no shots
        return self._decide(end + self._keep)

    # -- hard cuts ---------------------------------------------------------------------------
    def _cut_at(self, index: int, at_end: bool = False) -> None:
        if index < 1:
            return
        config = self._config
        value = self._residual[index]
        if value < config.cut_threshold:
            return
        around = [self._residual.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
        if value < config.cut_ratio * max(around):
            return
        before = self._standard.get(index - 1)
        if _light_change(self._tiny[index - 1], self._tiny[index]):
            return
        steps = [self._step.get(index + k, 0.0) for k in (-2, -1, 1, 2)]
        if self._step.get(index, 0.0) < CUT_STEP_RATIO * float(np.median(steps)):
            return  # the picture changed no more than around it: the flow slipped, no cut
        jump = float(np.abs(self._standard[index] - before).mean())
        after = [i for i in range(index + 1, index + 1 + self._flash_frames) if i in self._standard]
        if after and min(float(np.abs(self._standard[i] - before).mean())
                         for i in after) < config.flash_return * jump:
            return  # the picture came back: a flash
        self._candidates.append((index, index - 1, "cut", 0.0))

    # -- fades -------------------------------------------------------------------------------
    def _flat(self, index: int) -> bool:
        """Flat, or a contrast dip to a small share of a moment ago (the middle of a fade out
        straight into a fade in)."""
        std = self._std[index]
        earlier = self._std.get(index - self._max_len, 0.0)
        return std < self._config.blank_std or std < min(0.15 * earlier,
                                                         3 * self._config.blank_std)

    def _fade_at(self, index: int) -> None:
        blank = self._flat(index)
        if blank and self._blank_from is None:
            self._blank_from, self._truly_flat = index, False
        if blank:
            self._truly_flat |= self._std[index] < self._config.blank_std
        elif not blank and self._blank_from is not None:
            start, self._blank_from = self._blank_from, None
            # A long run of low contrast that is never flat is a dim shot, not a fade's dip.
            if start > 0 and (self._truly_flat or index - start <= 2 * self._flash_frames):
                self._pending_fade = (start, index)
        if self._pending_fade is None:
            return
        start, end = self._pending_fade
        # The fade in is over once contrast stops rising (or after the longest fade).
        rising = index - end < self._max_len and (
            index == end or self._std[index] > self._std[index - 1] * 1.02)
        if rising and not blank:
            return
        self._pending_fade = None
        if blank:  # flat again at once: the fade goes on into this new flat run
            return
        first = start
        while (start - first < self._max_len and first - 1 in self._std and first - 1 > 0
               and self._std[first - 1] > self._std[first] * 1.02):
            first -= 1
        last = max(index - 1, end - 1)
        if (start - first) + (last - end + 1) < 3 and end - start < self._flash_frames + 2:
            return  # a few flat frames with abrupt edges: a flash to white, not a fade
        before, after = self._standard.get(first - 1), self._standard[last + 1]
        if before is not None and float(np.abs(after - before).mean()) < \
                self._config.dissolve_min_change:
            return  # the same picture on both sides: a flash to white, or a blink
        self._candidates.append((first, last, "fade", 0.0))

    # -- dissolves ---------------------------------------------------------------------------
    def _dissolve_at(self, end: int) -> None:
        """Windows (end - length, end) whose inner frames blend their ends. The cheap tests run
        on every window length at once; the blend itself only where they pass."""
        config = self._config
        lengths = [length for length in range(self._min_len, self._max_len + 1, self._len_step)
                   if end - length in self._tiny]
        if end not in self._tiny or not lengths:
            return
        b = self._tiny[end]
        if float(np.abs(self._tiny[end - lengths[0]] - b).mean()) < 0.02 * 255 and \
                float(np.abs(self._tiny[end - lengths[-1]] - b).mean()) < 0.04 * 255:
            return  # hardly anything changed over the shortest and the longest window
        rows = (end - np.asarray(lengths)) % len(self._ring)
        a = self._ring[rows]
        far = np.abs(a - b).mean(axis=1) / 255.0
        changed = np.abs(self._standard_ring[rows] - self._standard[end]).mean(axis=1)
        steps = np.maximum.accumulate([self._step[end - k] for k in range(lengths[-1])])
        most = steps[np.asarray(lengths) - 1]  # the largest step inside each window
        possible = (far >= 0.04) & (changed >= config.dissolve_min_change) & (most <= 0.4 * far)
        best = None
        for row in np.flatnonzero(possible):
            length, start = lengths[row], end - lengths[row]
            earlier = self._tiny.get(start - length)
            if earlier is not None and \
                    far[row] < 1.4 * float(np.abs(a[row] - earlier).mean() / 255.0):
                continue  # changing as fast before it: camera or subject motion
            coarse_a, coarse_b = self._coarse(a[row]), self._coarse(b)
            if float((np.abs(coarse_a - coarse_b) > AREA_CHANGE_LEVELS).mean()) < \
                    config.dissolve_min_area:
                continue  # a blend of a region only: an object fading in or out
            misfit = 0.0
            for share in (0.25, 0.5, 0.75):
                inner = self._coarse(self._tiny[start + int(round(share * length))])
                misfit += float(np.abs(inner - ((1 - share) * coarse_a + share * coarse_b)).mean())
            fit = misfit / 3 / 255.0 / max(float(np.abs(coarse_a - coarse_b).mean()) / 255.0,
                                           1e-6)
            if fit >= config.dissolve_blend:
                continue
            middle = self._tiny[start + length // 2]
            if _edges(middle, self._width) < 0.7 * _edges((a[row] + b) / 2, self._width):
                continue  # blurred, not blended: a whip pan
            # Any stretch of a blend is a blend too: of those that fit, the longer is the whole.
            rank = fit - self._length_bonus * length
            if best is None or rank < best[3]:
                best = (start + 1, end - 1, "dissolve", rank)
        if best is not None:
            self._candidates.append(best)

    # -- deciding ----------------------------------------------------------------------------
    def _decide(self, index: int) -> List[Transition]:
        """Candidates far enough behind `index` that nothing later can overlap them: of each
        overlapping group, the strongest kind (fade, then cut), then the best-fitting blend,
        and so on among those that do not overlap what was taken."""
        settled = self._settled_before(index)
        self._candidates.sort()
        out: List[Transition] = []
        while self._candidates:
            group, reach = [self._candidates[0]], max(self._candidates[0][:2])
            for candidate in self._candidates[1:]:
                if candidate[0] > reach + 1:
                    break
                group.append(candidate)
                reach = max(reach, *candidate[:2])
            if reach + 1 >= settled:
                break  # a candidate still to come may join the group
            del self._candidates[:len(group)]
            for first, last, kind, _ in _strongest_apart(group):
                if self._decided and first <= self._decided[-1].last + 1:
                    continue  # touches the transition before: the same one, decided already
                if kind == "dissolve":
                    first, last = self._whole_blend(first, last)
                transition = Transition(first, last, kind)
                self._decided.append(transition)
                out.append(transition)
        return out

    def _coarse(self, tiny: np.ndarray) -> np.ndarray:
        image = tiny.reshape(-1, self._width)
        return cv2.resize(image, (self._width // 4, max(1, image.shape[0] // 4)),
                          interpolation=cv2.INTER_AREA)

    def _whole_blend(self, first: int, last: int) -> Tuple[int, int]:
        """A blend's span reaches on either side while the picture keeps changing at the pace
        it changed inside (the window that fitted best may be only the blend's middle)."""
        inside = [self._step[i] for i in range(first, last + 2) if i in self._step]
        if not inside:
            return first, last
        pace = float(np.median(inside))
        # At most as far again as the window itself: past the blend a moving shot keeps a
        # pace of its own.
        limit = min(self._max_len - (last - first + 1), last - first + 1)
        while limit > 0 and self._step.get(last + 2, 0.0) >= 0.7 * pace and \
                last + 3 in self._step:
            last, limit = last + 1, limit - 1
        floor = self._decided[-1].last + 2 if self._decided else 1
        while limit > 0 and self._step.get(first, 0.0) >= 0.7 * pace and first - 1 >= floor \
                and first - 1 in self._step:
            first, limit = first - 1, limit - 1
        return first, last

    def _forget(self, index: int) -> None:
        for store in (self._tiny, self._standard, self._residual, self._step, self._std):
            store.pop(index, None)


def _light_change(before: np.ndarray, after: np.ndarray) -> bool:
    """The same picture, brighter or darker (a light switched on or off): the mean steps by a
    fifth or more and the pictures stay correlated. A cut or a jump within a scene keeps the
    light, so the test leaves it alone."""
    low, high = sorted((float(before.mean()) + 1.0, float(after.mean()) + 1.0))
    return high / low > 1.2 and float(np.corrcoef(before, after)[0, 1]) > 0.9


def _edges(tiny: np.ndarray, width: int) -> float:
    image = tiny.reshape(-1, width)
    return float(np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean())


def _strongest_apart(group):
    """The candidates taken from an overlapping group, in frame order: the best, then the best
    of those apart from it, and so on."""
    taken = []
    for candidate in sorted(group, key=lambda c: (-_rank(c), c[3], c[0])):
        low, high = candidate[0], max(candidate[:2])
        gap = 1 if candidate[2] == "cut" else DISSOLVE_GAP  # a blend's pieces are one blend
        if all(low > max(t[:2]) + gap or high < t[0] - gap for t in taken):
            taken.append(candidate)
    return sorted(taken)


def _rank(candidate) -> float:
    """Fades outrank cuts (the edges of a flat run are steps too); cuts outrank blends."""
    return {"fade": 2.0, "cut": 1.0, "dissolve": 0.0}[candidate[2]]
