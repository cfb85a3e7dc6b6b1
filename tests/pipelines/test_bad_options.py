"""Bad command lines and config values fail at once, exit 2, and say in their last line which
option is wrong and what was probably meant; nothing is started or written."""
import argparse

import pytest

from pipelines import config as build_options
from pipelines.cli import main


@pytest.fixture
def videos(tmp_path):
    from synthetic_inputs.videos import scene_video
    folder = tmp_path / "v"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        scene_video(str(folder / name), num_frames=8, width=64, height=48)
    return folder


def refused(capsys, *argv, code=2):
    assert main([str(arg) for arg in argv]) == code
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1]


@pytest.mark.parametrize("extra, message", [
    (["--min-chnage", "0.5"], "unknown option --min-chnage (did you mean --min-change?)"),
    (["--direct_runnig_mode", "in_memory"], "did you mean --direct_running_mode?"),
    (["--min-change", "0.4", "--max-change", "0.1"], "--min-change (0.4) must be < --max-change"),
    (["--min-change", "2"], "--min-change must be between 0.0 and 1.0, got 2.0"),
    (["--jpeg-quality", "500"], "--jpeg-quality must be between 1 and 100, got 500"),
    (["--max-failure-ratio", "2"], "--max-failure-ratio must be between 0.0 and 1.0"),
    (["--output-max-side", "-3"], "--output-max-side must be at least 0, got -3"),
    (["--analysis-width", "0"], "--analysis-width must be at least 16, got 0"),
    (["--shard-prefix", "../evil"], "--shard-prefix '../evil' must be a plain name"),
    (["--shard-prefix", "a/b"], "--shard-prefix 'a/b' must be a plain name"),
])
def test_bad_flags_name_the_option(capsys, tmp_path, extra, message):
    last = refused(capsys, "build", "--input", tmp_path / "*.mp4", "--output", tmp_path / "o",
                   "--no-caption", *extra)
    assert message in last and last.startswith("idp-corpus build: ")
    assert not (tmp_path / "o").exists()


def test_a_shell_expanded_glob_says_quote_it(capsys, videos, tmp_path):
    # What `--input v/*.mp4` becomes once the shell has expanded it.
    last = refused(capsys, "build", "--input", videos / "a.mp4", videos / "b.mp4",
                   "--output", tmp_path / "o", "--no-caption")
    assert "unexpected argument" in last and "b.mp4" in last and "quote it" in last


def test_commands_without_beam_options_name_the_closest_flag(capsys, tmp_path):
    last = refused(capsys, "inspect", tmp_path, "--jsn")
    assert last == "idp-corpus inspect: unknown option --jsn (did you mean --json?)"


def test_an_input_that_matches_nothing_fails_preflight(capsys, videos, tmp_path):
    last = refused(capsys, "build", "--input", videos / "*.mp4", "--input",
                   tmp_path / "typo-*.mp4", "--output", tmp_path / "o", "--no-caption")
    assert "no input matches" in last and "typo-*.mp4" in last and "--allow-empty-input" in last
    assert not (tmp_path / "o" / "index.json").exists()


def test_a_manifest_without_a_uri_column_fails_preflight(capsys, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\na.mp4,x\n")
    last = refused(capsys, "build", "--input", listing, "--output", tmp_path / "o",
                   "--no-caption")
    assert "has no 'uri' column (its columns: label, path)" in last


def config_from(tmp_path, text, *flags):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    parser = argparse.ArgumentParser()
    build_options.add_flags(parser)
    args = parser.parse_args(["--config", str(path), "--input", "x", "--output", "o", *flags])
    return build_options.build_config(args)


def test_yaml_strings_are_coerced_by_the_fields_type(tmp_path):
    config = config_from(tmp_path, 'no_caption: "false"\nmodel: m\nbatch_size: "64"\n'
                                   'filter: {min_change: "0.02"}\nisolate: "no"\n')
    assert config.caption is not None and config.caption.batch_size == 64
    assert config.filter.min_change == 0.02 and config.decode.isolate is False


@pytest.mark.parametrize("text, message", [
    ('min_change: "abc"\n', "--min-change: expected a number, got 'abc'"),
    ('batch_size: "sixty"\n', "--batch-size: expected a whole number, got 'sixty'"),
    ('no_caption: "maybe"\n', "--no-caption: expected true or false, got 'maybe'"),
    ("jpeg_quality: 0\n", "--jpeg-quality must be between 1 and 100, got 0"),
    ("min_chnage: 0.2\n", "min_chnage (did you mean min_change?)"),
    ("shard_prefix: ../x\n", "--shard-prefix '../x' must be a plain name"),
    ("min_change: [0.1\n", "cannot be read"),
])
def test_bad_yaml_values_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError) as error:
        config_from(tmp_path, text, "--no-caption")
    assert message in str(error.value)


def test_a_foreign_folder_is_not_written_into(capsys, videos, tmp_path):
    output = tmp_path / "theirs"
    (output / "shards").mkdir(parents=True)
    (output / "shards" / "shard-000000.tar").write_bytes(b"someone else's")
    last = refused(capsys, "build", "--input", videos / "*.mp4", "--output", output,
                   "--no-caption")
    assert "not an idp-corpus dataset" in last and "--mode overwrite" in last
    assert (output / "shards" / "shard-000000.tar").read_bytes() == b"someone else's"


def test_a_killed_runs_folder_is_still_ours(tmp_path):
    from pipelines.preflight import check_foreign
    (tmp_path / "staging").mkdir()
    (tmp_path / "shards").mkdir()
    args = argparse.Namespace(config=None, inputs=["x"], output=str(tmp_path), no_caption=True)
    assert check_foreign(build_options.build_config(args)) is None


def test_export_into_a_file_says_so(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    last = refused(capsys, "export", "--format", "aurora", tmp_path, target)
    assert last == (f"idp-corpus export: {str(target)!r} is a file, not a folder: give a folder "
                    "to write train.json and images/ into")


def test_beam_pipeline_options_still_pass_through():
    """The Beam options deploy/ and the portable-runner test give are not refused."""
    from pipelines.strict_args import leftover_problem
    given = ["--runner", "DataflowRunner", "--project", "p", "--region", "r", "--job_name", "j",
             "--temp_location", "gs://t", "--staging_location", "gs://s",
             "--sdk_container_image", "img", "--sdk_location", "container",
             "--experiments", "use_runner_v2", "--machine_type", "n1", "--num_workers", "2",
             "--max_num_workers", "4", "--autoscaling_algorithm", "THROUGHPUT_BASED",
             "--disk_size_gb", "50", "--labels", "app=idp-corpus", "--no_use_public_ips",
             "--service_account_email", "a@b", "--subnetwork", "s",
             "--job_endpoint", "localhost:1", "--environment_type", "EXTERNAL",
             "--environment_config", "localhost:2", "--direct_num_workers=2",
             "--direct_running_mode", "in_memory"]
    assert leftover_problem(given, argparse.ArgumentParser()) is None


def test_nan_is_not_a_threshold(capsys, tmp_path):
    last = refused(capsys, "build", "--input", tmp_path / "*.mp4", "--output", tmp_path / "o",
                   "--no-caption", "--max-cut", "nan")
    assert last == "idp-corpus build: --max-cut must be a number, got nan"


def test_a_manifest_that_is_not_utf8_says_how_to_save_it(capsys, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_bytes("uri,label\na.mp4,caf\u00e9\n".encode("latin-1"))
    last = refused(capsys, "build", "--input", listing, "--output", tmp_path / "o",
                   "--no-caption")
    assert "is not UTF-8 text" in last and "save it as UTF-8" in last


def test_an_output_whose_filesystem_is_missing(capsys, tmp_path):
    from transforms.schemes import scheme_problem
    if scheme_problem("gs://bucket/x") is None:
        pytest.skip("gcsfs is installed here")
    (tmp_path / "a.mp4").write_bytes(b"x")
    last = refused(capsys, "build", "--input", tmp_path / "*.mp4", "--output", "gs://b/corpus",
                   "--no-caption")
    assert "the output cannot be written: gs:// needs" in last and "idp-corpus[gcs]" in last
