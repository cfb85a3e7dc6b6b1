"""The last line of a failed command is its root cause and the step it happened in, however
Beam wrapped it; the traceback stays above it."""
import errno
import io

import apache_beam as beam
import pytest

from pipelines import failure
from pipelines.build import pipeline_options
from pipelines.cli import main


def _no_space(_):
    raise OSError(errno.ENOSPC, "No space left on device", "/data/out/staging/ab.tmp-stage")


@pytest.mark.parametrize("mode", ["multi_threading", "in_memory"])
def test_no_space_inside_a_beam_step(mode):
    pipeline = beam.Pipeline(options=pipeline_options(["--direct_running_mode", mode]))
    _ = pipeline | beam.Create([1]) | "Stage/Stage" >> beam.Map(_no_space)
    with pytest.raises(Exception) as error:
        pipeline.run().wait_until_finish()
    assert failure.describe(error.value, "/data/out") == (
        "no space left on device: '/data/out/staging/ab.tmp-stage' while staging images under "
        "/data/out")
    stream = io.StringIO()
    assert failure.report("build", error.value, "/data/out", stream) == 1
    lines = stream.getvalue().strip().splitlines()
    assert "Traceback" in stream.getvalue() and lines[-1].startswith(
        "idp-corpus build failed: no space left on device")


def test_a_wrapped_traceback_text_gives_its_innermost_error():
    text = ("Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n    raise X\n"
            "RuntimeError: transforms.finalize.TooManyFailures: 3 of 3 videos failed. Nothing "
            "was committed. [while running 'Finalize/Commit']")
    cause = failure.root_cause(RuntimeError(text))
    assert (cause.kind, cause.step) == ("TooManyFailures", "Finalize/Commit")
    assert failure.describe(RuntimeError(text), "out") == (
        "3 of 3 videos failed. Nothing was committed (while committing the dataset at out)")


def test_a_chained_error_outside_beam():
    try:
        try:
            raise KeyError("shards/x.tar")
        except KeyError as inner:
            raise RuntimeError("writing the report failed") from inner
    except RuntimeError as outer:
        assert failure.describe(outer) == "KeyError: 'shards/x.tar'"


def test_a_step_outside_the_pipeline_is_named():
    with pytest.raises(failure.StepFailed) as error:
        with failure.step("writing the report"):
            {}["shards/x.tar"]
    assert failure.describe(error.value) == "KeyError: 'shards/x.tar' while writing the report"


def test_a_build_that_fails_in_the_pipeline_ends_with_its_cause(cli, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("uri\ngone-1.mp4\ngone-2.mp4\n")
    done = cli("build", "--input", listing, "--output", tmp_path / "out", "--no-caption",
               "--skip-preflight", expect=1)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("idp-corpus build failed: 2 of 2 videos failed (more than 50%)")
    assert last.endswith(f"(while committing the dataset at {tmp_path / 'out'})")
    assert not (tmp_path / "out" / "index.json").exists()


def test_any_command_ends_with_its_cause(capsys, tmp_path):
    (tmp_path / "index.json").write_text("{not json")
    assert main(["inspect", str(tmp_path)]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("idp-corpus inspect failed: JSONDecodeError: ")


def test_a_real_build_on_a_full_disk_names_the_cause_and_the_step(capsys, monkeypatch,
                                                                   tmp_path):
    """The whole build, in this process (in_memory), with staging files that cannot be created
    as on a full disk: the last line is the cause and the step, not Beam's wrapper."""
    from synthetic_inputs.videos import scene_video
    from transforms import staging

    def full_disk(fn):
        raise OSError(errno.ENOSPC, "No space left on device", f"{fn._folder}/x.tmp-stage")

    monkeypatch.setattr(staging._StageFn, "_open", full_disk)
    scene_video(str(tmp_path / "a.mp4"), num_frames=12, width=64, height=48,
                motion_spans=((1, 11),))
    output = tmp_path / "out"
    code = main(["build", "--input", str(tmp_path / "*.mp4"), "--output", str(output),
                 "--no-caption", "--sampler", "first_last", "--skip-preflight",
                 "--direct_running_mode", "in_memory"])
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert code == 1 and "Traceback" in err
    assert last.startswith("idp-corpus build failed: no space left on device: ")
    assert last.endswith(f"while staging images under {output}")
    assert not (output / "index.json").exists()
