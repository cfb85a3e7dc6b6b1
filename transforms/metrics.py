"""The pipeline's Beam counters: one namespace, one way to count, one way to total a run.

Counter names are what the build summary, the live display and the tests read:
`videos_<outcome>`, `pairs_sampled`, `dropped_<reason>`, `flagged_<flag>`, `triples_written`,
`shards_written`, and RunInference's own (`num_inferences`, ...), which it files under the
namespace its model handler names (NAMESPACE).
"""
from __future__ import annotations

import collections
from typing import Dict

from apache_beam.metrics.metric import Metrics, MetricsFilter

NAMESPACE = "idp_corpus"
DROPPED = "dropped_"


def count(name: str, value: int = 1) -> None:
    """Adds `value` to this run's counter `name`."""
    Metrics.counter(NAMESPACE, name).inc(value)


def count_dropped(reason: str) -> None:
    count(DROPPED + reason)


def dropped_by_reason(counters: Dict[str, int]) -> Dict[str, int]:
    """{reason: count} of the `dropped_<reason>` counters among `counters`."""
    return {name[len(DROPPED):]: value for name, value in counters.items()
            if name.startswith(DROPPED)}


def run_totals(result) -> Dict[str, int]:
    """A pipeline result's counters by name, summed over the steps that count them, in name
    order. Committed values where the runner reports them (work whose bundles succeeded, so a
    retried bundle counts once), attempted ones where it reports only those."""
    totals: Dict[str, int] = collections.Counter()
    for counter in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] += value or 0
    return dict(sorted(totals.items()))
