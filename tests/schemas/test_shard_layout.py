import pytest

from schemas.shard_layout import check_key, safe_id, sample_key, video_id_for


@pytest.mark.parametrize("text", ["../../etc/passwd", "a/b", "clip.v2", "x\\y", "..", "",
                                  "naïve 'quoted' \"name\"", "-rf"])
def test_ids_from_any_text_are_safe_keys(text):
    key = sample_key(safe_id(text) if text else video_id_for(text), 1, 2)
    assert "/" not in key and "\\" not in key and "." not in key
    check_key(key)


def test_safe_ids_are_readable_when_possible_and_distinct_when_not():
    assert safe_id("clip_0001") == "clip_0001"
    assert safe_id("a/b") != safe_id("a.b")  # both slug to "a-b": the hash tells them apart


@pytest.mark.parametrize("key", ["a.b", "a/b", "../x", "", "-x", "a b"])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_each_readable_version_is_judged_by_its_own_fields(monkeypatch):
    """A dataset keeps the samples earlier versions wrote: a sample of an older readable version
    is valid without the fields added after it, a current one needs them, an unknown is not."""
    from schemas import shard_layout
    monkeypatch.setattr(shard_layout, "METADATA_FIELDS",
                        {**shard_layout.METADATA_FIELDS, "new_field": "x"})
    monkeypatch.setattr(shard_layout, "READABLE_VERSIONS", ("1.1", "9.9"))
    monkeypatch.setattr(shard_layout, "FIELDS_ADDED", {"9.9": ("new_field",)})
    old = {name: None for name in shard_layout.fields_of("1.1")} | {"schema_version": "1.1"}
    assert "new_field" not in old and shard_layout.is_valid_metadata(old)
    assert not shard_layout.is_valid_metadata({**old, "schema_version": "9.9"})
    assert shard_layout.is_valid_metadata({**old, "schema_version": "9.9", "new_field": 1})
    assert not shard_layout.is_valid_metadata({**old, "schema_version": "0.1"})
    assert not shard_layout.is_valid_metadata({k: v for k, v in old.items() if k != "fps"})
    assert shard_layout.field_since("new_field") == "9.9" and shard_layout.field_since("fps") == ""
