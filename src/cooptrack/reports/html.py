"""The HTML report: one self-contained file (inline CSS, charts as inline SVG, no script, nothing
fetched from the network), also the source of the PDF."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from cooptrack.reports.data import ReportData
from cooptrack.reports.labels import Labels
from cooptrack.reports.svg import Bar, bar_chart, column_chart

PROJECTS_SHOWN = 200  # the HTML lists this many; the Excel report has them all

_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(loader=PackageLoader("cooptrack.reports", "templates"),
                           autoescape=select_autoescape(default=True, default_for_string=True),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        _env.filters["css_text"] = css_text
        _env.filters["web_address"] = web_address
    return _env


def css_text(text: str) -> str:
    """Text safe inside a quoted CSS string (the page footer): letters, digits and a few marks."""
    return re.sub(r"[^\w .,:()-]", "", str(text))


def web_address(url: str | None) -> bool:
    """Only http(s) addresses become links; anything else (javascript:, data:) is shown as text."""
    return bool(url) and re.match(r"^https?://", str(url), re.IGNORECASE) is not None


def render_html(data: ReportData, lang: str = "en") -> str:
    t = Labels(lang)
    d = data.dashboard
    return environment().get_template("report.html").render(
        t=t, data=data, d=d, p=d["programme"], lang=lang,
        headline=_headline(d), industries=_industries(d),
        status_chart=_status_chart(d, t), industry_chart=_industry_chart(d, t),
        series=[{**s, "chart": _series_chart(s, t)} for s in d["series"]],
        trade=[{**b, "chart": _trade_chart(b, t)} for b in d["trade_sections"]],
        projects=data.projects[:PROJECTS_SHOWN], projects_more=max(len(data.projects) - PROJECTS_SHOWN, 0),
    )


def reported_for(d: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The reported-figures group a headline row stands beside (the same choice the dashboard makes)."""
    reported = d["reported"]
    if key == "package":
        return next((r for r in reported if r["status"] is None and r["subject"] == "package"),
                    next((r for r in reversed(reported) if r["status"] is None), None))
    status = "pipeline" if key == "not_started" else key
    return next((r for r in reversed(reported) if r["status"] == status), None)


def _headline(d: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in d["headline"]["rows"]:
        group = reported_for(d, row["key"]) or {}
        count = group.get("count") if row["reported"] and row["reported"].get("count") is not None else None
        amount = row["reported"]["amount"] if row["reported"] else None
        gap = int(Decimal(count["value"])) - row["count"] if count else None
        rows.append({**row, "count_figure": count, "amount_figure": amount, "gap": gap})
    return rows


def _industries(d: dict[str, Any]) -> list[dict[str, Any]]:
    """Every industry of the programme (those with no project too), then projects with none."""
    buckets = {b["key"]: b for b in d["by_industry"]}
    rows = [{"name": i["name"], "dac_codes": [c["code"] for c in i["dac_codes"]], "bucket": buckets.get(i["name"])}
            for i in d["programme"]["industries"]]
    if "(no industry)" in buckets:
        rows.append({"name": "(no industry)", "dac_codes": [], "bucket": buckets["(no industry)"]})
    return rows


def _status_chart(d: dict[str, Any], t: Labels) -> Markup | None:
    bars = [Bar(t.status(b["key"]), b["count"], t.number(b["count"])) for b in d["by_status"] if b["count"]]
    return bar_chart(bars, f"{t('portfolio')}: {t('by_status')}") if bars else None


def _industry_chart(d: dict[str, Any], t: Labels) -> Markup | None:
    bars = [Bar(t.industry(b["key"]), b["count"], t.number(b["count"])) for b in d["by_industry"] if b["count"]]
    return bar_chart(bars, f"{t('portfolio')}: {t('by_industry')}") if bars else None


def _series_chart(s: dict[str, Any], t: Labels) -> Markup | None:
    bars = [Bar(p["period"], Decimal(p["value"]), t.compact(p["value"])) for p in s["points"]
            if p["value"] is not None and Decimal(p["value"]) >= 0]
    # One point makes no chart worth drawing: the table says it.
    return column_chart(bars, f"{s['name']} {s['reporter']}–{s['partner'] or ''}, {t.unit(s['unit'])}") \
        if len(bars) > 1 else None


def _trade_chart(block: dict[str, Any], t: Labels) -> Markup | None:
    bars = [Bar(f"{s['section']} {s['name']}", Decimal(s["total"]), t.compact(s["total"])) for s in block["sections"]
            if Decimal(s["total"]) > 0]
    title = f"{t(block['flow'])} {block['reporter']}–{block['partner']}, {block['unit']}"
    return bar_chart(bars, title, label_width=280) if bars else None
