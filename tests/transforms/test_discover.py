import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.discover import expand_input


@pytest.fixture
def files(tmp_path):
    for name in ("b.mp4", "a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x" * 10)
    return tmp_path


def test_glob_finds_files_with_stable_ids_sizes_and_stamps(files):
    sources = expand_input(str(files / "*.mp4"))
    assert [s.uri for s in sources] == [str(files / "a.mp4"), str(files / "b.mp4")]
    assert all(s.size == 10 and s.mtime for s in sources)
    assert sources[0].video_id == expand_input(f"file://{files}/a.mp4")[0].video_id
    assert sources[0].video_id != sources[1].video_id


def test_a_folder_means_its_files(files):
    assert len(expand_input(str(files))) == 3


def test_fsspec_urls(files):
    assert [s.uri for s in expand_input(f"file://{files}/*.mp4")] == \
        [str(files / "a.mp4"), str(files / "b.mp4")]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_manifests_carry_id_label_class_and_resolve_relative_uris(files, kind):
    rows = [{"uri": "a.mp4", "id": "clip 1", "label": "open the door", "class": "door"},
            {"uri": str(files / "b.mp4"), "id": "", "label": "", "class": ""},
            {"uri": "missing.mp4", "id": "m", "label": "", "class": ""}]
    manifest = files / f"list.{kind}"
    if kind == "csv":
        manifest.write_text("uri,id,label,class\n" + "".join(
            f"{r['uri']},{r['id']},{r['label']},{r['class']}\n" for r in rows))
    elif kind == "jsonl":
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), manifest)
    first, second, missing = expand_input(str(manifest))
    assert first.uri == str(files / "a.mp4") and first.label == "open the door"
    assert first.class_name == "door" and first.video_id.startswith("clip-1-")
    assert second.label is None and second.video_id.startswith("v")
    assert missing.size is None  # kept: decode records it as not_found
