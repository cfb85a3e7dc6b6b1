import pytest

from pipelines.cli import parser
from pipelines.config import build_config


def config_of(*argv):
    args, beam_args = parser().parse_known_args(["build", *argv])
    return build_config(args), beam_args


def test_yaml_file_then_flags_override(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("input: ['a/*.mp4', 'b.csv']\noutput: out\nmodel: m\n"
                    "sample: {num_keyframes: 8, min_gap: 10}\nmax_cut: 0.2\nbatch_size: 32\n")
    config, beam_args = config_of("--config", str(path), "--min-gap", "30", "--runner",
                                  "DirectRunner")
    assert config.discover.inputs == ("a/*.mp4", "b.csv")
    assert config.sample.num_keyframes == 8 and config.sample.min_gap == 30
    assert config.filter.max_cut == 0.2 and config.caption.batch_size == 32
    assert config.caption.model == "m" and config.write.output == "out"
    assert beam_args == ["--runner", "DirectRunner"]


def test_defaults_are_the_papers():
    config, _ = config_of("--input", "x", "--output", "o", "--no-caption")
    assert (config.sample.sampler, config.sample.num_keyframes, config.sample.min_gap) == \
        ("keyframes", 6, 20)
    assert config.caption is None


@pytest.mark.parametrize("argv, message", [
    (["--output", "o", "--no-caption"], "no input"),
    (["--input", "x", "--no-caption"], "no output"),
    (["--input", "x", "--output", "o"], "no model"),
    (["--input", "x", "--output", "o", "--no-caption", "--sampler", "nope"], "unknown sampler"),
])
def test_missing_or_bad_options_fail_before_any_work(argv, message):
    with pytest.raises(ValueError, match=message):
        config_of(*argv)


def test_unknown_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("input: x\noutput: o\nno_caption: true\nnum_keyframe: 3\n")
    with pytest.raises(ValueError, match="num_keyframe"):
        config_of("--config", str(path))


def test_every_option_has_help():
    build = parser()._subparsers._group_actions[0].choices["build"]
    for action in build._actions:
        if action.dest not in ("help",):
            assert action.help and "] (default" not in action.help, action.dest
