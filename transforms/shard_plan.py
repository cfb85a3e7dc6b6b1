"""Which triple goes to which shard: deterministic, from keys and sizes alone.

Shards roll over on a sample count or a byte size, whichever comes first; when that gives fewer
shards than trainers need (data-loader workers x ranks) and there are enough samples, the
samples are spread evenly over the minimum instead.
"""
from __future__ import annotations

from typing import Dict, List, Tuple


def plan_shards(sizes: List[Tuple[str, int]], max_samples: int, max_bytes: int,
                min_shards: int = 1, first_shard: int = 0) -> Dict[str, int]:
    """{key: shard number} for (key, tar bytes) pairs, in key order."""
    ordered = sorted(sizes)
    groups: List[List[str]] = []
    count = used = 0
    for key, size in ordered:
        if not groups or count == max_samples or (count and used + size > max_bytes):
            groups.append([])
            count = used = 0
        groups[-1].append(key)
        count += 1
        used += size
    target = min(min_shards, len(ordered))  # fewer samples than the minimum: one per shard
    if len(groups) < target:
        keys = [key for key, _ in ordered]
        groups = [keys[len(keys) * i // target:len(keys) * (i + 1) // target]
                  for i in range(target)]
    return {key: first_shard + number for number, group in enumerate(groups) for key in group}
