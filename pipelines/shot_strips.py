"""The report's shots section: one strip per video, its shots side by side along its length,
each transition marked by kind, and a tick at each kept pair."""
from __future__ import annotations

import html
from typing import Dict, List, Optional

SHADES = ("#9dbfe3", "#cfe0f3")
KIND_COLOURS = {"cut": "#222", "dissolve": "#c8553d", "fade": "#7a4fa0"}
LIMIT = 40  # strips shown; the rest are in videos.parquet


def _box(left: float, width: float, css: str, title: str = "") -> str:
    tip = f' title="{html.escape(title)}"' if title else ""
    return (f'<span style="left:{left:.2f}%;width:{max(width, 0.2):.2f}%;{css}"{tip}>'
            '</span>')


def _strip(row: dict, kept: List[dict]) -> str:
    frames = max(1, row["num_frames"] or 1)
    x = [100 * start / frames for start in row["shot_starts"]] + [100.0]
    parts = [_box(left, right - left, f"background:{SHADES[number % 2]}")
             for number, (left, right) in enumerate(zip(x, x[1:]))]
    parts += [_box(left, 0.4, f"background:{KIND_COLOURS.get(kind, '#222')}", kind)
              for kind, left in zip(row["shot_transitions"][1:], x[1:-1])]
    parts += [_box(100 * pair["before_frame"] / frames,
                   100 * (pair["after_frame"] - pair["before_frame"]) / frames,
                   "background:#1a7f37;top:10px;height:4px") for pair in kept]
    return f'<div class="strip">{"".join(parts)}</div>'


def shot_strips(videos: List[dict], kept: List[dict], total: Optional[int] = None) -> str:
    """`total`: how many videos have shots, when `videos` holds only the first LIMIT by URI."""
    with_shots = sorted((row for row in videos if row.get("shot_starts")),
                        key=lambda row: row["uri"])
    total = len(with_shots) if total is None else total
    if not with_shots:
        return '<p class="empty">no shots were looked for (--shots off, or labelled clips)</p>'
    kept_of: Dict[str, List[dict]] = {}
    for pair in kept:
        kept_of.setdefault(pair["video_id"], []).append(pair)
    rows = "".join(
        f'<tr><td><code>{html.escape(row["uri"])}</code></td>'
        f'<td>{len(row["shot_starts"])}</td><td>{row["shots_too_short"] or 0}</td>'
        f'<td>{_strip(row, kept_of.get(row["video_id"], []))}</td></tr>'
        for row in with_shots[:LIMIT])
    more = f'<p>and {total - LIMIT:,} more in the videos manifest</p>' \
        if total > LIMIT else ""
    legend = " ".join(f'<span class="key"><span class="swatch" style="background:{colour}">'
                      f'</span>{kind}</span>' for kind, colour in KIND_COLOURS.items())
    return (f'<p class="legend">{legend} <span class="key"><span class="swatch" '
            f'style="background:#1a7f37"></span>kept pair</span></p>'
            '<table><tr><th>video</th><th>shots</th><th>too short</th><th>shots along the '
            f'video</th></tr>{rows}</table>{more}')
