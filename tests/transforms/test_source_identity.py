"""Duplicate inputs merge the same way whatever order they arrive in; colliding ids fail."""
import itertools
import os

from schemas.records import VideoSource
from transforms.discover import expand_input
from transforms.labels import MAX_LABEL_CHARS, clean_label
from transforms.source_identity import identity, merge_duplicates, split_collisions


def test_the_richest_description_wins_in_any_order():
    bare = VideoSource(uri="/v/a.mp4", video_id="vabc")
    labelled = VideoSource(uri="/v/a.mp4", video_id="zzz", label="open it", license="CC0")
    classed = VideoSource(uri="/v/a.mp4", video_id="aaa", class_name="doors")
    for order in itertools.permutations([bare, labelled, classed]):
        assert merge_duplicates(order) == (labelled, 2)


def test_colliding_ids_all_fail_naming_each_other():
    one, two = (VideoSource(uri=f"/v/{name}.mp4", video_id="0001") for name in "ab")
    failed = split_collisions([two, one])
    assert [s.problem for s in failed] == ["duplicate_id", "duplicate_id"]
    assert "/v/b.mp4" in failed[0].problem_detail and "/v/a.mp4" in failed[1].problem_detail
    assert split_collisions([one]) == [one]


def test_one_aurora_file_however_it_is_spelled(tmp_path, monkeypatch):
    (tmp_path / "au").mkdir()
    (tmp_path / "au" / "two.json").write_text(
        '[{"instruction": "a", "input": "x.png", "output": "y.png"}]')
    monkeypatch.chdir(tmp_path)
    spellings = ["au/two.json", "./au/two.json", str(tmp_path / "au/two.json"),
                 f"file://{tmp_path}/au//two.json"]
    found = {(s.uri, s.video_id, identity(s)) for spec in spellings for s in expand_input(spec)}
    assert len(found) == 1
    assert next(iter(found))[2] == (os.path.join(tmp_path, "au/x.png"),
                                    os.path.join(tmp_path, "au/y.png"))


def test_labels_become_one_clean_capped_line():
    assert clean_label(" push\r\nthe\x00 box\u2028now\t ") == ("push the box now", False)
    assert clean_label("\u200b \n") == (None, False)
    text, cut = clean_label("word " * 1000)
    assert cut and len(text) <= MAX_LABEL_CHARS


def test_a_bom_and_malformed_lines(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "l.csv").write_text("\ufeffuri,label\na.mp4,hi\n", encoding="utf-8")
    (tmp_path / "l.jsonl").write_text('\ufeff{"uri": "a.mp4"}\n[1]\n{bad\n'
                                      '{"uri": "a.mp4", "label": ["x"]}\n', encoding="utf-8")
    (source,) = expand_input(str(tmp_path / "l.csv"))
    assert source.uri == str(tmp_path / "a.mp4") and source.label == "hi" and not source.problem
    good, listed, broken, shaped = expand_input(str(tmp_path / "l.jsonl"))
    assert good.problem is None
    assert {listed.problem, broken.problem, shaped.problem} == {"malformed_row"}
    assert shaped.problem_detail == "row 4: 'label' is a list, not text"
    assert "not valid JSON" in broken.problem_detail and "list" in listed.problem_detail
