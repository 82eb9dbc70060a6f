"""Charts drawn on the server as inline SVG (no script, nothing from another host: the CSP).

Colours come from classes in opinion/static/opinion/opinion.css; each bar carries a <title>
with its exact figure, and every chart sits beside a table or figures that say the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

POLARITY_ORDER = ("negative", "neutral", "positive")


def volume(
    bars: Sequence[tuple[str, int]], title: str, *, highlight: Sequence[int] = ()
) -> SafeString:
    """Vertical bars of items per bucket; ``highlight`` marks buckets (e.g. where alerts rose)."""
    width, height = 720, 270
    left, right, top, bottom = 44, 12, 16, 56
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = max([n for _label, n in bars] + [1])
    step = inner_w / max(len(bars), 1)
    marked = set(highlight)
    parts = [
        f'<svg class="op-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0.5, 1.0):
        y = top + inner_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + inner_w}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{round(peak * fraction):,}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" '
        f'y2="{top + inner_h}"/>'
        f'<text class="tick" x="{left - 6}" y="{top + inner_h + 4}" text-anchor="end">0</text>'
    )
    every = max(1, -(-len(bars) // 6))
    shown_day = None
    for index, (label, n) in enumerate(bars):
        bar_h = inner_h * n / peak
        x = left + index * step
        cls = "bar alerted" if index in marked else "bar"
        parts.append(
            f'<rect class="{cls}" x="{x + step * 0.12:.1f}" y="{top + inner_h - bar_h:.1f}" '
            f'width="{max(step * 0.76, 1):.1f}" height="{bar_h:.1f}"><title>{escape(label)} · '
            f"{escape(_('%(n)s 条') % {'n': n})}</title></rect>"
        )
        if index % every == 0:
            # "月-日 时:00" labels: the hour on the first line, the day below it only where the
            # day changes, so a phone-sized chart keeps readable ticks.
            day, _sep, hour = label.partition(" ")
            first_line, second_line = (
                (hour, day if day != shown_day else "") if hour else (label, "")
            )
            shown_day = day
            cx = x + step / 2
            parts.append(
                f'<text class="tick" x="{cx:.1f}" y="{top + inner_h + 22}" '
                f'text-anchor="middle">{escape(first_line)}</text>'
            )
            if second_line:
                parts.append(
                    f'<text class="tick day" x="{cx:.1f}" y="{top + inner_h + 46}" '
                    f'text-anchor="middle">{escape(second_line)}</text>'
                )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  every text inside went through escape()


def sentiment_bar(counts: dict[str, int], labels: dict[str, str]) -> SafeString:
    """One stacked horizontal bar: negative / neutral / positive shares."""
    total = sum(counts.get(p, 0) for p in POLARITY_ORDER)
    width, height = 720, 36
    parts = [
        f'<svg class="op-chart op-sentiment" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(_("情感分布"))}" xmlns="http://www.w3.org/2000/svg">',
    ]
    x = 0.0
    for polarity in POLARITY_ORDER:
        n = counts.get(polarity, 0)
        if not total or not n:
            continue
        w = width * n / total
        share = f"{n / total:.0%}"
        parts.append(
            f'<rect class="seg {polarity}" x="{x:.1f}" y="0" width="{w:.1f}" height="{height}">'
            f"<title>{escape(labels.get(polarity, polarity))} {n} ({share})</title></rect>"
        )
        if w > 70:
            parts.append(
                f'<text class="seg-label" x="{x + 8:.1f}" y="{height / 2 + 5:.1f}">'
                f"{escape(labels.get(polarity, polarity))} {share}</text>"
            )
        x += w
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  every text inside went through escape()
