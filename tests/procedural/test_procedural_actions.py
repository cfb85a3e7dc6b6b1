"""The action grammar: texts, classes, inverses, and parsing text back."""
import numpy as np
import pytest

from procedural.actions import (CLASSES, Action, action_class, action_text, inverse,
                                inverse_text, vocabulary)
from procedural.domain import apply, random_episode
from procedural.scene import Object

CIRCLE = Object("circle", "red", 0.3, 0.5, 0.12)


@pytest.fixture(scope="module")
def episodes():
    return [random_episode(np.random.default_rng([11, i])) for i in range(60)]


@pytest.mark.parametrize("action, text, inverse_expected, kind", [
    (Action("move", 0, CIRCLE, direction="left", distance=0.3),
     "move the red circle left", "move the red circle right", "move_left"),
    (Action("move", 0, CIRCLE, direction="up", distance=0.3),
     "move the red circle up", "move the red circle down", "move_up"),
    (Action("add", 1, CIRCLE), "add a red circle", "remove the red circle", "add"),
    (Action("remove", 0, CIRCLE), "remove the red circle", "add a red circle", "remove"),
    (Action("recolour", 0, CIRCLE, new_colour="blue"),
     "make the red circle blue", "make the blue circle red", "recolour"),
])
def test_text_inverse_and_class(action, text, inverse_expected, kind):
    assert action_text(action) == text
    assert action_text(inverse(action)) == inverse_expected == inverse_text(text)
    assert action_class(action) == kind and kind in CLASSES
    assert inverse(inverse(action)) == action


def test_inverse_of_a_move_starts_where_the_move_ends():
    undo = inverse(Action("move", 0, CIRCLE, direction="right", distance=0.3))
    assert undo.target.x == pytest.approx(0.6) and undo.target.y == CIRCLE.y


@pytest.mark.parametrize("text", [
    "", "move the red circle", "move the red circle left.", "Move the red circle left",
    "make the red circle red", "add the red circle", "remove a red circle",
    "move the orange circle left", "move the red hexagon left", "push the square",
    " move the red circle left"])
def test_text_outside_the_grammar_has_no_inverse(text):
    assert inverse_text(text) is None


def test_vocabulary_is_every_text_once_and_closed_under_inverse():
    texts = vocabulary()
    assert len(texts) == len(set(texts)) == 6 * 3 * (4 + 1 + 1 + 5)
    assert all(inverse_text(inverse_text(text)) == text for text in texts)
    assert {inverse_text(text) for text in texts} == set(texts)


def test_drawn_actions_round_trip(episodes):
    for scene, action in episodes:
        text = action_text(action)
        assert text in vocabulary()
        assert inverse(inverse(action)) == action
        assert inverse_text(text) == action_text(inverse(action))
        after = apply(scene, action, 1.0)
        assert apply(after, inverse(action), 1.0) == scene  # the inverse undoes it exactly
