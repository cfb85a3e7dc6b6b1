"""StageTriples then WriteShards on the real Beam runner: shards from staged images are the
bytes of writing the samples directly, and the commit's sweep leaves no staging behind."""
import dataclasses
import hashlib
import io
import json
import os

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas import shard_layout as layout
from schemas.records import StagedImages, StagedTriple
from tests.transforms.conftest import make_pair
from transforms import staging
from transforms.staged_images import read_many
from transforms.staging import StageTriples
from transforms.dataset.layout import SHARDS_DIR, STAGING_DIR
from transforms.storage import remove_temporaries
from transforms.tar_shard import write_samples
from transforms.write import WriteConfig, WriteShards, sample_dict, to_triple


def flags_of(key):  # one triple gets a flag after staging, as caption QC does: KEY.json has it
    return ("caption_charset",) if key == "k03" else ()


def flag(triple):
    return dataclasses.replace(triple, qc_flags=flags_of(triple.key))


def expected_sample(triple):
    unstaged = StagedTriple(triple.meta, triple.caption, StagedImages("", 0, (0, 0, 0)),
                            flags_of(triple.key))
    return sample_dict(unstaged, (triple.before_jpeg, triple.after_jpeg, triple.change_npy))


def test_shards_from_staged_images_are_the_bytes_of_writing_the_samples_directly(tmp_path):
    triples = [to_triple((make_pair(f"k{i:02d}", seed=i), None), 90) for i in (4, 0, 6, 2, 5, 1, 3)]
    output = str(tmp_path / "out")
    config = WriteConfig(output=output, samples_per_shard=3)
    with beam.Pipeline() as pipeline:
        staged = pipeline | beam.Create(triples) | StageTriples(output) | beam.Map(flag)
        written = staged | WriteShards(config)
        assert_that(written["kept"] | beam.Map(lambda outcome: (outcome.meta.key, outcome.shard)),
                    equal_to([(f"k{i:02d}", layout.shard_name(i // 3)) for i in range(7)]),
                    label="kept")
        index_entries = written["shards"] | beam.Map(json.dumps, sort_keys=True)
        index_entries | beam.io.WriteToText(str(tmp_path / "entries"), shard_name_template="")

    by_key = sorted(triples, key=lambda triple: triple.key)
    for number, members in enumerate([by_key[0:3], by_key[3:6], by_key[6:]]):
        expected = io.BytesIO()
        write_samples(expected, [expected_sample(triple) for triple in members])
        with open(os.path.join(output, SHARDS_DIR, layout.shard_name(number)), "rb") as shard:
            assert shard.read() == expected.getvalue()
    entries = [json.loads(line) for line in open(tmp_path / "entries")]
    for entry in entries:
        data = open(os.path.join(output, SHARDS_DIR, entry["name"]), "rb").read()
        assert (entry["size"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert sum(entry["num_samples"] for entry in entries) == 7

    staged = [name for _, _, names in os.walk(os.path.join(output, STAGING_DIR)) for name in names]
    assert staged  # the samples went through staging files...
    assert len(remove_temporaries(output)) == len(staged)  # ...which the commit's sweep removes
    assert sorted(os.listdir(output)) == [SHARDS_DIR]


def stage_and_read_at_once(output):
    """Stages 7 triples and reads each back in the step fused after staging, as the caption
    stage does; returns {key: images read} and the sent-on triples' staging files."""
    triples = [to_triple((make_pair(f"k{i:02d}", seed=i), None), 90) for i in range(7)]
    expected = {t.key: (t.before_jpeg, t.after_jpeg, t.change_npy) for t in triples}
    with beam.Pipeline() as pipeline:
        read_at_once = (pipeline | beam.Create(triples, reshuffle=False) | StageTriples(output)
                        | beam.Map(lambda staged: (staged.key, read_many([staged.images])[0])))
        assert_that(read_at_once, equal_to(sorted(expected.items())))


def test_a_staged_triple_is_sent_on_once_its_file_is_complete(tmp_path, monkeypatch):
    """A step fused after staging reads at once; a file still open has part of its bytes in a
    buffer (and on an object store is not there at all: tests/pipelines/test_object_store.py).
    Files roll every ROLL_TRIPLES, so the next step need not wait for the whole bundle."""
    monkeypatch.setattr(staging, "ROLL_TRIPLES", 3)
    stage_and_read_at_once(str(tmp_path))
    files = [name for _, _, names in os.walk(tmp_path / STAGING_DIR) for name in names]
    assert len(files) == 3  # 3 + 3 + 1 triples
