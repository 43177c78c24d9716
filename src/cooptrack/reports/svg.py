"""Small static SVG charts for the reports: no script, no external font, every text escaped, so
the same markup works inline in an HTML file opened offline and in WeasyPrint's PDF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

FONT = "font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""
BAR_COLOUR = "#2f6f9f"
MUTED = "#6b7280"
AXIS = "#9ca3af"


@dataclass(frozen=True)
class Bar:
    label: str  # shown beside (horizontal) or under (vertical) the bar
    value: Decimal | int | float
    text: str  # the value as the reader sees it, already formatted for the locale


def _e(text: str) -> str:
    return escape(str(text), quote=True)


def _num(value: float) -> str:
    """Coordinates with at most one decimal: short markup, no float noise."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">')
    return Markup("".join([head, f"<title>{_e(title)}</title>", *body, "</svg>"]))


def bar_chart(bars: Sequence[Bar], title: str, width: int = 640, row_height: int = 24,
              label_width: int = 230) -> Markup:
    """Horizontal bars, one row per item, the value written after each bar."""
    top = 6
    height = top * 2 + row_height * max(len(bars), 1)
    peak = max((float(b.value) for b in bars), default=0.0)
    value_room = 110
    span = max(width - label_width - value_room, 10)
    body = [f'<g {FONT} font-size="12">']
    for i, bar in enumerate(bars):
        y = top + i * row_height
        length = span * float(bar.value) / peak if peak > 0 else 0.0
        body.append(
            f'<text x="{label_width - 8}" y="{_num(y + row_height * 0.65)}" text-anchor="end" fill="#111827">'
            f"<title>{_e(bar.label)}</title>{_e(_short(bar.label, 34))}</text>")
        body.append(f'<rect x="{label_width}" y="{_num(y + 4)}" width="{_num(max(length, 1.0 if bar.value else 0))}" '
                    f'height="{row_height - 8}" fill="{BAR_COLOUR}"/>')
        body.append(f'<text x="{_num(label_width + length + 6)}" y="{_num(y + row_height * 0.65)}" '
                    f'fill="{MUTED}">{_e(bar.text)}</text>')
    body.append(f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - top}" stroke="{AXIS}"/>')
    body.append("</g>")
    return _svg(width, height, title, body)


def column_chart(bars: Sequence[Bar], title: str, width: int = 640, height: int = 220) -> Markup:
    """Vertical bars over periods (periods of different length stay honest as bars, where a line
    would join a year to a half-year); the value above each bar, the period under it."""
    left, right, top, bottom = 12, 12, 22, 34
    plot_w = width - left - right
    plot_h = height - top - bottom
    peak = max((float(b.value) for b in bars), default=0.0)
    slot = plot_w / max(len(bars), 1)
    bar_w = min(slot * 0.6, 80)
    base = top + plot_h
    body = [f'<g {FONT} font-size="11">']
    for i, bar in enumerate(bars):
        h = plot_h * float(bar.value) / peak if peak > 0 else 0.0
        x = left + slot * i + (slot - bar_w) / 2
        centre = left + slot * i + slot / 2
        body.append(f'<rect x="{_num(x)}" y="{_num(base - h)}" width="{_num(bar_w)}" height="{_num(h)}" '
                    f'fill="{BAR_COLOUR}"><title>{_e(bar.label)}: {_e(bar.text)}</title></rect>')
        body.append(f'<text x="{_num(centre)}" y="{_num(base - h - 5)}" text-anchor="middle" fill="{MUTED}">'
                    f"{_e(bar.text)}</text>")
        body.append(f'<text x="{_num(centre)}" y="{_num(base + 16)}" text-anchor="middle" fill="#111827">'
                    f"{_e(_short(bar.label, max(int(slot / 7), 4)))}</text>")
    body.append(f'<line x1="{left}" y1="{_num(base)}" x2="{width - right}" y2="{_num(base)}" stroke="{AXIS}"/>')
    body.append("</g>")
    return _svg(width, height, title, body)
