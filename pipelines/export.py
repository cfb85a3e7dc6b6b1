"""`idp-corpus export --format aurora DIR OUT`: the dataset as AURORA-style JSON.

AURORA (and the trainers built on it) read a JSON list of {"instruction", "input", "output"},
the two images as paths relative to the JSON file. OUT gets `images/KEY.before.jpg`,
`images/KEY.after.jpg` (the shard's JPEG bytes, not re-encoded) and `<name>.json`, written last.
Triples without an action (built with --no-caption) cannot be expressed and are skipped.
"""
from __future__ import annotations

import json
from typing import Dict, Optional

from pipelines.readers import Dataset
from transforms.shard_read import iter_shard
from schemas import shard_layout as layout
from transforms.storage import filesystem, join, write_bytes

FORMATS = ("aurora",)
IMAGES_DIR = "images"


class NothingToExport(ValueError):
    """No triple of the dataset has an action."""


def target_problem(out: str, name: str) -> Optional[str]:
    """None when OUT can be a folder to write into and NAME a file name; else why not."""
    from pipelines.option_values import plain_name
    problem = plain_name(name, "--name")
    if problem:
        return problem
    fs, path = filesystem(out)
    if fs.exists(path) and not fs.isdir(path):
        return (f"{out!r} is a file, not a folder: give a folder to write {name}.json and "
                "images/ into")
    return None


def export_aurora(dataset: Dataset, out: str, name: str = "train") -> Dict[str, int]:
    """Writes OUT/images/* and OUT/<name>.json; returns {"exported", "skipped_no_action"}."""
    items, skipped = [], 0
    for url in dataset.shard_urls():
        for key, members in iter_shard(url):
            action = members.get(layout.ACTION, b"").decode("utf-8").strip()
            if not action:
                skipped += 1
                continue
            paths = {}
            for side, member in (("input", layout.BEFORE), ("output", layout.AFTER)):
                paths[side] = f"{IMAGES_DIR}/{key}.{member}"
                write_bytes(join(out, paths[side]), members[member])
            items.append({"instruction": action, **paths})
    if not items:
        raise NothingToExport(
            f"{dataset.root}: none of its {skipped} triples has an action (built with "
            "--no-caption?); caption it first")
    items.sort(key=lambda item: item["input"])
    data = json.dumps(items, indent=1, ensure_ascii=False) + "\n"
    write_bytes(join(out, f"{name}.json"), data.encode("utf-8"))
    return {"exported": len(items), "skipped_no_action": skipped}
