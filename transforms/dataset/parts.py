"""A dataset's manifests in parts, listed by the index the way table formats list data files.

Each run writes its own rows once, as one part under its version folder: `videos.parquet`,
`pairs.parquet`, `known.parquet` (its videos by URI bucket, transforms/dataset/known.py) and
`part.json` (the part's counts and the rows it supersedes). A version's index lists the parts
it is made of, oldest first: a refresh lists the old parts and its own, and rewrites none.

The rule every reader applies: a later row supersedes an earlier row with the same identity
(a video's URI, a pair's key); the latest row per identity wins. A retried video's new row
replaces its failed one this way. Each part names the identities it supersedes, so a reader
streaming the parts drops superseded rows without a pass over the others.

Datasets written before parts list one videos.parquet and pairs.parquet per version
(`index["manifests"]`); they read as one part, and their first refresh converts the index
(transforms/dataset/commit.py).
"""
from __future__ import annotations

import io
import json
import random
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from schemas import manifests
from transforms.dataset import known as lookup, manifest_stats
from transforms.dataset.layout import converted_files, part_files
from transforms.storage import committed_file, create_bytes, filesystem, is_local, join

IDENTITY = {"videos": "uri", "pairs": "key"}
SCHEMAS = {"videos": manifests.VIDEOS, "pairs": manifests.PAIRS}
BATCH_ROWS = 65536
# Up to this many pair rows, each commit also writes the plain-named manifest copies
# (manifest/videos.parquet, pairs.parquet: a pass over every row); above it readers use the parts.
PLAIN_COPY_MAX_ROWS = 250_000
# Row groups of a part: the unit a sample draws and a filter on sorted keys skips.
ROW_GROUP_ROWS = 4096
# A sample draws its row groups from parts holding this many times the rows it wants.
SAMPLE_SPREAD = 8


def parquet_bytes(table: pa.Table, row_group_rows: Optional[int] = None) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=row_group_rows)
    return buffer.getvalue()


def json_bytes(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def read_json(url: str) -> dict:
    fs, path = filesystem(url)
    with fs.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def listed_parts(index: dict) -> List[dict]:
    """The parts an index lists, oldest first. An index written before parts lists one part."""
    if "parts" in index:
        return index["parts"]
    return [{"version": index.get("version", 1), "videos": index["manifests"]["videos"],
             "pairs": index["manifests"]["pairs"], "meta": None, "supersedes": {}}]


def known_files(index: dict) -> List[str]:
    """The lookup files of the index's videos, oldest first (none for an index written before
    parts). Each entry of index["known"] names the version whose videos its file holds."""
    return [entry["file"] for entry in index.get("known", [])]


def part_counts(root: str, part: dict) -> dict:
    """What a part adds to the version's counts (its rows' counts minus what it supersedes)."""
    return read_json(join(root, part["meta"]))["counts"]


def version_counts(root: str, index: dict) -> dict:
    """The additive counts of a version: its stats.json's, or, where that was written before
    some section existed, one pass over its rows."""
    stats = read_json(join(root, index["stats"]))
    if manifest_stats.complete(stats):
        return manifest_stats.additive(stats)
    return manifest_stats.count_parts(root, index)


def _superseded_later(root: str, parts: Sequence[dict], name: str) -> List[frozenset]:
    """For each part, the identities that later parts supersede: its rows to drop."""
    sets = [frozenset(read_json(join(root, part["meta"]))["supersedes"][name])
            if part.get("supersedes", {}).get(name) else frozenset() for part in parts]
    dropped, later = [], frozenset()
    for own in reversed(sets):
        dropped.append(later)
        later = later | own
    return dropped[::-1]


def arrow_filesystem(root: str):
    """(filesystem for pyarrow, path of root): pyarrow's own for local folders (a dataset of
    thousands of parts opens faster than through fsspec), fsspec's, wrapped, elsewhere."""
    fs, base = filesystem(root)
    if is_local(fs):
        return pafs.LocalFileSystem(), base
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), base


def fragments(root: str, index: dict, name: str, versions: Optional[set] = None,
              positions: Optional[set] = None
              ) -> Iterator[Tuple[ds.Fragment, Optional[ds.Expression]]]:
    """(file fragment, filter dropping its superseded rows) of listed parts, oldest first: the
    parts read as one pyarrow dataset, fragment by fragment. `versions`: only the parts those
    versions added; `positions`: only the parts at those places in the list."""
    parts = listed_parts(index)
    dropped = _superseded_later(root, parts, name)
    chosen = [position for position, part in enumerate(parts)
              if (versions is None or part["version"] in versions)
              and (positions is None or position in positions)]
    fs, base = arrow_filesystem(root)
    parquet = ds.ParquetFileFormat()
    for position in chosen:
        # One fragment at a time: a fragment keeps its footer once scanned, and thousands of
        # parts' footers held together would grow with the dataset.
        fragment = parquet.make_fragment(join(base, parts[position][name]), filesystem=fs)
        later = dropped[position]
        yield fragment, ~ds.field(IDENTITY[name]).isin(sorted(later)) if later else None


def both(left: Optional[ds.Expression], right: Optional[ds.Expression]):
    return right if left is None else left if right is None else left & right


def scan(root: str, index: dict, name: str, columns: Optional[List[str]] = None,
         filter: Optional[ds.Expression] = None, versions: Optional[set] = None,
         batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The latest rows of a manifest ("videos" or "pairs"), part by part in batches, with
    column projection and a filter pushed into the scan. Columns a part was written without
    (an older schema) read as nulls."""
    for fragment, keep in fragments(root, index, name, versions):
        yield from fragment.to_batches(schema=SCHEMAS[name], columns=columns,
                                       filter=both(filter, keep), batch_size=batch_rows)


def projected(name: str, columns: Optional[List[str]]) -> pa.Schema:
    return SCHEMAS[name] if columns is None else pa.schema(
        [SCHEMAS[name].field(column) for column in columns])


def read_table(root: str, index: dict, name: str, columns: Optional[List[str]] = None,
               filter: Optional[ds.Expression] = None,
               versions: Optional[set] = None) -> pa.Table:
    """The latest rows as one table: for small selections (a filter, a few columns)."""
    return pa.Table.from_batches(list(scan(root, index, name, columns, filter, versions)),
                                 schema=projected(name, columns))


def _draw(sizes: List[int], wanted: int, rng: random.Random) -> List[int]:
    """Positions drawn at random until their sizes add up to `wanted`, in position order."""
    order, chosen, total = rng.sample(range(len(sizes)), len(sizes)), [], 0
    for position in order:
        if total >= wanted:
            break
        chosen.append(position)
        total += sizes[position]
    return sorted(chosen)


def sample(root: str, index: dict, name: str, max_rows: int, seed: int,
           columns: Optional[List[str]] = None) -> Tuple[pa.Table, bool]:
    """(latest rows, whether they are a sample): every row when the parts hold at most
    `max_rows`; else parts drawn at random (seeded, by the row counts in the index) until they
    hold SAMPLE_SPREAD times `max_rows`, and whole row groups of those drawn until `max_rows`.
    Reads the drawn parts' footers and the drawn row groups only."""
    rng = random.Random(seed)
    rows = [part.get("rows", {}).get(name) for part in listed_parts(index)]
    whole = None in rows or sum(rows) <= max_rows
    picked = None if whole else set(_draw(rows, SAMPLE_SPREAD * max_rows, rng))
    groups = [(group, keep) for fragment, keep in fragments(root, index, name, None, picked)
              for group in fragment.split_by_row_group()]
    chosen = list(range(len(groups)))
    if not whole:
        chosen = _draw([sum(info.num_rows for info in group.row_groups) for group, _ in groups],
                       max_rows, rng)
    batches, total = [], 0
    for position in chosen:  # a row group larger than wanted (an older part's) is cut short
        group, keep = groups[position]
        for batch in group.to_batches(schema=SCHEMAS[name], columns=columns, filter=keep,
                                      batch_size=ROW_GROUP_ROWS):
            if not whole and total >= max_rows:
                break
            batches.append(batch)
            total += batch.num_rows
    return pa.Table.from_batches(batches, schema=projected(name, columns)), not whole


def total_rows(index: dict, name: str) -> int:
    """Rows in the listed parts, superseded ones included (from the index alone)."""
    return sum(part["rows"][name] for part in listed_parts(index) if "rows" in part)


def write_part(root: str, version: int, video_rows: List[dict], pair_rows: List[dict],
               supersedes: Dict[str, List[str]], superseded_counts: dict,
               tmp_dir: Optional[str] = None) -> dict:
    """Writes one run's part under its version folder; returns its index entry. Its files are
    created only if absent, their temporaries in `tmp_dir` (the run's own folder).

    `supersedes` names the identities of earlier rows this part replaces and
    `superseded_counts` what those rows counted, which the part's counts subtract."""
    videos = manifests.table(video_rows, manifests.VIDEOS, "uri")
    pairs = manifests.table(pair_rows, manifests.PAIRS, "key")
    videos_bytes, pairs_bytes = (parquet_bytes(videos, ROW_GROUP_ROWS),
                                 parquet_bytes(pairs, ROW_GROUP_ROWS))
    added = manifest_stats.add(manifest_stats.count_videos(videos),
                               manifest_stats.count_pairs(pairs))
    counts = manifest_stats.add(added, superseded_counts, sign=-1)
    entry = {"version": version, **part_files(version),
             "rows": {"videos": videos.num_rows, "pairs": pairs.num_rows},
             "supersedes": {name: len(values) for name, values in supersedes.items()}}
    create_bytes(join(root, entry["videos"]), videos_bytes, tmp_dir)
    create_bytes(join(root, entry["pairs"]), pairs_bytes, tmp_dir)
    create_bytes(join(root, entry["known"]), lookup.lookup_bytes(
        lookup.lookup_table(video_rows)), tmp_dir)
    create_bytes(join(root, entry["meta"]), json_bytes(
        {"counts": counts, "added": added, "superseded": superseded_counts,
         "supersedes": {name: sorted(values) for name, values in supersedes.items()}}), tmp_dir)
    return entry


def write_streamed_part(root: str, version: int, video_tables: Iterator[pa.Table],
                        pair_tables: Iterator[pa.Table], tmp_dir: Optional[str] = None) -> dict:
    """Writes a part from tables that arrive one at a time (a rewrite of every row, as a
    re-caption does), in bounded memory; it supersedes nothing, so the version that lists it
    lists no other part. Returns its index entry."""
    files = part_files(version)
    entry = {"version": version, "videos": files["videos"], "pairs": files["pairs"],
             "meta": files["meta"], "rows": {}, "supersedes": {}}
    counts = manifest_stats.empty()
    for name, tables, columns, count in (
            ("videos", video_tables, manifest_stats.VIDEO_COLUMNS, manifest_stats.count_videos),
            ("pairs", pair_tables, manifest_stats.PAIR_COLUMNS, manifest_stats.count_pairs)):
        entry["rows"][name] = 0
        with committed_file(join(root, entry[name]), tmp_dir, exclusive=True) as tmp:
            with pq.ParquetWriter(tmp, SCHEMAS[name], compression="zstd") as writer:
                for table in tables:
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                    counts = manifest_stats.add(counts, count(table.select(columns)))
                    entry["rows"][name] += table.num_rows
    create_bytes(join(root, entry["meta"]), json_bytes(
        {"counts": counts, "added": counts, "superseded": manifest_stats.empty(),
         "supersedes": {}}), tmp_dir)
    return entry


def convert_legacy(root: str, index: dict, version: int, tmp_dir: Optional[str] = None) -> dict:
    """The index of a dataset written before parts, as parts: its one videos.parquet and
    pairs.parquet become the first part (not rewritten), with a lookup file and counts written
    under the new version's folder. Visible only with the new index, so the conversion is
    atomic; it happens once, at the first refresh after the upgrade."""
    if "parts" in index:
        return index
    (part,) = listed_parts(index)
    files = converted_files(version)
    fs, base = filesystem(root)
    rows = {}
    for name in ("videos", "pairs"):
        with fs.open(join(base, part[name]), "rb") as handle:
            rows[name] = pq.read_metadata(handle).num_rows
    converted = {"version": part["version"], "videos": part["videos"], "pairs": part["pairs"],
                 "meta": files["meta"], "rows": rows, "supersedes": {}}
    known = files["known"]
    create_bytes(join(root, known), lookup.lookup_bytes(legacy_lookup(root, index)), tmp_dir)
    create_bytes(join(root, converted["meta"]), json_bytes(
        {"counts": version_counts(root, index), "supersedes": {}}), tmp_dir)
    return {**index, "parts": [converted],
            "known": [{"version": part["version"], "file": known}]}


def legacy_lookup(root: str, index: dict) -> pa.Table:
    """The lookup rows of a dataset written before parts, from its one videos manifest."""
    fs, path = filesystem(join(root, index["manifests"]["videos"]))
    with fs.open(path, "rb") as handle:
        videos = pq.read_table(handle, columns=["uri", "size", "mtime", "status", "reason"])
    return lookup.lookup_from_videos(videos)


def committed_lookup(root: str, index: Optional[dict]) -> lookup.Lookup:
    """The lookup of the videos a committed version holds (empty for a new dataset)."""
    if index is None:
        return lookup.Lookup(root, [])
    if "parts" not in index:  # written before parts: its one videos manifest, read whole once
        return lookup.Lookup(root, [], held=legacy_lookup(root, index))
    return lookup.Lookup(root, known_files(index))


def named_files(index: dict) -> List[str]:
    """Every file an index names, relative to the dataset folder."""
    names = [index["stats"], *known_files(index)]
    for part in listed_parts(index):
        names += [part[name] for name in ("videos", "pairs", "meta", "known") if part.get(name)]
    return sorted(set(names) | {shard["url"] for shard in index["shards"]})
