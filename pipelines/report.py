"""report.html: what a build produced and why, in one self-contained page.

The funnel from videos to triples, drop reasons, score histograms, a gallery of kept triples
(images read from the shards, inlined as base64) and examples of rejected pairs per reason.
Rejected pairs have no stored images; the report shows their scores, frame indices and times,
with a link into the source video at those times, and does not decode video again.

Everything comes from the committed version (index.json and what it points at), read in
bounded memory: counts from the stats, histograms and examples from a bounded sample of the
manifest parts, the gallery from a few shards. Random choices are seeded, so the same dataset
always gives the same bytes.
"""
from __future__ import annotations

import base64
import collections
import heapq
import html
import io
import random
import urllib.parse
from typing import Dict, List, Sequence, Tuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from PIL import Image

from pipelines.charts import bars, histogram, number
from pipelines.readers import KEPT, Dataset, open_dataset, read_members, write_wids_index
from pipelines.shot_strips import LIMIT as SHOT_STRIPS, shot_strips
from transforms.dataset import manifest_stats
from transforms.dataset.layout import REPORT
from transforms.storage import write_bytes

SEED = 0
GALLERY_SHARDS = 4  # the gallery reads at most this many shards, whatever the dataset's size
GALLERY_SIZE = 12
EXAMPLES_PER_REASON = 4
THUMBNAIL_SIDE = 320
SCORES = ("motion", "change", "cut", "sharpness", "brightness")
KEPT_COLOUR, REJECTED_COLOUR = "#2f8f5b", "#c8553d"
# Histograms and rejected examples come from at most this many rows (whole row groups drawn
# at random), so the report reads a bounded amount whatever the dataset's size.
SAMPLE_ROWS = 20_000
SAMPLE_COLUMNS = ["key", "uri", "status", "reason", "reason_score", "message", "action",
                  "before_frame", "after_frame", "before_time", "after_time", *SCORES,
                  "idp_score", "qc_flags"]


def write_extras(config, beam_args: Sequence[str] = ()) -> None:
    """What each build writes beside the committed dataset for people and other readers:
    wids.json, README.md (the card) and report.html. Each is derived from the committed version
    only, so rerunning the same command rewrites them byte for byte."""
    from pipelines.card import write_card
    dataset = open_dataset(config.write.output)
    write_wids_index(dataset)
    write_card(dataset, config, beam_args)
    write_report(dataset)


def write_report(dataset: Dataset) -> str:
    url = dataset.url(REPORT)
    write_bytes(url, render_report(dataset).encode("utf-8"))
    return url


def drop_stage(row: dict) -> str:
    return manifest_stats.drop_stage(row["reason"], row["action"] is not None)


def funnel(dataset: Dataset) -> Tuple[List[tuple], List[tuple]]:
    """(video steps, pair steps), each (label, count, note), from the stats alone."""
    stats, videos = dataset.stats, dataset.stats["videos"]
    stages = collections.Counter(stats["pair_stages"])
    decoded = videos["ok"] + videos["no_pairs"]
    video_steps = [("videos", videos["total"], ""),
                   ("decoded", decoded, f"{videos['failed']} failed"),
                   ("gave candidate pairs", stats["funnel"]["videos_with_candidates"], ""),
                   ("gave triples", videos["ok"], "")]
    passed = stats["pairs"]["candidates"] - stages["filters"]
    pair_steps = [("candidate pairs", stats["pairs"]["candidates"], ""),
                  ("passed the filters", passed, f"{stages['filters']} dropped")]
    captioned = any(source != "none" for source in stats["action_sources"])
    if stages["caption"] or captioned:
        pair_steps.append(("captioned", passed - stages["caption"],
                           f"{stages['caption']} failed"))
    if stages["caption QC"]:
        pair_steps.append(("passed caption QC", passed - stages["caption"] - stages["caption QC"],
                           f"{stages['caption QC']} dropped"))
    pair_steps.append(("kept (triples)", stats["triples"],
                       f"{stages['selection']} not selected" if stages["selection"] else ""))
    return video_steps, pair_steps


def choose_gallery(dataset: Dataset, rng: random.Random) -> List[dict]:
    """Random kept rows from a few random shards: representative (shards hold shuffled keys)
    while reading a bounded amount of data: the chosen shards' rows, from their runs' parts."""
    shards = sorted(shard["name"] for shard in dataset.index["shards"] if shard["num_samples"])
    chosen = sorted(rng.sample(shards, min(GALLERY_SHARDS, len(shards))))
    if not chosen:
        return []
    candidates = sorted(dataset.rows("pairs", filter=KEPT & ds.field("shard").isin(chosen),
                                     versions=dataset.shard_versions(chosen)),
                        key=lambda row: row["key"])
    picked = rng.sample(candidates, min(GALLERY_SIZE, len(candidates)))
    return sorted(picked, key=lambda row: row["key"])


def choose_rejected(rejected: pa.Table, rng: random.Random) -> Dict[str, List[dict]]:
    """A few random rejected rows per reason, most frequent reason first."""
    counts = collections.Counter({item["values"]: item["counts"] for item in
                                  pc.value_counts(rejected["reason"]).to_pylist()})
    chosen = {}
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0] or "")):
        rows = rejected.filter(pc.equal(rejected["reason"], reason)).sort_by("key")
        picked = rng.sample(range(rows.num_rows), min(EXAMPLES_PER_REASON, rows.num_rows))
        chosen[reason] = sorted(rows.take(pa.array(picked, pa.int64())).to_pylist(),
                                key=lambda row: row["key"])
    return chosen


def thumbnail(data: bytes) -> str:
    image = Image.open(io.BytesIO(data))
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # before loading: a JPEG decodes scaled
    image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def source_link(row: dict) -> str:
    """The source URI, as a link into the video at the pair's times where a browser can open
    it (local files, http); as text otherwise (s3://, gs://)."""
    uri = row["uri"]
    fragment = "" if "#" in uri else f"#t={row['before_time']:.3f},{row['after_time']:.3f}"
    if uri.startswith("/"):
        href = "file://" + urllib.parse.quote(uri) + fragment
    elif uri.startswith(("http://", "https://", "file://")):
        href = uri + fragment
    else:
        return f'<code>{html.escape(uri)}</code>'
    return f'<a href="{html.escape(href)}">{html.escape(uri.rsplit("/", 1)[-1])}</a>'


def _scores(row: dict) -> str:
    items = [f"{name} {number(row[name])}" for name in SCORES]
    if row["idp_score"] is not None:
        items.insert(0, f"IDP {number(row['idp_score'])}")
    return " · ".join(items)


def _frames(row: dict) -> str:
    return (f"frames {row['before_frame']} → {row['after_frame']} "
            f"({row['before_time']:.2f} s → {row['after_time']:.2f} s)")


def _flags(row: dict) -> str:
    flags = row["qc_flags"] or []
    return "".join(f'<span class="flag">{html.escape(flag)}</span>' for flag in flags)


def gallery(rows: List[dict], samples: Dict[str, Dict[str, bytes]]) -> str:
    if not rows:
        return '<p class="empty">no triples</p>'
    cards = []
    for row in rows:
        members = samples.get(row["key"], {})
        images = [f'<img alt="{side}" src="{thumbnail(members[side + ".jpg"])}">'
                  if side + ".jpg" in members else '<span class="empty">missing</span>'
                  for side in ("before", "after")]
        action = row["action"] if row["action"] is not None else "(no action: not captioned)"
        cards.append(
            f'<div class="triple" id="{html.escape(row["key"])}">'
            f'<div class="frames">{images[0]}<div class="action">{html.escape(action)}</div>'
            f'{images[1]}</div>'
            f'<div class="meta"><b>{html.escape(row["key"])}</b> · {_frames(row)} · '
            f'{source_link(row)} · {html.escape(row["shard"] or "")}<br>{_scores(row)} '
            f'{_flags(row)}</div></div>')
    return '<div class="gallery">' + "".join(cards) + "</div>"


def rejected_examples(chosen: Dict[str, List[dict]], counts: Dict[str, int],
                      sampled: bool = False) -> str:
    if not chosen:
        return '<p class="empty">no pair was rejected</p>'
    parts = ['<p class="summary">examples drawn from a sample of the pair rows</p>'] \
        if sampled else []
    for reason, rows in chosen.items():
        items = "".join(
            f'<tr><td>{html.escape(row["key"])}</td><td>{source_link(row)}</td>'
            f'<td>{_frames(row)}</td><td>{number(row["reason_score"])}</td>'
            f'<td>{_scores(row)}</td><td>{html.escape(row["message"] or "")}</td></tr>'
            for row in rows)
        parts.append(
            f'<section class="reason" id="rejected-{html.escape(reason)}">'
            f'<h3>{html.escape(reason)} <small>{counts[reason]:,} pair(s), stage: '
            f'{drop_stage(rows[0])}</small></h3><table><tr><th>key</th><th>source</th>'
            '<th>frames</th><th>reason score</th><th>scores</th><th>message</th></tr>'
            f'{items}</table></section>')
    return "".join(parts)


def failed_videos(dataset: Dataset, rows: List[dict], sampled: bool, limit: int = 20) -> str:
    """Videos without triples: all of them in a small dataset, else those of a sample."""
    rows = sorted((row for row in rows if row["status"] != "ok"),
                  key=lambda row: (row["status"], row["reason"] or "", row["uri"]))
    if not rows:
        return '<p class="empty">every video gave triples</p>'
    total = dataset.stats["videos"]["total"] - dataset.stats["videos"]["ok"]
    body = "".join(
        f'<tr><td><code>{html.escape(row["uri"])}</code></td><td>{row["status"]}</td>'
        f'<td>{html.escape(row["reason"] or "")}</td>'
        f'<td>{html.escape((row["message"] or "")[:200])}</td></tr>' for row in rows[:limit])
    shown = min(limit, len(rows))
    note = " (drawn from a sample of the videos)" if sampled else ""
    more = f'<p>{shown:,} of {total:,}{note}; every one is in the videos manifest</p>' \
        if total > shown else ""
    return ('<table><tr><th>video</th><th>status</th><th>reason</th><th>message</th></tr>'
            f'{body}</table>{more}')


def _values(rows: pa.Table, field: str) -> List[float]:
    return pc.drop_null(rows[field]).to_numpy().tolist()


SHOT_COLUMNS = ["video_id", "uri", "num_frames", "shot_starts", "shot_transitions",
                "shots_too_short"]


def shots_section(dataset: Dataset) -> str:
    """The shot strips of the first videos by URI that have shots, and their kept pairs: one
    pass over the videos' shot columns holding only the strips shown, then their pairs."""
    total = 0

    def with_shots():
        nonlocal total
        for row in dataset.rows("videos", SHOT_COLUMNS, ~ds.field("shot_starts").is_null()):
            if row["shot_starts"]:
                total += 1
                yield row

    shown = heapq.nsmallest(SHOT_STRIPS, with_shots(), key=lambda row: row["uri"])
    ids = sorted({row["video_id"] for row in shown})
    kept = list(dataset.rows("pairs", ["video_id", "before_frame", "after_frame"],
                             KEPT & ds.field("video_id").isin(ids))) if ids else []
    return shot_strips(shown, kept, total)


def render_report(dataset: Dataset) -> str:
    """The page. Counts come from the stats; histograms and rejected examples from a bounded
    sample of the pair rows (all of them up to SAMPLE_ROWS); the gallery from a few shards."""
    rng = random.Random(SEED)
    stats = dataset.stats
    video_steps, pair_steps = funnel(dataset)
    reasons = [(f"pair: {reason}", count, "") for reason, count in sorted(
        stats["pair_reasons"].items(), key=lambda item: (-item[1], item[0]))]
    reasons += [(f"video: {reason}", count, "") for reason, count in sorted(
        stats["video_reasons"].items(), key=lambda item: (-item[1], item[0]))]
    pairs, sampled = dataset.sample("pairs", SAMPLE_ROWS, SEED, SAMPLE_COLUMNS)
    kept = pairs.filter(pc.equal(pairs["status"], "kept"))
    rejected = pairs.filter(pc.equal(pairs["status"], "rejected"))
    of = f" (a sample of {pairs.num_rows:,} of {stats['pairs']['candidates']:,} pairs)" \
        if sampled else ""
    charts = [
        histogram([("kept", KEPT_COLOUR, _values(kept, "motion")),
                   ("rejected", REJECTED_COLOUR, _values(rejected, "motion"))],
                  "motion score (mean optical-flow magnitude at the two frames)" + of),
        histogram([("kept", KEPT_COLOUR, _values(kept, "idp_score")),
                   ("rejected", REJECTED_COLOUR, _values(rejected, "idp_score"))],
                  "IDP score (mean log-probability of the action tokens)" + of),
        histogram([("kept", KEPT_COLOUR, _values(kept, "change")),
                   ("rejected", REJECTED_COLOUR, _values(rejected, "change"))],
                  "change (mean grey-level difference, 0..1)" + of),
    ]
    chosen = choose_gallery(dataset, rng)
    samples = read_members(dataset, {row["key"]: row["shard"] for row in chosen})
    examples = choose_rejected(rejected, rng)
    videos, videos_sampled = dataset.sample("videos", SAMPLE_ROWS, SEED,
                                            ["uri", "status", "reason", "message"])
    size = sum(shard["size"] for shard in dataset.index["shards"])
    return PAGE.format(
        style=STYLE,
        summary=html.escape(
            f"{stats['triples']:,} triples in {stats['shards']:,} shards "
            f"({size / 2**20:.1f} MiB) from {stats['videos']['total']:,} videos; "
            f"version {dataset.index.get('version', 1)}, sample schema "
            f"{stats['schema_version']}"),
        videos=bars(video_steps), pairs=bars(pair_steps),
        reasons=bars(reasons, "bars reasons"), charts="".join(charts),
        gallery_note=html.escape(
            f"{len(chosen)} random kept triples (seed {SEED}) from "
            f"{len({row['shard'] for row in chosen})} of {stats['shards']} shards"),
        gallery=gallery(chosen, samples),
        rejected=rejected_examples(examples, stats["pair_reasons"], sampled),
        failed=failed_videos(dataset, videos.to_pylist(), videos_sampled),
        shots=shots_section(dataset))


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #ddd}h3 small{color:#666;
font-weight:normal}.summary{color:#555}.empty{color:#888;font-style:italic}
.bars .row{display:grid;grid-template-columns:230px 1fr 80px 200px;gap:8px;align-items:center;
margin:3px 0}.track{background:#eee;height:16px;display:block}.fill{background:#3b6ea8;
height:16px;display:block}.reasons .fill{background:#c8553d}.count{text-align:right;
font-variant-numeric:tabular-nums}.note{color:#666}
.charts{display:flex;flex-wrap:wrap;gap:16px}.hist{margin:0}.hist figcaption{font-weight:600}
.strip{position:relative;width:600px;height:14px}.strip span{position:absolute;top:0;
height:14px;display:block}.tick{font-size:10px;fill:#555}.legend .key{margin-right:12px}.swatch{display:inline-block;
width:10px;height:10px;margin-right:4px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
.triple{border:1px solid #ddd;padding:8px;border-radius:4px}.frames{display:grid;
grid-template-columns:1fr 140px 1fr;gap:8px;align-items:center}.frames img{width:100%;
height:auto;display:block}.action{font-weight:600;text-align:center;word-break:break-word}
.meta{font-size:12px;color:#555;margin-top:6px;word-break:break-all}.flag{background:#f3d9a4;
border-radius:3px;padding:0 4px;margin-left:4px}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border:1px solid #ddd;
padding:3px 6px;text-align:left;vertical-align:top;word-break:break-all}
th{word-break:normal;white-space:nowrap}
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>idp-corpus report</title><style>{style}</style></head>
<body>
<h1>idp-corpus report</h1>
<p class="summary">{summary}</p>
<h2 id="funnel">From videos to triples</h2>
{videos}
{pairs}
<h2 id="reasons">Why pairs and videos were dropped</h2>
{reasons}
<h2 id="scores">Scores</h2>
<div class="charts">{charts}</div>
<h2 id="gallery">Kept triples</h2>
<p class="summary">{gallery_note}; before | action | after</p>
{gallery}
<h2 id="rejected">Rejected pairs, by reason</h2>
<p class="summary">Rejected pairs have no stored images; the links open the source video at the
pair's times where the browser can reach it.</p>
{rejected}
<h2 id="shots">Shots</h2>
{shots}
<h2 id="videos">Videos without triples</h2>
{failed}
</body></html>
"""
