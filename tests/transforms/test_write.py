"""StageTriples then WriteShards on the real Beam runner: shards from staged images are the
bytes of writing the samples directly, and the commit's sweep leaves no staging behind."""
import dataclasses
import hashlib
import io
import json
import os

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from schemas import sample as layout
from schemas.records import StagedImages, StagedTriple
from tests.transforms.conftest import make_pair
from transforms.staging import StageTriples
from transforms.storage import STAGING_DIR, remove_temporaries
from transforms.tar_shard import write_samples
from transforms.write import SHARDS_DIR, WriteConfig, WriteShards, sample_dict, to_triple


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
    config = WriteConfig(output=output, samples_per_shard=3, mode="overwrite")
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
