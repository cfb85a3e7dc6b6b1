"""The dataset card (README.md) each build writes: what was run, counts, fields, loading."""
import re
import shutil

import pytest

from pipelines import config as build_options
from pipelines.card import command_line, render_card
from pipelines.cli import parser
from pipelines.readers import open_dataset
from schemas.shard_layout import METADATA_FIELDS


def flags(video_folder, output):
    return ["--input", str(video_folder / "a.mp4"), "--output", str(output), "--no-caption",
            "--min-gap", "15", "--no-isolate", "--samples-per-shard", "2", "--skip-preflight"]


@pytest.fixture(scope="module")
def dataset(video_folder, tmp_path_factory, build):
    folder = tmp_path_factory.mktemp("card") / "corpus"
    build(*flags(video_folder, folder), "--direct_running_mode", "in_memory")
    return folder, open_dataset(str(folder))


def config_for(video_folder, output):
    args, _ = parser().parse_known_args(["build", *flags(video_folder, output)])
    return build_options.build_config(args)


def test_the_card_says_what_was_run_and_what_came_out(dataset, video_folder):
    folder, committed = dataset
    card = (folder / "README.md").read_text(encoding="utf-8")
    command = re.search(r"```bash\n(.*)\n```", card).group(1)
    assert command.startswith("idp-corpus build --no-caption --skip-preflight")
    for part in (f"--input {video_folder / 'a.mp4'}", "--min-gap 15", "--no-isolate",
                 "--samples-per-shard 2", "--output DATASET", "--direct_running_mode in_memory"):
        assert part in command
    assert str(folder) not in card  # the card never names its own folder
    assert f"| triples | {committed.stats['triples']} |" in card
    for reason, count in committed.stats["pair_reasons"].items():
        assert f"| {reason} | {count} |" in card
    assert all(f"| `{name}` |" in card for name in METADATA_FIELDS)
    assert "| apache-beam |" in card and "| --min-gap | 15 |" in card
    assert "built with `--no-caption`" in card


def test_the_loading_snippet_runs(dataset):
    folder, committed = dataset
    card = (folder / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    loop = snippet.replace("DATASET", str(folder)).replace("    ...", "    seen.append(meta)")
    scope = {"seen": []}
    exec(compile(loop, "README.md", "exec"), scope)  # noqa: S102 - our own card's snippet
    assert len(scope["seen"]) == committed.stats["triples"] > 0


def test_the_card_is_the_same_wherever_the_dataset_is(dataset, video_folder, tmp_path):
    folder, _ = dataset
    copy = tmp_path / "elsewhere"
    shutil.copytree(folder, copy)
    card = render_card(open_dataset(str(copy)), config_for(video_folder, copy),
                       ["--direct_running_mode", "in_memory"])
    assert card.encode("utf-8") == (folder / "README.md").read_bytes()


def test_command_line_round_trips_through_the_parser(video_folder, tmp_path):
    config = config_for(video_folder, tmp_path / "x")
    words = command_line(config).replace("DATASET", str(tmp_path / "x")).split()[1:]
    args, beam_args = parser().parse_known_args(words)
    assert build_options.build_config(args) == config and beam_args == []
