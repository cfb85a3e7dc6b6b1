import numpy as np

from transforms.change_map import change_map, from_npy, to_npy
from transforms.decode_core import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.sample import SampleConfig


def test_change_is_where_things_moved():
    before = np.full((64, 64, 3), 100, np.uint8)
    after = before.copy()
    after[0:16, 48:64] = 255  # one corner patch of a 4x4 grid changes
    grid = change_map(before, after, grid=4).astype(np.float32)
    assert grid[0, 3] > 0.5 and np.delete(grid.ravel(), 3).max() == 0


def test_images_of_different_sizes_are_compared_aligned():
    before = np.zeros((40, 60, 3), np.uint8)
    assert change_map(before, np.zeros((80, 120, 3), np.uint8), grid=16).max() == 0


def test_npy_round_trip_is_float16_and_pickle_free():
    grid = change_map(np.zeros((32, 32, 3), np.uint8), np.ones((32, 32, 3), np.uint8) * 255)
    data = to_npy(grid)
    assert data.startswith(b"\x93NUMPY") and from_npy(data).dtype == np.float16
    assert from_npy(data).shape == (16, 16)


def test_on_a_real_video_pair_the_moving_square_lights_up(scene_path):
    source = expand_glob(scene_path)[0]
    *pairs, _ = decode_video(source, scene_path, DecodeConfig(),
                             SampleConfig(sampler="stride", stride_seconds=0.4))
    moving = next(p for p in pairs if (p.meta.before_index, p.meta.after_index) == (30, 40))
    still = next(p for p in pairs if (p.meta.before_index, p.meta.after_index) == (10, 20))
    grid = change_map(moving.before, moving.after).astype(np.float32)
    # The square (height/4 tall, centred vertically) moved along one band of rows.
    band = grid[6:10]
    assert band.max() > 0.2 and np.delete(grid, range(5, 11), axis=0).max() < 0.05
    assert change_map(still.before, still.after).astype(np.float32).max() < 0.05
