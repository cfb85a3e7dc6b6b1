"""Small self-contained charts for report.html: CSS bars and inline SVG histograms.

Pure functions from numbers to HTML strings; no JavaScript, no network, deterministic output.
"""
from __future__ import annotations

import html
import math
from typing import List, Optional, Sequence, Tuple


def number(value: Optional[float], digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.{digits}g}"
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def bars(rows: Sequence[Tuple[str, int, str]], css_class: str = "bars") -> str:
    """Horizontal bars: (label, count, note) with widths relative to the largest count."""
    if not rows:
        return '<p class="empty">none</p>'
    top = max(count for _, count, _ in rows) or 1
    items = []
    for label, count, note in rows:
        width = 100.0 * count / top
        items.append(
            f'<div class="row"><span class="label">{html.escape(label)}</span>'
            f'<span class="track"><span class="fill" style="width:{width:.1f}%"></span></span>'
            f'<span class="count">{count:,}</span>'
            f'<span class="note">{html.escape(note)}</span></div>')
    return f'<div class="{css_class}">' + "".join(items) + "</div>"


def histogram(groups: Sequence[Tuple[str, str, List[float]]], title: str, bins: int = 24,
              width: int = 520, height: int = 170) -> str:
    """An SVG histogram of one or more value groups, stacked: (name, colour, values)."""
    values = [v for _, _, group in groups for v in group
              if v is not None and not math.isnan(v)]
    if not values:
        return (f'<figure class="hist"><figcaption>{html.escape(title)}</figcaption>'
                '<p class="empty">no values</p></figure>')
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    step = (high - low) / bins
    counts = []
    for _, _, group in groups:
        column = [0] * bins
        for value in group:
            if value is None or math.isnan(value):
                continue
            column[min(bins - 1, int((value - low) / step))] += 1
        counts.append(column)
    tallest = max(sum(column[i] for column in counts) for i in range(bins)) or 1
    left, bottom, top = 34, 22, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    bar_w = plot_w / bins
    shapes = []
    for i in range(bins):
        y = height - bottom
        for (name, colour, _), column in zip(groups, counts):
            if not column[i]:
                continue
            h = plot_h * column[i] / tallest
            y -= h
            start = low + i * step
            shapes.append(
                f'<rect x="{left + i * bar_w + 0.5:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{html.escape(name)}: {column[i]} in '
                f'[{number(start)}, {number(start + step)})</title></rect>')
    axis = (
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" '
        'stroke="#666"/>'
        f'<text x="{left}" y="{height - 6}" class="tick">{number(low)}</text>'
        f'<text x="{width - 8}" y="{height - 6}" class="tick" text-anchor="end">'
        f'{number(high)}</text>'
        f'<text x="{left - 4}" y="{top + 10}" class="tick" text-anchor="end">{tallest}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" class="tick" text-anchor="end">0</text>')
    legend = " ".join(
        f'<span class="key"><span class="swatch" style="background:{colour}"></span>'
        f'{html.escape(name)} ({sum(1 for v in group if v is not None and not math.isnan(v))})'
        '</span>' for name, colour, group in groups)
    return (f'<figure class="hist"><figcaption>{html.escape(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img">{"".join(shapes)}{axis}</svg>'
            f'<div class="legend">{legend}</div></figure>')
