"""The taken-id check reads the committed ids a run asks for, through the manifest parts."""
import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import VideoSource
from tests.transforms.dataset.test_parts import commit, video
from transforms.dataset.index import current_index
from transforms.known_ids import RefuseTakenIds, committed_ids


def ids_in(root, video_ids):
    return committed_ids(str(root), current_index(str(root)), video_ids)


def source(uri, video_id):
    return VideoSource(uri=uri, video_id=video_id, size=10, mtime="t")


def test_only_the_asked_ids_are_read_from_every_part(tmp_path):
    root = tmp_path / "corpus"
    first = commit(root, 1, None, [video("/v/a/0001"), video("/v/a/0002")], [], [])
    commit(root, 2, first, [video("/v/b/0003")], [], [])
    assert ids_in(root, ["0001", "0003", "0009"]) == {
        "0001": ["/v/a/0001"], "0003": ["/v/b/0003"]}
    assert ids_in(root, []) == {}
    assert ids_in(tmp_path / "empty", ["0001"]) == {}


def test_a_new_video_under_a_committed_id_of_another_uri_is_refused(tmp_path):
    root = tmp_path / "corpus"
    commit(root, 1, None, [video("/v/a/0001"), video("/v/a/0002")], [], [])
    with beam.Pipeline() as pipeline:
        checked = (pipeline
                   | beam.Create([source("/v/c/0001", "0001"), source("/v/a/0002", "0002"),
                                  source("/v/c/0005", "0005")])
                   | RefuseTakenIds(str(root), current_index(str(root)))
                   | beam.Map(lambda s: (s.uri, s.problem)))
        assert_that(checked, equal_to([("/v/c/0001", "duplicate_id"), ("/v/a/0002", None),
                                       ("/v/c/0005", None)]))
