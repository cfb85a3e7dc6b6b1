"""What the detector finds: transitions between shots, and the shots they leave."""
from __future__ import annotations

import dataclasses
from typing import List, NamedTuple, Tuple

KINDS = ("cut", "dissolve", "fade")


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


class Candidate(NamedTuple):
    """A transition found but not yet decided; `rank` orders blends (lower fits better);
    `spanned`: its frames are the whole transition already (a blend found by its best-fitting
    window is stretched to its whole span when decided)."""
    first: int
    last: int
    kind: str
    rank: float
    spanned: bool = False


def shots_of(transitions: List[Transition], num_frames: int) -> List[Tuple[int, int]]:
    """(first, last) frames of each shot, both included, in order; a shot may be empty
    (first > last) where two transitions touch."""
    shots, start = [], 0
    for transition in transitions:
        shots.append((start, transition.first - 1))
        start = transition.next_start
    shots.append((start, num_frames - 1))
    return shots
