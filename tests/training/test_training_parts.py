"""The pure parts of train-idp and eval-idp: data order, split, schedule, metrics."""
import pytest

from training import metrics
from training.config import TrainConfig
from training.examples import Example, split
from training.schedule import batch_indices, warmup_cosine


def test_batches_walk_seeded_epochs_and_depend_on_the_step_alone():
    steps = [batch_indices(step, 4, 10, seed=3) for step in range(5)]
    flat = [i for batch in steps for i in batch]
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))
    assert flat[:10] != flat[10:20]  # a new permutation each epoch
    assert batch_indices(3, 4, 10, seed=3) == steps[3]  # what a resumed run sees
    assert batch_indices(0, 4, 10, seed=4) != steps[0]


def test_warmup_then_cosine_to_the_floor():
    factor = warmup_cosine(warmup=10, total=110, floor=0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.55)
    assert factor(110) == pytest.approx(0.1) and factor(500) == pytest.approx(0.1)


def _example(key, group, action="a"):
    return Example(key, b"", b"", action, group)


def test_split_keeps_image_groups_whole_and_is_seeded():
    examples = [_example(f"{g}-{order}", f"g{g}") for g in range(200) for order in (0, 1)]
    train, held = split(examples, 0.2, seed=1)
    held_groups = {e.group for e in held}
    assert held_groups.isdisjoint({e.group for e in train})
    assert len(held) == 2 * len(held_groups)  # both orders of a held-out pair are held out
    assert 0.1 < len(held) / len(examples) < 0.3
    assert split(examples, 0.2, seed=1) == (train, held)
    assert split(examples, 0.2, seed=2)[1] != held


def test_caption_metrics_normalise_case_spacing_and_final_period():
    assert metrics.exact_match(["Move the red circle left."], ["move the  red circle left"]) == 1
    perfect = metrics.caption_metrics(["add a red circle"] * 3, ["add a red circle"] * 3)
    assert perfect == {"exact_match": 1.0, "bleu": pytest.approx(1.0), "rouge_l": 1.0}
    partial = metrics.caption_metrics(["move the red circle left"], ["move the blue circle left"])
    assert partial["exact_match"] == 0 and 0 < partial["bleu"] < 1
    assert partial["rouge_l"] == pytest.approx(0.8)


def test_swap_and_verifier_metrics():
    assert metrics.swap_consistency(["add a red circle", "x"], ["add a red circle", None]) == 1
    assert metrics.swap_consistency(["x"], [None]) is None
    # A tie is a miss: a model that scores every candidate alike must not pass by order.
    assert metrics.verifier_accuracy([[-1, -2], [-3, -3], [-5, -1]], [0, 0, 1]) == pytest.approx(2 / 3)


def test_train_config_needs_one_starting_point():
    with pytest.raises(ValueError):
        TrainConfig(data="d", output="o")
    with pytest.raises(ValueError):
        TrainConfig(data="d", output="o", model="m", tiny=True)
    assert TrainConfig(data="d", output="o", tiny=True).steps > 0
