"""Rendering: deterministic pixels, objects where the scene puts them, smooth video timelines."""
import numpy as np
import pytest

from procedural import visibility
from procedural.domain import Action, apply, random_scene
from procedural.episode import draw_episode, progress_at, video_frames
from procedural.render import render
from procedural.scene import BACKGROUND_STYLES, PALETTE, Background, Object, Scene


def _scene(style="plain", objects=()):
    return Scene(Background(style, (40, 45, 50), (60, 40, 40), 0.1, True, seed=7), tuple(objects))


def test_render_is_deterministic_rgb_of_the_size_asked():
    scene = random_scene(np.random.default_rng(0))
    image = render(scene, 96)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert np.array_equal(image, render(scene, 96))
    assert not np.array_equal(image, render(random_scene(np.random.default_rng(1)), 96))


@pytest.mark.parametrize("style", BACKGROUND_STYLES)
def test_every_background_style_passes_the_blur_and_dark_filters(style):
    assert visibility.keeps_scene(render(_scene(style), 128))


def test_objects_land_where_the_scene_puts_them_in_their_colour():
    square = Object("square", "green", 0.25, 0.75, 0.12)
    image = render(_scene(objects=[square]), 128).astype(int)
    empty = render(_scene(), 128).astype(int)
    top_row = image[int((0.75 - 0.11) * 128), int(0.25 * 128)]  # the lit top: the full colour
    assert np.abs(top_row - PALETTE["green"]).max() <= 8
    inside = np.zeros((128, 128), bool)
    inside[int(0.63 * 128) + 1:int(0.87 * 128) - 1, int(0.13 * 128) + 1:int(0.37 * 128) - 1] = True
    changed = np.abs(image - empty).sum(axis=2) > 0
    assert changed[inside].all() and changed[~inside].mean() < 0.02  # only its one-pixel edge


def test_fades_and_blends_are_in_between():
    circle = Object("circle", "white", 0.5, 0.5, 0.15)
    scene = _scene(objects=[circle])
    centre = (64, 64)
    empty = render(_scene(), 128)[centre].astype(float)
    full = render(scene, 128)[centre].astype(float)
    half = render(apply(scene, Action("remove", 0, circle), 0.5), 128)[centre].astype(float)
    assert np.allclose(half, (empty + full) / 2, atol=1.5)
    blue = render(apply(scene, Action("recolour", 0, circle, new_colour="blue"), 1.0), 128)
    blend = render(apply(scene, Action("recolour", 0, circle, new_colour="blue"), 0.5), 128)
    assert np.allclose(blend[centre], (full + blue[centre]) / 2, atol=1.5)


def test_video_timeline_holds_a_quarter_at_each_end_and_steps_evenly():
    progress = [progress_at(frame, 24) for frame in range(24)]
    assert progress[:6] == [0.0] * 6 and progress[18:] == [1.0] * 6
    steps = np.diff(progress[5:19])
    assert np.allclose(steps, 1 / 13)
    with pytest.raises(ValueError):
        progress_at(0, 3)


def test_video_frames_start_at_before_and_end_at_after():
    episode = draw_episode(0, 3)
    frames = list(video_frames(episode, 64, 12))
    assert len(frames) == 12
    assert np.array_equal(frames[0], render(episode.scene, 64))
    assert np.array_equal(frames[-1], render(apply(episode.scene, episode.action, 1.0), 64))
