"""What a report holds, gathered once from the services: the programme dashboard (the same
structure the web page and the API render), every project known on the as-of date, the
observations between the parties, and the sources cited, numbered for the citations."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from cooptrack.services.audit import jsonable
from cooptrack.services.browse import MAX_PAGE_SIZE, ProjectQuery, list_source_views, observation_views, search_projects
from cooptrack.services.context import Context
from cooptrack.services.dashboard import programme_dashboard


@dataclass
class ReportData:
    dashboard: dict[str, Any]
    projects: list[dict[str, Any]]
    observations: list[dict[str, Any]]
    sources: list[dict[str, Any]]  # cited ones only, each with its citation number "n"
    as_of: date | None
    generated: datetime
    numbers: dict[str, int] = field(default_factory=dict)  # source id -> citation number

    def cite(self, ref: dict[str, Any] | None) -> int | None:
        """The citation number of a source reference ({"id": ...}), or None when there is none."""
        if not ref:
            return None
        return self.numbers.get(str(ref.get("id")))

    @property
    def is_empty(self) -> bool:
        d = self.dashboard
        return not (d["totals"]["count"] or self.observations or d["targets"] or d["reported"])


def collect(ctx: Context, code: str, as_of: date | None = None, generated: datetime | None = None) -> ReportData:
    # Every project is listed (no limit), so the projects sheet shows the state known on as_of.
    dashboard = programme_dashboard(ctx, code, as_of, project_limit=sys.maxsize)
    parties = [p["code"] for p in dashboard["programme"]["parties"]]
    observations = _observations(ctx, parties, as_of)
    _attach_series_sources(dashboard, observations)
    projects = _projects(ctx, code, dashboard["projects"])
    cited = _cited_ids(dashboard, observations)
    sources = [s for s in jsonable(list_source_views(ctx)) if s["id"] in cited]
    numbers = {}
    for n, s in enumerate(sources, start=1):
        s["n"] = n
        numbers[s["id"]] = n
    return ReportData(dashboard=dashboard, projects=projects, observations=observations, sources=sources,
                      as_of=as_of, generated=generated or datetime.now(UTC).replace(microsecond=0),
                      numbers=numbers)


def _observations(ctx: Context, parties: list[str], as_of: date | None) -> list[dict[str, Any]]:
    """Every observation between two of the parties, in both directions, known on as_of."""
    result: list[dict[str, Any]] = []
    for reporter in parties:
        for partner in parties:
            if reporter == partner:
                continue
            page = 1
            while True:
                rows, total = observation_views(ctx, reporter=reporter, partner=partner, as_of=as_of, page=page,
                                                page_size=MAX_PAGE_SIZE)
                result.extend(jsonable(rows))
                if page * MAX_PAGE_SIZE >= total or not rows:
                    break
                page += 1
    return result


def _attach_series_sources(dashboard: dict[str, Any], observations: list[dict[str, Any]]) -> None:
    """The dashboard's series points carry no source; the observation each point is gives it."""
    by_key = {(o["indicator"], o["reporter"], o["partner"], o["unit"], o["period"]): o
              for o in observations if o["hs_code"] is None}
    for series in dashboard["series"]:
        for point in series["points"]:
            o = by_key.get((series["indicator"], series["reporter"], series["partner"], series["unit"],
                            point["period"]))
            point["source"] = o["source"] if o else None


def _projects(ctx: Context, code: str, known: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The projects the dashboard counts (known on as_of, with the status and value known then),
    with the register's countries and sectors beside them."""
    details: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        found = search_projects(ctx, ProjectQuery(programme=code, page_size=MAX_PAGE_SIZE, page=page))
        for row in found.items:
            details[row["code"]] = jsonable(row)
        if page >= found.pages:
            break
        page += 1
    result = []
    for p in known:
        extra = details.get(p["code"], {})
        result.append({**p, "host_country": extra.get("host_country"), "partner_country": extra.get("partner_country"),
                       "sectors": extra.get("sectors", [])})
    return result


def _cited_ids(d: dict[str, Any], observations: list[dict[str, Any]]) -> set[str]:
    refs: list[dict[str, Any] | None] = [d["programme"].get("source")]
    for r in d["reported"]:
        for figure in (r.get("count"), r.get("amount"), *r.get("earlier", [])):
            if isinstance(figure, dict):
                refs.append(figure.get("source"))
    refs += [i.get("source") for i in d["indicators"]]
    refs += [t.get("source") for t in d["targets"]]
    refs += [e.get("source") for e in d["timeline"]]
    refs += [o.get("source") for o in observations]
    return {str(r["id"]) for r in refs if r}
