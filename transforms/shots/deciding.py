"""Candidates become transitions once nothing found later can overlap them: of each overlapping
group the strongest kind (fade, then cut), then the best-fitting blend, and so on among those
that do not overlap what was taken."""
from __future__ import annotations

from typing import Callable, List, Tuple

from transforms.shots.transitions import Candidate, Transition

DISSOLVE_GAP = 6  # frames between two blends for them to be two transitions


class Decisions:
    """The candidates still open and the transitions decided, in frame order."""

    def __init__(self):
        self.candidates: List[Candidate] = []
        self.decided: List[Transition] = []

    def add(self, candidate) -> None:
        if candidate is not None:
            self.candidates.append(candidate)

    def decide(self, settled: int,
               whole_blend: Callable[[int, int, int], Tuple[int, int]]) -> List[Transition]:
        """Decides the groups that end before frame `settled` (candidates found later start
        at or after it); `whole_blend(first, last, floor)` gives a blend's whole span."""
        self.candidates.sort()
        out: List[Transition] = []
        while self.candidates:
            group, reach = [self.candidates[0]], max(self.candidates[0][:2])
            for candidate in self.candidates[1:]:
                if candidate[0] > reach + 1:
                    break
                group.append(candidate)
                reach = max(reach, *candidate[:2])
            if reach + 1 >= settled:
                break  # a candidate still to come may join the group
            del self.candidates[:len(group)]
            for first, last, kind, _, spanned in _strongest_apart(group):
                if self.decided and first <= self.decided[-1].last + 1:
                    continue  # touches the transition before: the same one, decided already
                if kind == "dissolve" and not spanned:
                    floor = self.decided[-1].last + 2 if self.decided else 1
                    first, last = whole_blend(first, last, floor)
                transition = Transition(first, last, kind)
                self.decided.append(transition)
                out.append(transition)
        return out


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
