"""The programme dashboard: ``programme_dashboard`` (the same call as the API's overview),
rendered as tables, with the charts' data embedded as JSON for static/app.js to draw."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import get_decimal_symbol, get_group_symbol
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cooptrack.services.context import Context
from cooptrack.services.dashboard import programme_dashboard
from cooptrack.web.cache import DASHBOARD
from cooptrack.web.context import as_of_param, read_context
from cooptrack.web.i18n import NO_INDUSTRY, Formatter, formatter, locale_of
from cooptrack.web.pages_base import chart_json, render

router = APIRouter(include_in_schema=False)

TRADE = ("trade_turnover", "exports", "imports")
INVESTMENT = ("fdi_inflow", "fdi_stock")
ENTERPRISES = ("enterprises", "joint_ventures")
# The page's tables show the latest figures of each series (the charts and the API have all).
RECENT_POINTS = 12
RECENT_COLUMNS = 8


@router.get("/programmes/{code}")
def programme_page(request: Request, code: str, as_of: str | None = None,
                   ctx: Context = Depends(read_context)) -> Response:
    day = as_of_param(as_of)
    data = request.app.state.memo.get_or_compute(
        ("dashboard", code, day), lambda: programme_dashboard(ctx, code, day), DASHBOARD)
    f = formatter(locale_of(request))
    reported = reported_groups(data["reported"])
    series = data["series"]
    return render(
        request, "programme.html", d=data, as_of=day, recent=RECENT_POINTS, columns=RECENT_COLUMNS,
        reported=reported,
        industries=industry_rows(data),
        trade_series=[s for s in series if s["indicator"] in TRADE],
        investment=[s for s in series if s["indicator"] in INVESTMENT],
        enterprises=[s for s in series if s["indicator"] in ENTERPRISES],
        latest={(i["indicator"], i["reporter"], i["partner"]): i for i in data["indicators"]},
        reasons={target["id"]: target_reason(target, f, day or ctx.now.date()) for target in data["targets"]},
        charts=chart_json({"locale": f.locale, "separators": _separators(f), "charts": charts(data, f)}),
    )


def reported_groups(reported: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """The reported figure behind each headline row (its quote and source): the same choice the
    dashboard service makes for ``headline.rows[].reported``."""
    by_status = {g["status"]: g for g in reported if g["status"]}
    package = next((g for g in reported if g["status"] is None and g["subject"] == "package"),
                   next((g for g in reported if g["status"] is None), None))
    return {"package": package, "implemented": by_status.get("implemented"),
            "in_execution": by_status.get("in_execution"), "not_started": by_status.get("pipeline")}


def industry_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every industry of the programme, those without projects too, then projects without one."""
    found = {b["key"]: b for b in data["by_industry"]}
    rows = []
    for industry in data["programme"]["industries"]:
        bucket = found.get(industry["name"]) or {"key": industry["name"], "count": 0, "usd": "0", "values": {},
                                                 "usd_missing": 0, "by_status": {}}
        rows.append(bucket | {"dac_codes": industry["dac_codes"]})
    if NO_INDUSTRY in found:
        rows.append(found[NO_INDUSTRY] | {"dac_codes": []})
    return rows


def target_reason(target: dict[str, Any], f: Formatter, today: date) -> str:
    """Why a target is judged as it is, in the page's language (the service's sentence in English)."""
    if f.locale == "en":
        return str(target["reason"] or "")
    state = target["state"]
    values = {"achieved": f.percent(target["percent_achieved"]), "expected": f.percent(target["expected_percent"]),
              "period": f.period(target["latest"]["period"]) if target["latest"] else "–",
              "deadline": f.day(target["deadline"])}
    if state == "achieved":
        return f.t("target reached")
    if state == "missed":
        return f.t("%(period)s complete at %(achieved)s of the target") % values
    if state in ("on_track", "behind"):
        text = f.t("%(achieved)s reached by %(period)s, %(expected)s expected by then") % values
        if target["deadline"] and date.fromisoformat(str(target["deadline"])) < today:
            text += "; " + f.t("the deadline %(deadline)s has passed with no figure for the whole period") % values
        return text
    return f.t("not enough data to judge: no baseline or no observation yet")


def _separators(f: Formatter) -> str:
    """Plotly's decimal and thousands separators for the locale."""
    return get_decimal_symbol(f.locale) + get_group_symbol(f.locale)


def _num(value: Any) -> float | None:
    return None if value is None or value == "" else float(Decimal(str(value)))


def charts(data: dict[str, Any], f: Formatter) -> list[dict[str, Any]]:
    """Plotly figures for the dashboard; a chart without data is left out (the page says so)."""
    result: list[dict[str, Any]] = []
    statuses = [b for b in data["by_status"] if b["count"]]
    if statuses:
        result.append({
            "target": "chart-status",
            "traces": [{"type": "bar", "x": [f.status(b["key"]) for b in statuses], "y": [b["count"] for b in statuses],
                        "text": [f.money(b["usd"], "USD") for b in statuses], "marker": {"color": "#2f6690"},
                        "hovertemplate": "%{x}: %{y}<br>%{text}<extra></extra>", "textposition": "none"}],
            "layout": {"height": 240, "yaxis": {"title": {"text": f.t("Projects")}, "rangemode": "tozero",
                                 **({"dtick": 1} if max(b["count"] for b in statuses) < 10 else {})}},
        })
    industries = [b for b in industry_rows(data) if b["count"]]
    if industries:
        result.append({
            "target": "chart-industry",
            "traces": [{"type": "bar", "orientation": "h", "y": [f.industry(b["key"]) for b in industries],
                        "x": [b["count"] for b in industries], "marker": {"color": "#3a7ca5"},
                        "hovertemplate": "%{y}: %{x}<extra></extra>"}],
            "layout": {"xaxis": {"title": {"text": f.t("Projects")}, "rangemode": "tozero",
                                 **({"dtick": 1} if max(b["count"] for b in industries) < 10 else {})},
                       "yaxis": {"automargin": True, "autorange": "reversed"},
                       "height": max(160, 60 + 34 * len(industries))},
        })
    lines = [s for s in data["series"] if s["indicator"] in TRADE]
    if lines:
        result.append({
            "target": "chart-series",
            "traces": [{"type": "scatter", "mode": "lines+markers",
                        "name": f"{f.indicator(s['indicator'], s['name'])} ({s['reporter']}–{s['partner']})",
                        "x": [f.period(p["period"]) for p in s["points"]],
                        "y": [_num(p["value"]) for p in s["points"]]}
                       for s in lines],
            "layout": {"xaxis": {"type": "category"},
                       "yaxis": {"title": {"text": lines[0]["unit"]}, "rangemode": "tozero"},
                       "legend": {"orientation": "h", "y": -0.2}},
        })
    for i, block in enumerate(data["trade_sections"]):
        result.append({
            "target": f"chart-trade-{i}",
            "traces": [{"type": "bar", "name": f"{s['section']}: {s['name'][:40]}",
                        "x": [f.period(p) for p in block["periods"]], "y": [_num(v) for v in s["values"]]}
                       for s in block["sections"]],
            "layout": {"barmode": "stack", "xaxis": {"type": "category"}, "yaxis": {"title": {"text": block["unit"]}},
                       "legend": {"orientation": "h", "y": -0.25}},
        })
    return result
