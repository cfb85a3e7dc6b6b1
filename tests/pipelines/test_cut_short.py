"""A video whose decoding fails after some of its pairs are out: those pairs are kept and
counted, its manifest row says what cut it short, and a retry of failed videos leaves it alone
(retrying it would write its first pairs twice)."""
import pyarrow.parquet as pq

from pipelines import config as build_options
from pipelines.build import run
from pipelines.cli import parser
from pipelines.validate import validate
from synthetic_inputs.videos import scene_video
from transforms import video_io


def build(videos, output, *extra):
    args, beam_args = parser().parse_known_args(
        ["build", "--input", str(videos / "*"), "--output", str(output), "--no-caption",
         "--no-isolate", "--direct_running_mode", "in_memory", "--sampler", "stride",
         "--stride-seconds", "0.4", "--shots", "off", *extra])  # pairs out as they come
    return run(build_options.build_config(args), beam_args)


def rows(output, name):
    return {r["uri"].rsplit("/", 1)[-1]: r
            for r in pq.read_table(output / "manifest" / name).to_pylist()}


def test_pairs_out_before_a_failure_are_kept_and_counted(tmp_path, monkeypatch):
    videos, output = tmp_path / "videos", tmp_path / "corpus"
    videos.mkdir()
    for name, seed in (("cut.mp4", 1), ("whole.mp4", 2)):
        scene_video(str(videos / name), num_frames=60, width=96, height=72, seed=seed,
                    motion_spans=((5, 25), (35, 55)), speed=2)
    decode = video_io.PyAVVideo._decode

    def give_up_at_frame_25(self, container, wanted_pts=None):
        for made, frame in enumerate(decode(self, container, wanted_pts)):
            if made == 25 and self._path.endswith("cut.mp4"):
                raise EOFError("the decoder gave up")
            yield frame
    monkeypatch.setattr(video_io.PyAVVideo, "_decode", give_up_at_frame_25)
    build(videos, output)

    videos_table = rows(output, "videos.parquet")
    cut, whole = videos_table["cut.mp4"], videos_table["whole.mp4"]
    # Frames 0 to 24 were decoded: pairs (0, 10) and (10, 20) were out.
    assert (cut["status"], cut["reason"], cut["num_candidates"]) == ("ok", "decode_failed", 2)
    assert cut["message"].startswith("stopped after 2 pairs, which are kept: ")
    assert cut["decoder"] == "pyav" and cut["num_frames"] == 60  # not redone with decord
    assert (whole["status"], whole["reason"], whole["num_candidates"]) == ("ok", None, 5)
    pairs = pq.read_table(output / "manifest/pairs.parquet").to_pylist()
    assert sorted((p["before_frame"], p["after_frame"]) for p in pairs
                  if p["uri"].endswith("cut.mp4")) == [(0, 10), (10, 20)]
    assert validate(str(output)) == []

    monkeypatch.undo()
    build(videos, output, "--retry-failed", "all")
    assert rows(output, "videos.parquet")["cut.mp4"] == cut
    keys = [p["key"] for p in pq.read_table(output / "manifest/pairs.parquet").to_pylist()]
    assert len(keys) == len(set(keys)) == len(pairs)
