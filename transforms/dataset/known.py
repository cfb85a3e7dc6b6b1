"""Which videos a dataset already has, looked up by URI without reading them all.

Each manifest part comes with `known.parquet`: its videos' URI, size, modification time (or
etag) and, for a failed video, the failure reason, sorted by a hash bucket of the URI and
written in small row groups. A lookup of some URIs reads each lookup file's footer and only the
row groups whose bucket range holds one of their buckets, so it costs what is looked up (plus
a footer per part), not what the dataset holds. A refresh groups its discovered URIs by ranges
of buckets and looks each group up once (a partitioned join): millions of URIs read every
bucket about once, three URIs make one lookup.
"""
from __future__ import annotations

import hashlib
import io
from typing import Dict, Iterable, Optional, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from transforms.storage import filesystem, is_local, join

# Fixed for good: every lookup file ever written is sorted by it.
NUM_BUCKETS = 4096
# A lookup of a run's sources goes by ranges of buckets holding about this many sources each.
SOURCES_PER_LOOKUP = 10_000
ROW_GROUP_ROWS = 2048
KNOWN = pa.schema([
    ("bucket", pa.int32()),
    ("uri", pa.string()),
    ("size", pa.int64()),
    ("mtime", pa.string()),
    ("failed_reason", pa.string()),  # null unless the video's row says failed
])


def bucket(uri: str) -> int:
    digest = hashlib.blake2b(uri.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % NUM_BUCKETS


def bucket_range(value: str, count: int) -> int:
    """The range of buckets `value` falls in, when `count` values are looked up: about
    SOURCES_PER_LOOKUP values a range, so a small refresh looks up once and a listing of
    millions splits into ranges that each read only their share of the lookup files."""
    ranges = max(1, min(NUM_BUCKETS, -(-count // SOURCES_PER_LOOKUP)))
    return bucket(value) * ranges // NUM_BUCKETS


def lookup_table(video_rows: Iterable[dict]) -> pa.Table:
    """The lookup rows of some videos.parquet rows, sorted by (bucket, uri)."""
    rows = sorted(({"bucket": bucket(row["uri"]), "uri": row["uri"], "size": row["size"],
                    "mtime": row["mtime"],
                    "failed_reason": row["reason"] if row["status"] == "failed" else None}
                   for row in video_rows), key=lambda row: (row["bucket"], row["uri"]))
    return pa.Table.from_pylist(rows, schema=KNOWN)


def lookup_from_videos(table: pa.Table) -> pa.Table:
    """The lookup rows of a videos table (a conversion of an older dataset)."""
    failed = pc.equal(table["status"], "failed")
    buckets = pa.array([bucket(uri) for uri in table["uri"].to_pylist()], pa.int32())
    lookup = pa.table({"bucket": buckets, "uri": table["uri"], "size": table["size"],
                       "mtime": table["mtime"],
                       "failed_reason": pc.if_else(failed, table["reason"], None)}, schema=KNOWN)
    return lookup.sort_by([("bucket", "ascending"), ("uri", "ascending")])


class Lookup:
    """The lookup files of one dataset version, read as one pyarrow dataset: a filter on the
    bucket column skips every row group whose bucket range misses the wanted buckets (parquet
    statistics), and the files are scanned in parallel."""

    def __init__(self, root: str, files: Sequence[str], held: Optional[pa.Table] = None):
        """`held`: lookup rows older than every file, held in memory (a dataset written
        before lookup files, until its first refresh converts it)."""
        self._fs, base = filesystem(root)
        if is_local(self._fs):  # pyarrow's own opens thousands of files faster than fsspec's
            self._fs = pafs.LocalFileSystem()
        self._paths = [join(base, name) for name in files]
        self._held = held

    def find(self, uris: Iterable[str]) -> Dict[str, dict]:
        """{uri: its latest lookup row} for the URIs the dataset has; the others are absent."""
        uris = sorted(set(uris))
        if not uris:
            return {}
        wanted = pa.array(uris, pa.string())
        found: Dict[str, dict] = {}
        if self._held is not None:
            held = self._held.filter(pc.is_in(self._held["uri"], value_set=wanted))
            found.update((row["uri"], row) for row in held.to_pylist())
        if not self._paths:
            return found
        buckets = sorted({bucket(uri) for uri in uris})
        table = ds.dataset(self._paths, format="parquet", filesystem=self._fs).to_table(
            columns=["uri", "size", "mtime", "failed_reason", "__filename"],
            filter=ds.field("bucket").isin(buckets) & ds.field("uri").isin(uris))
        age = {path: position for position, path in enumerate(self._paths)}
        rows = sorted(table.to_pylist(), key=lambda row: age[row.pop("__filename")])
        found.update((row["uri"], row) for row in rows)  # oldest first: the latest row wins
        return found


def lookup_bytes(table: pa.Table) -> bytes:
    """A lookup file's bytes: small row groups, so that a lookup reads little."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return buffer.getvalue()
