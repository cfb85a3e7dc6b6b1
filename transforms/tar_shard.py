"""WebDataset tar shards written with the standard library.

The same bytes as `webdataset.TarWriter(stream, mtime=0, user="idp", group="idp", mode=0o444)`
(a test holds them equal), without its import: `import webdataset` imports torch, about 1.3
CPU-seconds in every worker that writes a shard.

A sample's members (headers, data, padding) hold no offsets: a shard is its samples' bytes one
after another plus the end, and a sample's length follows from its key and field sizes alone
(`sample_length`: the shard plan sizes samples whose images wait in staging files).
"""
from __future__ import annotations

import tarfile
from typing import BinaryIO, Dict, Iterable

OWNER = "idp"
MODE = 0o444


def _header(key: str, field: str, size: int) -> bytes:
    info = tarfile.TarInfo(f"{key}.{field}")
    info.size, info.mtime, info.mode = size, 0, MODE
    info.uname = info.gname = OWNER
    return info.tobuf(tarfile.DEFAULT_FORMAT, tarfile.ENCODING, "surrogateescape")


def _fields(sample: Dict[str, object]):
    return sorted(field for field in sample if not field.startswith("_"))


def sample_bytes(sample: Dict[str, bytes]) -> bytes:
    """One tar member `<__key__>.<field>` per field of the sample, fields in sorted order."""
    parts = []
    for field in _fields(sample):
        data = sample[field]
        parts += [_header(sample["__key__"], field, len(data)), data,
                  tarfile.NUL * (-len(data) % tarfile.BLOCKSIZE)]
    return b"".join(parts)


def sample_length(key: str, sizes: Dict[str, int]) -> int:
    """len(sample_bytes(sample)) from the key and each field's size alone."""
    return sum(len(_header(key, field, sizes[field])) + sizes[field] +
               -sizes[field] % tarfile.BLOCKSIZE for field in _fields(sizes))


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
