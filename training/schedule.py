"""The data order and learning-rate schedule of a run: both functions of the step alone, so a run
resumed from a checkpoint sees exactly the batches and rates the uninterrupted run would."""
from __future__ import annotations

import math
from typing import List

import numpy as np


def batch_indices(step: int, batch_size: int, num_examples: int, seed: int) -> List[int]:
    """The examples of a step: epochs are seeded permutations, read in order."""
    first = step * batch_size
    indices: List[int] = []
    while len(indices) < batch_size:
        epoch, offset = divmod(first + len(indices), num_examples)
        order = np.random.default_rng([seed, epoch]).permutation(num_examples)
        indices.extend(int(i) for i in order[offset:offset + batch_size - len(indices)])
    return indices


def warmup_cosine(warmup: int, total: int, floor: float = 0.05):
    """Multiplier of the peak learning rate at a step: linear warm-up, cosine decay to floor."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor
