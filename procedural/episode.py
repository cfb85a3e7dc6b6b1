"""One synthetic sample: a scene, the action performed on it, three other actions that could have
been (verifier candidates), and how a video of it unfolds frame by frame.

Pure: an episode depends only on (seed, index), not on how many others are drawn beside it.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator, Tuple

import numpy as np

from procedural.domain import Action, Scene, action_text, apply, distinct_actions, random_episode
from procedural.render import render

ALTERNATIVES = 3


@dataclasses.dataclass(frozen=True)
class Episode:
    id: str
    scene: Scene  # before the action
    action: Action
    alternatives: Tuple[Action, ...]  # other actions on the same scene, texts all different
    order: Tuple[int, ...]  # candidate order: 0 is the true after, k the k-th alternative

    @property
    def answer(self) -> int:
        return self.order.index(0)


def episode_id(seed: int, index: int) -> str:
    return f"s{seed}-{index:05d}"


def draw_episode(seed: int, index: int) -> Episode:
    rng = np.random.default_rng([seed, index])
    while True:  # a scene with too few other actions to offer is drawn again
        scene, action = random_episode(rng)
        alternatives = distinct_actions(scene, rng, ALTERNATIVES, exclude=[action_text(action)])
        if len(alternatives) == ALTERNATIVES:
            order = tuple(int(k) for k in rng.permutation(ALTERNATIVES + 1))
            return Episode(episode_id(seed, index), scene, action, tuple(alternatives), order)


def progress_at(frame: int, frames: int) -> float:
    """The action's progress at a frame: held at 0 for the first quarter, even steps through the
    middle half, held at 1 for the last quarter; so frame 0 is the before image and the last
    frame the after image."""
    if frames < 4:
        raise ValueError(f"a video needs at least 4 frames, not {frames}")
    hold = frames // 4
    return float(np.clip((frame - hold + 1) / (frames - 2 * hold + 1), 0.0, 1.0))


def video_frames(episode: Episode, size: int, frames: int) -> Iterator[np.ndarray]:
    for frame in range(frames):
        yield render(apply(episode.scene, episode.action, progress_at(frame, frames)), size)
