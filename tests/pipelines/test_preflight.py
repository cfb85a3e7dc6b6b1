"""A build with something basic missing fails at once with one clear message."""
import time

import pytest


@pytest.fixture
def good_video(video_folder):
    return video_folder / "a.mp4"


def failing(cli, *args):
    started = time.monotonic()
    done = cli("build", *args, expect=2)
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("idp-corpus build: preflight failed, nothing was started")
    return message, time.monotonic() - started


def test_unwritable_output(cli, good_video, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    message, _ = failing(cli, "--input", good_video, "--output", blocker / "corpus",
                         "--no-caption")
    assert "is not writable" in message
    assert not (blocker.parent / "corpus").exists()


def test_glob_that_matches_nothing(cli, tmp_path):
    message, _ = failing(cli, "--input", tmp_path / "nothing-*.mp4", "--output", tmp_path / "o",
                         "--no-caption")
    assert "no input matches" in message


def test_missing_model(cli, good_video, tmp_path):
    message, _ = failing(cli, "--input", good_video, "--output", tmp_path / "o",
                         "--model", tmp_path / "no-such-model")
    assert "could not caption a test pair" in message and "no-such-model" in message
    assert not (tmp_path / "o" / "shards").exists()


def test_inputs_that_are_not_decodable_videos(cli, tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"\x00" * 1000)
    message, _ = failing(cli, "--input", tmp_path / "*.mp4", "--output", tmp_path / "o",
                         "--no-caption")
    assert "none of the first inputs is a decodable video" in message


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is visible here")
def test_gpu_asked_but_none_visible(cli, good_video, tiny_vlm_path, tmp_path):
    message, _ = failing(cli, "--input", good_video, "--output", tmp_path / "o",
                         "--model", tiny_vlm_path, "--device", "cuda")
    assert "no GPU is visible" in message


def test_skip_preflight_goes_straight_to_work(cli, tmp_path):
    done = cli("build", "--input", tmp_path / "nothing-*.mp4", "--output", tmp_path / "o",
               "--no-caption", "--skip-preflight", "--direct_running_mode", "in_memory",
               expect=0)
    assert "preflight" not in done.stderr


def test_zero_triples_from_filtered_videos_is_explained(cli, tmp_path):
    from synthetic_inputs.videos import scene_video
    scene_video(str(tmp_path / "still.mp4"), num_frames=60, motion_spans=())
    done = cli("build", "--input", tmp_path / "still.mp4", "--output", tmp_path / "o",
               "--no-caption", "--direct_running_mode", "in_memory", expect=0)
    assert "0 triples" in done.stderr and "static" in done.stderr


def test_refresh_of_a_dataset_of_another_schema(cli, good_video, tmp_path):
    output = tmp_path / "o"
    output.mkdir()
    (output / "index.json").write_text('{"schema_version": "1.0", "shards": [], '
                                       '"manifests": {}, "stats": "stats.json"}')
    message, _ = failing(cli, "--input", good_video, "--output", output, "--no-caption")
    assert "schema 1.0" in message and "--mode overwrite" in message
    cli("build", "--input", good_video, "--output", output, "--no-caption",
        "--mode", "overwrite")
    assert '"version": 1' in (output / "index.json").read_text()
