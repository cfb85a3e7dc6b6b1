from transforms.shard_plan import plan_shards


def shards_of(plan):
    found = {}
    for key, shard in sorted(plan.items()):
        found.setdefault(shard, []).append(key)
    return [found[shard] for shard in sorted(found)]


def keys(n, size=100):
    return [(f"k{i:03d}", size) for i in range(n)]


def test_rolls_over_on_count():
    assert [len(s) for s in shards_of(plan_shards(keys(10), 4, 10**9))] == [4, 4, 2]


def test_rolls_over_on_bytes_but_never_leaves_a_shard_empty():
    sizes = [("a", 60), ("b", 60), ("c", 200), ("d", 10)]
    assert shards_of(plan_shards(sizes, 100, 150)) == [["a", "b"], ["c"], ["d"]]


def test_minimum_shard_count_spreads_samples_evenly():
    assert [len(s) for s in shards_of(plan_shards(keys(10), 100, 10**9, min_shards=4))] == \
        [2, 3, 2, 3]
    # Not enough samples for the minimum: one sample per shard is the best there is.
    assert shards_of(plan_shards(keys(3), 100, 10**9, min_shards=4)) == [["k000"], ["k001"],
                                                                          ["k002"]]


def test_numbering_continues_and_order_of_input_does_not_matter():
    plan = plan_shards(list(reversed(keys(5))), 2, 10**9, first_shard=7)
    assert sorted(set(plan.values())) == [7, 8, 9] and plan["k000"] == 7

