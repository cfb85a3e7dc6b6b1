import pytest

from schemas.sample import check_key, safe_id, sample_key, video_id_for


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
