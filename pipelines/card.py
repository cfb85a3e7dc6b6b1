"""The dataset card: README.md in the dataset folder, rewritten by each build.

What was run (an equivalent command line, every config value, package versions, the caption
model), the counts of the committed version, the KEY.json fields from the schema, and how to
load it. No timestamps and no output path: the same inputs and config give the same bytes, so
reruns into different folders stay byte-identical.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import shlex
from typing import Iterable, List, Sequence

from pipelines import config as build_options
from pipelines.flags import flag_of
from pipelines.readers import Dataset
from schemas.shard_layout import METADATA_FIELDS, SCHEMA_VERSION, field_since
from transforms.dataset.layout import CARD, WIDS_INDEX
from transforms.dataset.parts import PLAIN_COPY_MAX_ROWS
from transforms.storage import write_bytes

OUTPUT_PLACEHOLDER = "DATASET"  # the card never names the folder it sits in
PACKAGES = ("idp-corpus", "apache-beam", "torch", "transformers", "webdataset", "decord", "av",
            "opencv-python-headless", "pillow", "pyarrow", "numpy")


def package_versions(names: Sequence[str] = PACKAGES) -> List[tuple]:
    found = [("python", platform.python_version())]
    for name in names:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


def _config_items(config):
    """(section, field name, value, default) of every field of every section that is set."""
    for section in build_options.SECTIONS:
        values = getattr(config, section)
        if values is None:
            continue
        for field in dataclasses.fields(values):
            default = field.default if field.default is not dataclasses.MISSING else None
            value = getattr(values, field.name)
            if section == "write" and field.name == "output":
                value = OUTPUT_PLACEHOLDER
            yield build_options.SHOWN_SECTION.get(section, section), field.name, value, default


def command_line(config, beam_args: Iterable[str] = ()) -> str:
    """An `idp-corpus build` command equivalent to the config: only values that differ from the
    defaults, the output folder as DATASET."""
    words = ["idp-corpus", "build"]
    if config.caption is None:
        words.append("--no-caption")
    if config.skip_preflight:
        words.append("--skip-preflight")
    for _, name, value, default in _config_items(config):
        if value == default and name != "output":
            continue
        if isinstance(value, tuple):
            for item in value:
                words += [flag_of(name), str(item)]
        elif isinstance(value, bool):
            words.append(flag_of(name) if value else "--no-" + flag_of(name)[2:])
        elif value is not None:
            words += [flag_of(name), str(value)]
    return " ".join(shlex.quote(word) for word in [*words, *map(str, beam_args)])


def _table(header: Sequence[str], rows: Iterable[Sequence]) -> List[str]:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def _shown(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "(none)"
    return "(unset)" if value is None else '""' if value == "" else str(value)


def human_bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def caption_models(stats: dict) -> List[tuple]:
    """(model, revision, prompt id, decoding, triples) for each caption setting in the data,
    from the stats (counted as parts are written)."""
    return sorted((*json.loads(setting), count)
                  for setting, count in stats["caption_models"].items())


def render_card(dataset: Dataset, config, beam_args: Sequence[str] = (),
                versions: Sequence[tuple] = ()) -> str:
    stats, index = dataset.stats, dataset.index
    size = sum(shard["size"] for shard in index["shards"])
    lines = [
        "# idp-corpus dataset",
        "",
        "(before image, action, after image) triples cut from videos and labelled by an "
        "inverse-dynamics (IDP) vision-language model, written as WebDataset tar shards by "
        "[idp-corpus](https://arxiv.org/abs/2506.06006). This card is written by each build; "
        "`report.html` beside it shows the funnel, the drop reasons, score histograms and a "
        "gallery of samples.",
        "",
        "## Contents",
        "",
        f"Version {index.get('version', 1)} (sample schema {SCHEMA_VERSION}); follow "
        "`index.json`, written last, never a glob of the folder.",
        "",
        *_table(("what", "count"), [
            ("triples", stats["triples"]),
            ("shards", f"{stats['shards']} ({human_bytes(size)})"),
            ("videos", stats["videos"]["total"]),
            *((f"videos {status}", stats["videos"][status])
              for status in ("ok", "no_pairs", "failed")),
            ("candidate pairs", stats["pairs"]["candidates"]),
            ("pairs kept", stats["pairs"]["kept"]),
            ("pairs rejected", stats["pairs"]["rejected"]),
        ]),
        "",
    ]
    if stats["pair_reasons"]:
        lines += ["Why pairs were rejected:", "",
                  *_table(("reason", "pairs"), stats["pair_reasons"].items()), ""]
    if stats["video_reasons"]:
        lines += ["Why videos gave no triples:", "",
                  *_table(("reason", "videos"), stats["video_reasons"].items()), ""]
    lines += ["## Actions", ""]
    models = caption_models(stats)
    if models:
        lines += ["Actions were generated by:", "",
                  *_table(("model", "revision", "prompt id", "decoding", "triples"), models), ""]
    else:
        lines += ["No sample carries a generated action (built with `--no-caption`).", ""]
    # Without a caption some samples have no KEY.txt: the snippet must still run (action None).
    every_action = stats["funnel"]["kept_without_action"] == 0
    tuple_options = "" if every_action else ", missing_is_error=False"
    lines += [
        "## How it was built",
        "",
        "The latest build into this folder ran the equivalent of (the folder itself written as "
        f"`{OUTPUT_PLACEHOLDER}`):",
        "",
        "```bash",
        command_line(config, beam_args),
        "```",
        "",
        *_table(("section", "option", "value"),
                ((section, flag_of(name), _shown(value))
                 for section, name, value, _ in _config_items(config))),
        "",
        "With:",
        "",
        *_table(("package", "version"), versions or package_versions()),
        "",
        "## Files",
        "",
        *_table(("path", "what"), [
            ("`index.json`", "shard list (sample counts, sizes, sha256) and the committed "
                             "manifests; written last"),
            ("`shards/*.tar`", "WebDataset shards: KEY.before.jpg, KEY.after.jpg, KEY.txt "
                               "(the action, absent without caption), KEY.json (below)"),
            (f"`{WIDS_INDEX}`", "the shard list for `wids.ShardListDataset`"),
            ("`versions/v*/videos.parquet`", "one row per input video: ok / no_pairs / failed, "
                                             "why; its shots: `shot_starts` (first frame of "
                                             "each), `shot_transitions` (start, cut, dissolve "
                                             "or fade into each), `shots_too_short` (shots "
                                             "that held no pair); null where shots were not "
                                             "looked for; one part per run, listed by the "
                                             "index"),
            ("`versions/v*/pairs.parquet`", "one row per candidate pair: kept or rejected, "
                                            "reason, every score, its `shot`; one part per run"),
            ("`manifest/videos.parquet`, `manifest/pairs.parquet`",
             "the parts' latest rows as one file each, for datasets of up to "
             f"{PLAIN_COPY_MAX_ROWS:,} pair rows"),
            ("`stats.json`", "the counts above"),
            ("`report.html`", "funnel, drop reasons, histograms, galleries (self-contained)"),
        ]),
        "",
        "## Sample fields (KEY.json)",
        "",
        "Each KEY.json names its `schema_version`. A refresh writes its new samples in the "
        "current version; samples written before stay as they were stored, with the fields "
        "of their own version (a field marked \"since\" is absent from older samples). "
        "Images are stored as a player shows them (turned by the display matrix, in square "
        "pixels, deinterlaced) from schema 1.2 on; samples of schema 1.1 keep the coded "
        "pictures, sideways or squashed where the source was rotated or anamorphic.",
        "",
        *_table(("field", "meaning"), ((f"`{name}`", text + (
            f" (since schema {field_since(name)})" if field_since(name) else ""))
                                       for name, text in METADATA_FIELDS.items())),
        "",
        "## Loading",
        "",
        "With webdataset, following the index:",
        "",
        "```python",
        "import json, webdataset as wds",
        'index = json.load(open("DATASET/index.json"))',
        'urls = ["DATASET/" + shard["url"] for shard in index["shards"]]',
        "samples = wds.WebDataset(urls, shardshuffle=False).decode(\"pil\")",
        'for before, action, after, meta in samples.to_tuple("before.jpg", "txt", "after.jpg", '
        f'"json"{tuple_options}):',
        "    ...",
        "```",
        "",
        "Random access with wids:",
        "",
        "```python",
        "import wids",
        f'dataset = wids.ShardListDataset("DATASET/{WIDS_INDEX}")',
        'sample = dataset[0]  # {"__key__", ".before.jpg", ".after.jpg", ".txt", ".json", ...}',
        "```",
        "",
        "With Hugging Face datasets (columns `before.jpg`, `after.jpg`, `txt`, `json`):",
        "",
        "```python",
        "import json, datasets",
        'index = json.load(open("DATASET/index.json"))',
        'files = ["DATASET/" + shard["url"] for shard in index["shards"]]',
        'dataset = datasets.load_dataset("webdataset", data_files={"train": files}, '
        'split="train")',
        "```",
        "",
        "As AURORA-style JSON ({\"instruction\", \"input\", \"output\"} with image files): "
        "`idp-corpus export --format aurora DATASET OUT`. A summary in the terminal: "
        "`idp-corpus inspect DATASET`; a full check: `idp-corpus validate DATASET`.",
        "",
    ]
    return "\n".join(lines)


def write_card(dataset: Dataset, config, beam_args: Sequence[str] = ()) -> str:
    url = dataset.url(CARD)
    write_bytes(url, render_card(dataset, config, beam_args).encode("utf-8"))
    return url
