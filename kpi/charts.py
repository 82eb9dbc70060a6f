"""Charts drawn on the server as inline SVG: no script, nothing from another host (the CSP).

Colours and fonts come from classes in kpi/static/kpi/kpi.css; shapes carry a <title> so a screen
reader or a hover says the exact figure, and every chart sits next to the table it draws.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kpi.metrics import COLUMN_BY_NAME, Row


def _fmt(value: float | int | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:.1f}h"
    return f"{int(value):,}"


def trend(rows: Sequence[Row], title: str) -> SafeString:
    """Bars: appeals received per period; line: 满意率 (right-hand scale, 0–100 %)."""
    width, height = 640, 240
    left, right, top, bottom = 44, 44, 16, 36
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = max([r.counts["received"] for r in rows] + [1])
    step = inner_w / max(len(rows), 1)
    parts = [
        f'<svg class="kpi-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" '
        f'y2="{top + inner_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 4}" text-anchor="end">{peak:,}</text>',
        f'<text class="tick" x="{left - 6}" y="{top + inner_h}" text-anchor="end">0</text>',
        f'<text class="tick rate" x="{left + inner_w + 6}" y="{top + 4}">100%</text>',
        f'<text class="tick rate" x="{left + inner_w + 6}" y="{top + inner_h}">0%</text>',
    ]
    points: list[str] = []
    dots: list[str] = []
    for index, row in enumerate(rows):
        received = row.counts["received"]
        bar_h = inner_h * received / peak
        x = left + index * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{top + inner_h - bar_h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{bar_h:.1f}"><title>{escape(row.label)} · '
            f"{escape(_('受理量'))} {received:,}</title></rect>"
        )
        if index % max(1, len(rows) // 6) == 0:
            parts.append(
                f'<text class="tick" x="{x + step / 2:.1f}" y="{height - 14}" '
                f'text-anchor="middle">{escape(row.label)}</text>'
            )
        rate = row.rate("satisfaction_rate")
        if rate is not None:
            cx, cy = x + step / 2, top + inner_h * (1 - rate)
            points.append(f"{cx:.1f},{cy:.1f}")
            dots.append(
                f'<circle class="dot" cx="{cx:.1f}" cy="{cy:.1f}" r="3"><title>'
                f"{escape(row.label)} · {escape(_('满意率'))} {_fmt(rate, 'rate')} "
                f"(n={row.counts['callbacks']})</title></circle>"
            )
    if len(points) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(points)}"/>')
    parts.extend(dots)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  every text inside went through escape()


def ranking(rows: Sequence[Row], column: str, title: str) -> SafeString:
    """Horizontal bars of one column, in the given order, each labelled with its value and n."""
    col = COLUMN_BY_NAME[column]
    shown = [r for r in rows if r.value(column) is not None][:20]
    bar_h, gap, label_w, width = 22, 8, 190, 640
    height = max(1, len(shown)) * (bar_h + gap) + gap
    values = [float(r.value(column) or 0) for r in shown]
    peak = 1.0 if col.kind == "rate" else max([*values, 1.0])
    parts = [
        f'<svg class="kpi-chart ranking" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (row, value) in enumerate(zip(shown, values, strict=True)):
        y = gap + index * (bar_h + gap)
        length = (width - label_w - 120) * (value / peak if peak else 0)
        base = f" n={row.counts[col.base]:,}" if col.base else ""
        label = row.label if len(row.label) <= 14 else row.label[:13] + "…"
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar{" bad" if not col.higher_is_better else ""}" x="{label_w}" '
            f'y="{y}" width="{length:.1f}" height="{bar_h}"><title>{escape(row.label)} · '
            f"{escape(str(col.label))} {_fmt(value, col.kind)}{base}</title></rect>"
            f'<text class="value" x="{label_w + length + 6:.1f}" y="{y + bar_h * 0.7:.1f}">'
            f"{_fmt(value, col.kind)}{escape(base)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  every text inside went through escape()
