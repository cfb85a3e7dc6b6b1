"""A runner that loses elements must not produce a dataset that silently lacks them."""
import pytest

from pipelines import config as build_options
from pipelines.build import run
from pipelines.cli import parser
from synthetic_inputs.videos import scene_video
from transforms import keep_or_drop


def test_a_pair_lost_between_decoding_and_writing_stops_the_commit(tmp_path, monkeypatch):
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    videos.mkdir()
    for seed in range(2):
        scene_video(str(videos / f"v{seed}.mp4"), num_frames=60, width=96, height=72,
                    seed=seed, motion_spans=((5, 25), (35, 55)), speed=2)
    check = keep_or_drop._DecideEachFn.process  # the filter's, the one judge of a --no-caption run
    swallowed = []

    def lose_one(self, pair, *side_inputs):  # what a faulty runner does: the element is gone
        if not swallowed:
            swallowed.append(pair.key)
            return
        yield from check(self, pair, *side_inputs)

    monkeypatch.setattr(keep_or_drop._DecideEachFn, "process", lose_one)
    args, beam_args = parser().parse_known_args(
        ["build", "--input", str(videos / "*"), "--output", str(output), "--no-caption",
         "--direct_running_mode", "in_memory"])
    with pytest.raises(Exception, match="LostPairs: .* The runner lost elements"):
        run(build_options.build_config(args), beam_args)
    assert swallowed and not (output / "index.json").exists()
