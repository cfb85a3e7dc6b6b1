"""WebDataset tar shards written with the standard library.

The same bytes as `webdataset.TarWriter(stream, mtime=0, user="idp", group="idp", mode=0o444)`
(a test holds them equal), without its import: `import webdataset` imports torch, about 1.3
CPU-seconds in every worker that writes a shard.

A sample's members (headers, data, padding) hold no offsets, so a sample's bytes are the same
wherever it lands: samples can be made apart and a shard is their concatenation plus the end.
"""
from __future__ import annotations

import tarfile
from typing import BinaryIO, Dict, Iterable

OWNER = "idp"
MODE = 0o444


def sample_bytes(sample: Dict[str, bytes]) -> bytes:
    """One tar member `<__key__>.<field>` per field of the sample, fields in sorted order."""
    key = sample["__key__"]
    parts = []
    for field in sorted(sample):
        if field.startswith("_"):
            continue
        data = sample[field]
        info = tarfile.TarInfo(f"{key}.{field}")
        info.size, info.mtime, info.mode = len(data), 0, MODE
        info.uname = info.gname = OWNER
        parts += [info.tobuf(tarfile.DEFAULT_FORMAT, tarfile.ENCODING, "surrogateescape"), data,
                  tarfile.NUL * (-len(data) % tarfile.BLOCKSIZE)]
    return b"".join(parts)


def end_of_archive(length: int) -> bytes:
    """What closes a tar of `length` bytes: two zero blocks, then zeros to a whole record."""
    length += 2 * tarfile.BLOCKSIZE
    return tarfile.NUL * (2 * tarfile.BLOCKSIZE + -length % tarfile.RECORDSIZE)


def write_samples(stream: BinaryIO, samples: Iterable[Dict[str, bytes]]) -> None:
    length = 0
    for sample in samples:
        data = sample_bytes(sample)
        stream.write(data)
        length += len(data)
    stream.write(end_of_archive(length))
