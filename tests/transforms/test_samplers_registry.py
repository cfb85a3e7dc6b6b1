"""docs/samplers.md's example: a new sampler is a class and a registry line."""
from synthetic_inputs.videos import scene_video
from transforms import samplers
from transforms.decode_core import DecodeConfig, decode_video
from transforms.discover import expand_glob
from transforms.sample import SampleConfig


class Halves:
    def __init__(self, config):
        pass

    def pairs(self, motion, fps):
        n = len(motion)
        return [(0, n // 2), (n // 2, n - 1)] if n >= 3 else []

    def holder(self):
        return None

    def streams(self, fps):
        return None


def test_a_registered_sampler_runs_per_shot(tmp_path, monkeypatch):
    monkeypatch.setitem(samplers.REGISTRY, "halves", Halves)
    path = scene_video(str(tmp_path / "two-shots.mp4"), num_frames=80, motion_spans=((0, 80),),
                       cut_at=(40,), speed=1)
    source = expand_glob(path)[0]
    *pairs, outcome = decode_video(source, path, DecodeConfig(), SampleConfig(sampler="halves"))
    # Shots 0..37 and 42..79 (two frames either side of the cut are never sampled).
    assert [(p.meta.before_index, p.meta.after_index, p.meta.shot) for p in pairs] == [
        (0, 19, 0), (19, 37, 0), (42, 61, 1), (61, 79, 1)]
    assert outcome.num_candidates == 4 and {p.meta.sampler for p in pairs} == {"halves"}
