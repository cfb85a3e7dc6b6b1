"""keep_or_drop: a stage decides, the helper routes and counts, for items judged alone or by group."""
import dataclasses
import functools
from typing import Optional, Tuple

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import Drop
from transforms.keep_or_drop import keep_or_drop, keep_or_drop_groups, none_dropped
from transforms.metrics import run_totals


@dataclasses.dataclass(frozen=True)
class Item:  # what the helper needs of a pair: a meta, and a caption and flags if it has them
    meta: int
    qc_flags: Tuple[str, ...] = ()


def odd_below(limit: int, item: Item) -> Optional[Drop]:
    return Drop("odd", score=item.meta) if item.meta % 2 and item.meta < limit else None


def over(group, limit: int):
    for item in group:
        yield item, (Drop("over", message=str(limit)) if item.meta > limit else None)


def test_kept_items_go_on_and_dropped_ones_become_counted_outcomes():
    pipeline = beam.Pipeline()
    items = pipeline | "Items" >> beam.Create(
        [Item(n, ("f",) if n == 3 else ()) for n in range(7)])
    each = keep_or_drop(items, "Each", functools.partial(odd_below, 5))
    assert_that(each["kept"] | "KeptMeta" >> beam.Map(lambda item: item.meta),
                equal_to([0, 2, 4, 5, 6]), label="KeptEach")
    assert_that(each["dropped"] | "Rows" >> beam.Map(
        lambda o: (o.meta, o.drop, o.caption, o.qc_flags, o.kept)),
                equal_to([(1, Drop("odd", 1), None, (), False),
                          (3, Drop("odd", 3), None, ("f",), False)]), label="DroppedEach")
    limit = pipeline | "Limit" >> beam.Create([4])
    groups = pipeline | "Groups" >> beam.Create([[Item(1), Item(5)], [Item(9)]])
    grouped = keep_or_drop_groups(groups, "ByGroup", over, beam.pvalue.AsSingleton(limit))
    assert_that(grouped["dropped"] | "Reasons" >> beam.Map(lambda o: (o.meta, o.drop.message)),
                equal_to([(5, "4"), (9, "4")]), label="DroppedGroups")
    off = none_dropped(items)
    assert_that(off["dropped"], equal_to([]), label="NoneDropped")
    result = pipeline.run()
    result.wait_until_finish()
    assert run_totals(result) == {"dropped_odd": 2, "dropped_over": 2}
