"""The programme dashboard: the overview plus what the charts need (status timeline, trade by
HS section in both directions, investment and enterprise series). The web page, the JSON API
and the reports all render this one structure, so they cannot disagree."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from cooptrack import codes
from cooptrack.domain.indicators import FLOWS
from cooptrack.services.audit import jsonable
from cooptrack.services.context import Context
from cooptrack.services.observations import known_by
from cooptrack.services.overview import UNRECORDED, Overview, programme_overview
from cooptrack.services.programmes import get_programme
from cooptrack.store.models import Indicator, Observation, Project, Source, StatusEvent

# Series drawn as lines, in this order: the headline trade figure, then investment and firms.
SERIES_INDICATORS = ("trade_turnover", "exports", "imports", "fdi_inflow", "fdi_stock", "enterprises",
                     "joint_ventures")
HEADLINE_STATUSES = ("implemented", "in_execution")
TIMELINE_LIMIT = 200


def programme_dashboard(ctx: Context, code: str, as_of: date | None = None, project_limit: int = 0) -> dict[str, Any]:
    overview = programme_overview(ctx, code, as_of, project_limit=project_limit)
    data = overview.as_dict()
    parties = [p["code"] for p in data["programme"]["parties"]]
    programme_id = get_programme(ctx, code).id
    data["headline"] = _headline(overview)
    data["timeline"] = _timeline(ctx, programme_id, as_of)
    data["series"] = _series(ctx, parties, as_of)
    data["trade_sections"] = _trade_sections(ctx, parties, as_of)
    result = jsonable(data)
    assert isinstance(result, dict)
    return result


def _headline(overview: Overview) -> dict[str, Any]:
    """Package (everything registered), implemented, in execution and not started (pipeline,
    agreed or no status yet), each with its count and USD value; the reported figure for the
    same row beside it once an accepted claim states one."""
    buckets = {b.key: b for b in overview.by_status}
    reported = {(r["status"] if r["status"] else None): r for r in overview.reported}
    package_reported = next((r for r in overview.reported if r["status"] is None and r["subject"] == "package"),
                            reported.get(None))

    def row(key: str, keys: tuple[str, ...], figure: dict[str, Any] | None) -> dict[str, Any]:
        chosen = [buckets[k] for k in keys if k in buckets]
        return {
            "key": key,
            "count": sum(b.count for b in chosen),
            "usd": sum((b.usd for b in chosen), Decimal(0)),
            "usd_missing": sum(b.usd_missing for b in chosen),
            "reported": ({"count": figure["count"]["value"] if figure and figure.get("count") else None,
                          "amount": figure["amount"] if figure and figure.get("amount") else None}
                         if figure else None),
        }

    total = overview.totals
    return {
        "rows": [
            {"key": "package", "count": total.count, "usd": total.usd, "usd_missing": total.usd_missing,
             "reported": ({"count": package_reported["count"]["value"] if package_reported.get("count") else None,
                           "amount": package_reported["amount"] if package_reported.get("amount") else None}
                          if package_reported else None)},
            row("implemented", ("implemented", "closed"), reported.get("implemented")),
            row("in_execution", ("in_execution",), reported.get("in_execution")),
            row("not_started", ("pipeline", "agreed", UNRECORDED), reported.get("pipeline")),
        ],
    }


def _timeline(ctx: Context, programme_id: int, as_of: date | None) -> list[dict[str, Any]]:
    """Status events of the programme's projects, newest first, as known on ``as_of``."""
    query = (
        select(StatusEvent.effective, StatusEvent.effective_start, StatusEvent.status, StatusEvent.reopen,
               Project.code, Project.title, Source.code, Source.id, Source.title)
        .join(Project, Project.id == StatusEvent.project_id)
        .outerjoin(Source, Source.id == StatusEvent.source_id)
        .where(Project.programme_id == programme_id)
        .order_by(StatusEvent.effective_start.desc(), StatusEvent.id.desc())
        .limit(TIMELINE_LIMIT)
    )
    if as_of is not None:
        query = query.where(StatusEvent.effective_start <= as_of,
                            or_(Source.known_from.is_(None), Source.known_from <= as_of))
    return [
        {"effective": effective, "start": start, "status": status, "reopen": reopen, "project": pcode,
         "title": title, "source": ({"id": scode or str(sid), "title": stitle} if sid else None)}
        for effective, start, status, reopen, pcode, title, scode, sid, stitle in ctx.session.execute(query)
    ]


def _series(ctx: Context, parties: list[str], as_of: date | None) -> list[dict[str, Any]]:
    """Whole-relationship figures (no HS code) between the parties, one series per indicator,
    reporter, partner and unit, oldest first."""
    if len(parties) < 2:
        return []
    rows = ctx.session.execute(
        select(Indicator.code, Indicator.name, Observation.reporter, Observation.partner, Observation.unit,
               Observation.period, Observation.period_start, Observation.period_end, Observation.value,
               Observation.flags)
        .join(Indicator, Indicator.id == Observation.indicator_id)
        .where(Indicator.code.in_(SERIES_INDICATORS), Observation.reporter.in_(parties),
               Observation.partner.in_(parties), Observation.hs_code.is_(None), known_by(as_of))
        .order_by(Observation.period_start, Observation.period_end, Observation.id)
    ).all()
    grouped: dict[tuple[str, str, str | None, str], dict[str, Any]] = {}
    for ind, name, reporter, partner, unit, period, start, end, value, flags in rows:
        key = (ind, reporter, partner, unit)
        series = grouped.setdefault(key, {"indicator": ind, "name": name, "reporter": reporter, "partner": partner,
                                          "unit": unit, "points": []})
        series["points"].append({"period": period, "start": start, "end": end, "value": value,
                                 "flags": [f for f in flags.split(",") if f]})
    order = {code: i for i, code in enumerate(SERIES_INDICATORS)}
    return sorted(grouped.values(), key=lambda s: (order[s["indicator"]], s["reporter"], s["partner"] or "", s["unit"]))


def _trade_sections(ctx: Context, parties: list[str], as_of: date | None) -> list[dict[str, Any]]:
    """Exports and imports by HS section, for each direction between the parties: one block per
    (reporter, partner, flow, unit), each section a series over the periods. Chapter totals are
    summed in the database; a section is the sum of its chapters. A chapter is counted at one
    level only, the coarsest reported (HS-2 where it exists, else HS-4, else HS-6, per reporter,
    partner, flow, period and chapter), so a chapter total is never added to its own headings."""
    if len(parties) < 2:
        return []
    where = (Indicator.code.in_(FLOWS), Observation.reporter.in_(parties), Observation.partner.in_(parties),
             Observation.hs_code.is_not(None), known_by(as_of))
    sums: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    starts: dict[str, date] = {}
    if ctx.session.get_bind().dialect.name == "postgresql":
        # NUMERIC sums are exact: let the database add the chapters up.
        chapter, level = func.substr(Observation.hs_code, 1, 2), func.length(Observation.hs_code)
        grouped = (
            select(Indicator.code, Observation.reporter, Observation.partner, Observation.unit, Observation.period,
                   func.min(Observation.period_start), chapter, level, func.sum(Observation.value))
            .join(Indicator, Indicator.id == Observation.indicator_id).where(*where)
            .group_by(Indicator.code, Observation.reporter, Observation.partner, Observation.unit,
                      Observation.period, chapter, level)
        )
        for flow, reporter, partner, unit, period, start, chap, lev, total in ctx.session.execute(grouped):
            sums[(flow, reporter, partner, unit, period, chap, lev)] = Decimal(total)
            starts[period] = min(start, starts.get(period, start))
    else:
        # Summed here, not in SQL: SQLite would add the exact amounts as floats.
        query = (
            select(Indicator.code, Observation.reporter, Observation.partner, Observation.unit, Observation.period,
                   Observation.period_start, Observation.hs_code, Observation.value)
            .join(Indicator, Indicator.id == Observation.indicator_id).where(*where)
        )
        for flow, reporter, partner, unit, period, start, hs, value in ctx.session.execute(query):
            sums[(flow, reporter, partner, unit, period, hs[:2], len(hs))] += value
            starts[period] = start
    # Keep, per chapter, the coarsest level reported (a chapter total is not to be added to its headings).
    best: dict[tuple[Any, ...], tuple[int, Decimal]] = {}
    for (flow, reporter, partner, unit, period, chap, lev), value in sums.items():
        key = (flow, reporter, partner, unit, period, chap)
        if key not in best or lev < best[key][0]:
            best[key] = (lev, value)
    blocks: dict[tuple[str, str, str, str], dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for (flow, reporter, partner, unit, period, chap), (_lev, value) in best.items():
        found = codes.hs_section(chap)
        section = found[0] if found else "?"
        sections = blocks[(reporter, partner, flow, unit)]
        sections[section][period] = sections[section].get(period, Decimal(0)) + value
    names = codes.hs_sections()
    section_order = {s: i for i, s in enumerate(names)}
    flow_order = {f: i for i, f in enumerate(FLOWS)}
    result = []
    for (reporter, partner, flow, unit), sections in sorted(
            blocks.items(), key=lambda kv: (kv[0][0], kv[0][1], flow_order[kv[0][2]], kv[0][3])):
        periods = sorted({p for s in sections.values() for p in s}, key=lambda p: (starts[p], p))
        result.append({
            "reporter": reporter, "partner": partner, "flow": flow, "unit": unit, "periods": periods,
            "sections": [
                {"section": s, "name": names.get(s, "unknown HS chapter"),
                 "values": [sections[s].get(p) for p in periods],
                 "total": sum(sections[s].values(), Decimal(0))}
                for s in sorted(sections, key=lambda s: section_order.get(s, 99))
            ],
        })
    return result
