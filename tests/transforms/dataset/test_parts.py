"""Manifests in parts: each run's rows written once, the latest row per identity read, counts
merged by addition, known videos looked up by URI bucket."""
import json

import pyarrow.parquet as pq

from schemas import manifests
from transforms.dataset import known, manifest_stats, parts
from transforms.dataset.commit import commit_version


def video(uri, status="ok", reason=None, num_kept=1):
    row = {name: None for name in manifests.VIDEOS.names}
    return {**row, "video_id": uri.rsplit("/", 1)[-1], "uri": uri, "size": 10, "mtime": "t",
            "status": status, "reason": reason, "num_candidates": 2 if status != "failed" else 0,
            "num_kept": num_kept if status == "ok" else 0}


def pair(uri, number, status="kept", reason=None, shard="shard-000000.tar"):
    row = {name: None for name in manifests.PAIRS.names}
    return {**row, "key": f"{uri.rsplit('/', 1)[-1]}-{number}", "uri": uri, "status": status,
            "reason": reason, "motion": float(number), "qc_flags": [],
            "video_id": uri.rsplit("/", 1)[-1], "shard": shard if status == "kept" else None}


def commit(folder, version, previous, videos, pairs, shards, supersedes=None, superseded=()):
    """A version committed the way a build's Finalize does, from plain rows."""
    root = str(folder)
    entry = parts.write_part(root, version, videos, pairs, supersedes or {},
                             manifest_stats.count_rows(superseded, []))
    base = previous or {"parts": [], "known": [], "shards": []}
    old = parts.version_counts(root, previous) if previous else manifest_stats.empty()
    commit_version(root, version, base["parts"] + [entry],
                   base["known"] + [{"version": version, "file": entry["known"]}],
                   [{k: v for k, v in s.items() if k != "url"} for s in base["shards"]] + shards,
                   manifest_stats.add(old, parts.part_counts(root, entry)), previous)
    return json.loads((folder / "index.json").read_text())


def test_a_retry_supersedes_the_failed_row_and_its_counts(tmp_path):
    root = tmp_path / "corpus"
    first = commit(root, 1, None,
                   [video("/v/a.mp4"), video("/v/b.mp4", "failed", "io_error")],
                   [pair("/v/a.mp4", 1), pair("/v/a.mp4", 2, "rejected", "static")],
                   [{"name": "shard-000000.tar", "num_samples": 1, "size": 1, "sha256": "x",
                     "version": 1}])
    written = {path: path.read_bytes() for path in root.rglob("versions/v000001/*")}
    second = commit(root, 2, first, [video("/v/b.mp4")],
                    [pair("/v/b.mp4", 1, shard="shard-000001.tar")],
                    [{"name": "shard-000001.tar", "num_samples": 1, "size": 1, "sha256": "y",
                      "version": 2}],
                    supersedes={"videos": ["/v/b.mp4"]},
                    superseded=[{"status": "failed", "reason": "io_error"}])
    assert {path: path.read_bytes() for path in root.rglob("versions/v000001/*")} == written
    assert [part["version"] for part in second["parts"]] == [1, 2]

    videos = parts.read_table(str(root), second, "videos").to_pylist()
    assert sorted((row["uri"], row["status"]) for row in videos) == [
        ("/v/a.mp4", "ok"), ("/v/b.mp4", "ok")]  # the failed row is superseded
    stats = json.loads((root / second["stats"]).read_text())
    assert stats["videos"] == {"total": 2, "ok": 2, "no_pairs": 0, "failed": 0}
    assert stats["video_reasons"] == {} and stats["pairs"]["kept"] == 2
    assert manifest_stats.count_parts(str(root), second) == manifest_stats.additive(stats)
    # The plain copies below the size limit hold the latest rows.
    plain = pq.read_table(root / "manifest/videos.parquet").to_pylist()
    assert [(row["uri"], row["status"]) for row in plain] == [("/v/a.mp4", "ok"),
                                                              ("/v/b.mp4", "ok")]
    found = known.Lookup(str(root), parts.known_files(second)).find(
        ["/v/a.mp4", "/v/b.mp4", "/v/new.mp4"])
    assert set(found) == {"/v/a.mp4", "/v/b.mp4"}
    assert found["/v/b.mp4"]["failed_reason"] is None  # the latest row wins


def test_a_lookup_reads_only_the_row_groups_of_its_buckets(tmp_path):
    rows = [video(f"s3://bucket/{n:06d}.mp4", "failed" if n % 7 == 0 else "ok",
                  "io_error" if n % 7 == 0 else None) for n in range(40_000)]
    path = tmp_path / "known.parquet"
    path.write_bytes(known.lookup_bytes(known.lookup_table(rows)))
    lookup = known.Lookup(str(tmp_path), ["known.parquet"])
    wanted = ["s3://bucket/000007.mp4", "s3://bucket/012345.mp4", "s3://bucket/none.mp4"]
    found = lookup.find(wanted)
    assert set(found) == set(wanted[:2])
    assert found["s3://bucket/000007.mp4"]["failed_reason"] == "io_error"
    assert found["s3://bucket/012345.mp4"]["failed_reason"] is None
    # Sorted by bucket in small row groups: the wanted buckets fall in a few row groups, the
    # only ones a filter on the bucket column reads (parquet statistics).
    footer = pq.read_metadata(path)
    ranges = [(footer.row_group(group).column(0).statistics.min,
               footer.row_group(group).column(0).statistics.max)
              for group in range(footer.num_row_groups)]
    touched = {group for group, (low, high) in enumerate(ranges)
               for wanted_bucket in {known.bucket(uri) for uri in wanted}
               if low <= wanted_bucket <= high}
    assert len(ranges) > 10 and len(touched) <= len(wanted)


def test_a_sample_is_every_row_when_small_and_bounded_when_large(tmp_path):
    root = tmp_path / "corpus"
    pairs = [pair(f"/v/{n:05d}.mp4", 1, "rejected", "static") for n in range(40_000)]
    index = commit(root, 1, None, [video(f"/v/{n:05d}.mp4") for n in range(10)], pairs, [])
    table, sampled = parts.sample(str(root), index, "pairs", 100_000, seed=0, columns=["key"])
    assert table.num_rows == 40_000 and not sampled
    table, sampled = parts.sample(str(root), index, "pairs", 5_000, seed=0, columns=["key"])
    assert sampled and 5_000 <= table.num_rows < 5_000 + parts.ROW_GROUP_ROWS
    assert len(set(table["key"].to_pylist())) == table.num_rows
    again, _ = parts.sample(str(root), index, "pairs", 5_000, seed=0, columns=["key"])
    assert again.equals(table)


def test_an_index_written_before_parts_reads_as_one_part_and_converts_once(tmp_path):
    root = tmp_path / "corpus"
    folder = root / "versions/v000003"
    folder.mkdir(parents=True)
    videos = [video("/v/a.mp4"), video("/v/b.mp4", "failed", "decode_timeout")]
    pairs = [pair("/v/a.mp4", 1)]
    pq.write_table(manifests.table(videos, manifests.VIDEOS, "uri"), folder / "videos.parquet")
    pq.write_table(manifests.table(pairs, manifests.PAIRS, "key"), folder / "pairs.parquet")
    stats = {"schema_version": 1, "videos": {"total": 2, "ok": 1, "no_pairs": 0, "failed": 1},
             "video_reasons": {"decode_timeout": 1},
             "pairs": {"candidates": 1, "kept": 1, "rejected": 0}, "pair_reasons": {},
             "triples": 1, "shards": 1}
    (folder / "stats.json").write_text(json.dumps(stats))
    legacy = {"schema_version": 1, "version": 3, "num_samples": 1,
              "shards": [{"name": "shard-000000.tar", "num_samples": 1, "size": 1,
                          "sha256": "x", "url": "shards/shard-000000.tar"}],
              "manifests": {"videos": "versions/v000003/videos.parquet",
                            "pairs": "versions/v000003/pairs.parquet"},
              "stats": "versions/v000003/stats.json"}
    assert parts.read_table(str(root), legacy, "pairs", ["key"]).num_rows == 1
    assert parts.version_counts(str(root), legacy)["videos"] == stats["videos"]

    converted = parts.convert_legacy(str(root), legacy, 4)
    assert converted["parts"][0]["videos"] == legacy["manifests"]["videos"]  # not rewritten
    assert converted["parts"][0]["rows"] == {"videos": 2, "pairs": 1}
    found = known.Lookup(str(root), parts.known_files(converted)).find(["/v/b.mp4"])
    assert found["/v/b.mp4"]["failed_reason"] == "decode_timeout"
    assert parts.part_counts(str(root), converted["parts"][0])["video_reasons"] == \
        {"decode_timeout": 1}


def test_counts_add_and_subtract_by_section():
    one = manifest_stats.count_rows([video("/a"), video("/b", "failed", "io_error")],
                                    [pair("/a", 1), pair("/a", 2, "rejected", "blurry")])
    two = manifest_stats.count_rows([video("/b")], [pair("/b", 1)])
    retry = manifest_stats.add(two, manifest_stats.count_rows(
        [{"status": "failed", "reason": "io_error"}], []), sign=-1)
    total = manifest_stats.add(one, retry)
    assert total["videos"] == {"failed": 0, "no_pairs": 0, "ok": 2, "total": 2}
    assert total["video_reasons"] == {} and total["pair_reasons"] == {"blurry": 1}
    assert total["pair_stages"] == {"filters": 1}
    assert total["action_sources"] == {"none": 2}
    assert total["funnel"] == {"kept_without_action": 2, "videos_with_candidates": 2}
