from transforms.select import SelectConfig, select, stratified_top_k

# Hand-made: class "a" has the best triples, "b" middling, "c" one poor triple.
ITEMS = [("a1", -0.1, "a"), ("a2", -0.2, "a"), ("a3", -0.3, "a"), ("a4", -0.35, "a"),
         ("b1", -0.5, "b"), ("b2", -0.6, "b"), ("c1", -2.0, "c")]


def test_algorithm_1_takes_the_best_of_each_class_in_turn():
    # Round 1: a1, b1, c1 (each class's best, classes in order of their best); round 2: a2, b2.
    assert stratified_top_k(ITEMS, 5) == ["a1", "b1", "c1", "a2", "b2"]
    # Plain top-5 by score would never take c1.
    assert "c1" not in [key for key, _, _ in sorted(ITEMS, key=lambda i: -i[1])[:5]]


def test_exhausted_classes_drop_out_and_k_larger_than_all_takes_all():
    assert stratified_top_k(ITEMS, 7) == ["a1", "b1", "c1", "a2", "b2", "a3", "a4"]
    assert len(stratified_top_k(ITEMS, 100)) == 7


def test_ties_break_by_key_whatever_the_input_order():
    tied = [("k2", -1.0, "x"), ("k1", -1.0, "x"), ("k3", -1.0, "y")]
    assert stratified_top_k(tied, 2) == stratified_top_k(list(reversed(tied)), 2) == ["k1", "k3"]


def test_threshold_then_top_k_with_reasons():
    drops = select(ITEMS, SelectConfig(select_top_k=3, min_idp_score=-1.0))
    assert drops["c1"].reason == "low_idp_score" and drops["c1"].score == -2.0
    kept = {key for key, _, _ in ITEMS} - set(drops)
    assert kept == {"a1", "b1", "a2"}  # c1 gone by threshold, so round 2 starts sooner
    assert {drops[key].reason for key in drops if key != "c1"} == {"not_selected"}


def test_inactive_by_default():
    assert not SelectConfig().active and select(ITEMS, SelectConfig()) == {}
