"""The programme overview: where a programme stands, as of any date.

"As of" a date means what had happened by then according to what was known by then: a
status event counts from its effective date, and not before its source was published; an
observation counts once its source was published (or, without a dated source, once its
period had ended)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from cooptrack import codes
from cooptrack.domain.countries import country_name
from cooptrack.domain.money import Money, RateTable
from cooptrack.domain.status import Status
from cooptrack.services.audit import jsonable
from cooptrack.services.context import Context
from cooptrack.services.observations import known_by
from cooptrack.services.programmes import get_programme
from cooptrack.services.rates import rate_table
from cooptrack.services.targets import list_targets, target_progress
from cooptrack.store.models import (
    Indicator,
    Observation,
    Programme,
    ProgrammeCommodity,
    Project,
    ReportedFigure,
    Source,
    StatusEvent,
)

UNRECORDED = "unrecorded"
STATUS_ORDER = [s.value for s in Status] + [UNRECORDED]


@dataclass
class Bucket:
    key: str
    count: int = 0
    values: dict[str, Decimal] = field(default_factory=dict)  # currency -> original amount
    usd: Decimal = Decimal(0)
    usd_missing: int = 0  # projects with a value but no rate to convert it
    by_status: dict[str, int] = field(default_factory=dict)

    def add(self, status: str, money: Money | None, usd: Decimal | None) -> None:
        self.count += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        if money is not None:
            self.values[money.currency] = self.values.get(money.currency, Decimal(0)) + money.amount
            if usd is None:
                self.usd_missing += 1
            else:
                self.usd += usd


@dataclass
class Overview:
    programme: dict[str, Any]
    as_of: date | None
    totals: Bucket
    by_status: list[Bucket]
    by_industry: list[Bucket]
    rates_used: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    projects_total: int
    indicators: list[dict[str, Any]]
    commodities: list[dict[str, Any]]
    targets: list[dict[str, Any]]
    reported: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = jsonable(asdict(self))
        assert isinstance(data, dict)
        return data


def _country(code: str) -> dict[str, str]:
    return {"code": code, "name": country_name(code)}


def _programme_header(programme: Programme, session: Any) -> dict[str, Any]:
    source = session.get(Source, programme.source_id) if programme.source_id else None
    return {
        "code": programme.code,
        "name": programme.name,
        "aliases": programme.aliases,
        "parties": [_country(p.country) for p in programme.parties],
        "signed": programme.signed,
        "signed_occasion": programme.signed_occasion,
        "period_start": programme.period_start,
        "period_end": programme.period_end,
        "industries": [
            {"name": i.name, "dac_codes": [
                {"code": c, "name": (codes.sector(c).name if codes.sector(c) else None)}  # type: ignore[union-attr]
                for c in i.dac_codes]}
            for i in programme.industries
        ],
        "source": _source_ref(source),
    }


def _source_ref(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"id": source.code or str(source.id), "title": source.title, "publisher": source.publisher,
            "published": source.published, "url": source.url}


def _statuses_as_of(ctx: Context, programme_id: int, as_of: date) -> dict[int, tuple[str, str]]:
    known_on = func.coalesce(Source.known_from, StatusEvent.effective_start)
    rows = ctx.session.execute(
        select(StatusEvent.project_id, StatusEvent.status, StatusEvent.effective)
        .join(Project, Project.id == StatusEvent.project_id)
        .outerjoin(Source, Source.id == StatusEvent.source_id)
        .where(Project.programme_id == programme_id, StatusEvent.effective_start <= as_of,
               or_(known_on <= as_of, Source.known_from.is_(None)))
        .order_by(StatusEvent.project_id, StatusEvent.effective_start, StatusEvent.id)
    ).all()
    latest: dict[int, tuple[str, str]] = {}
    for project_id, status, effective in rows:
        latest[project_id] = (status, effective)  # ordered: the last one wins
    return latest


def _latest_indicators(ctx: Context, parties: list[str], as_of: date | None) -> list[dict[str, Any]]:
    ranked = (
        select(
            Observation.id,
            func.row_number().over(
                partition_by=(Observation.indicator_id, Observation.reporter, Observation.partner,
                              Observation.unit),
                order_by=(Observation.period_end.desc(), Observation.period_start.asc(), Observation.id.desc()),
            ).label("rank"),
        )
        .where(Observation.reporter.in_(parties), Observation.partner.in_(parties),
               Observation.hs_code.is_(None), known_by(as_of))
        .subquery()
    )
    rows = ctx.session.execute(
        select(Observation, Indicator, Source)
        .join(ranked, ranked.c.id == Observation.id)
        .join(Indicator, Indicator.id == Observation.indicator_id)
        .outerjoin(Source, Source.id == Observation.source_id)
        .where(ranked.c.rank == 1)
        .order_by(Indicator.id, Observation.reporter, Observation.partner)
    ).all()
    return [
        {"indicator": ind.code, "name": ind.name, "reporter": o.reporter, "partner": o.partner,
         "period": o.period, "value": o.value, "unit": o.unit,
         "flags": [f for f in o.flags.split(",") if f], "observation": o.id, "source": _source_ref(src)}
        for o, ind, src in rows
    ]


SUBJECT_ORDER = ("programme", "package", "project", "portfolio")


def _figure(f: ReportedFigure, source: Source) -> dict[str, Any]:
    return {"value": f.value, "unit": f.unit, "approximate": f.approximate, "lower_bound": f.lower_bound,
            "period": f.period, "claim": f.claim_id, "quote": f.claim.quote, "source": _source_ref(source)}


def _reported(ctx: Context, programme: Programme, as_of: date | None, totals: Bucket,
              by_status: dict[str, Bucket]) -> list[dict[str, Any]]:
    """Each reported figure (the latest accepted claim per subject, status and measure) beside what
    the register holds, and the difference."""
    query = (select(ReportedFigure, Source).join(Source, Source.id == ReportedFigure.source_id)
             .where(ReportedFigure.programme_id == programme.id)
             .order_by(Source.known_from.asc().nulls_first(), ReportedFigure.id))
    if as_of is not None:
        query = query.where(or_(Source.known_from.is_(None), Source.known_from <= as_of))
    groups: dict[tuple[str, str | None], dict[str, Any]] = {}
    for figure, source in ctx.session.execute(query).all():
        group = groups.setdefault((figure.subject, figure.status), {
            "subject": figure.subject, "status": figure.status, "count": None, "amount": None, "earlier": []})
        previous = group[figure.measure]
        if previous is not None:
            group["earlier"].append({"measure": figure.measure, **previous})
        group[figure.measure] = _figure(figure, source)  # ordered by publication: the latest wins
    result = []
    for (_subject, status), group in groups.items():
        bucket = by_status.get(status) if status else totals
        registered: dict[str, Any] = {"count": bucket.count if bucket else 0,
                                      "usd": bucket.usd if bucket else Decimal(0)}
        difference = None
        if group["count"] is not None:
            missing = int(group["count"]["value"]) - registered["count"]
            held = f"{registered['count']} " + (status.replace("_", " ") if status else
                                                 ("project" if registered["count"] == 1 else "projects"))
            difference = {"count": missing, "text": (
                f"register: {held}; {missing} not registered" if missing > 0 else
                f"register: {held}; {-missing} more than reported" if missing < 0 else
                f"register: {held}, as reported")}
        result.append({**group, "registered": registered, "difference": difference})
    order = {s: i for i, s in enumerate(SUBJECT_ORDER)}
    result.sort(key=lambda g: (g["status"] is not None, order.get(g["subject"], 99),
                               STATUS_ORDER.index(g["status"]) if g["status"] in STATUS_ORDER else 99))
    return result


def programme_overview(ctx: Context, code: str, as_of: date | None = None,
                       project_limit: int = 50) -> Overview:
    programme = get_programme(ctx, code)
    rates: RateTable = rate_table(ctx)
    industries = {i.id: i.name for i in programme.industries}
    statuses = _statuses_as_of(ctx, programme.id, as_of) if as_of else None

    value_source = aliased(Source)
    rows = ctx.session.execute(
        select(Project.id, Project.code, Project.title, Project.industry_id, Project.status,
               Project.status_effective, Project.value_amount, Project.value_currency, Project.value_date,
               Source.known_from, value_source.known_from)
        .outerjoin(Source, Source.id == Project.source_id)
        .outerjoin(value_source, value_source.id == Project.value_source_id)
        .where(Project.programme_id == programme.id)
        .order_by(Project.code)
    ).all()

    totals = Bucket("total")
    by_status: dict[str, Bucket] = {}
    by_industry: dict[str, Bucket] = {}
    rates_used: dict[tuple[str, str], dict[str, Any]] = {}
    listed: list[dict[str, Any]] = []
    for pid, pcode, title, industry_id, status, status_since, amount, currency, value_date, known, value_known in rows:
        if as_of and value_known and value_known > as_of:
            amount = None  # the value was published later: not known then
        if statuses is not None:
            assert as_of is not None
            if pid in statuses:
                status, status_since = statuses[pid]
            elif status is None and (known is None or known <= as_of):
                status_since = None  # registered without status events: still part of the register
            else:
                continue  # not known by then
        status = status or UNRECORDED
        money = Money(amount, currency, value_date) if amount is not None and currency else None
        conversion = rates.to_usd(money) if money else None
        usd = conversion.usd if conversion else None
        if conversion and conversion.rate_source != "identity":
            rates_used[(currency, conversion.rate_period)] = {
                "currency": currency, "period": conversion.rate_period,
                "per_usd": conversion.rate, "source": conversion.rate_source}
        totals.add(status, money, usd)
        by_status.setdefault(status, Bucket(status)).add(status, money, usd)
        industry = industries.get(industry_id, "(no industry)") if industry_id else "(no industry)"
        by_industry.setdefault(industry, Bucket(industry)).add(status, money, usd)
        if len(listed) < project_limit:
            listed.append({
                "code": pcode, "title": title, "status": status, "status_since": status_since,
                "industry": industries.get(industry_id) if industry_id else None,
                "value": ({"amount": money.amount, "currency": money.currency, "value_date": value_date}
                          if money else None),
                "usd": usd,
                "rate": ({"per_usd": conversion.rate, "period": conversion.rate_period,
                          "source": conversion.rate_source} if conversion else None),
            })

    industry_order = [*industries.values(), "(no industry)"]
    targets = []
    for target in list_targets(ctx, programme.code):
        source = target.source
        if as_of and source is not None and source.known_from and source.known_from > as_of:
            continue
        p = target_progress(ctx, target, as_of)
        targets.append({
            "id": target.id, "indicator": target.indicator.code, "name": target.indicator.name,
            "reporter": target.reporter, "partner": target.partner, "hs_code": target.hs_code,
            "period": target.period, "deadline": target.deadline, "kind": target.kind,
            "multiple": target.multiple, "unit": target.unit, "approximate": target.approximate,
            "baseline": ({"period": p.baseline.period.code, "value": p.baseline.value} if p.baseline
                         else ({"period": target.baseline_period, "value": None} if target.baseline_period else None)),
            "target_value": p.target_value,
            "latest": {"period": p.latest.period.code, "value": p.latest.value} if p.latest else None,
            "percent_achieved": p.percent_achieved, "expected_percent": p.expected_percent,
            "state": p.state, "on_track": p.on_track, "reason": p.reason,
            "note": target.note, "source": _source_ref(source),
        })

    commodities = [
        {"reporter": c.reporter, "partner": c.partner, "flow": c.flow, "hs_code": c.hs_code,
         "description": codes.commodity(c.hs_code).description if codes.commodity(c.hs_code) else None,  # type: ignore[union-attr]
         "section": (codes.hs_section(c.hs_code) or (None, None))[0]}
        for c in ctx.session.scalars(
            select(ProgrammeCommodity).where(ProgrammeCommodity.programme_id == programme.id)
            .order_by(ProgrammeCommodity.flow, ProgrammeCommodity.id))
    ]
    parties = [p.country for p in programme.parties]
    return Overview(
        programme=_programme_header(programme, ctx.session),
        as_of=as_of,
        totals=totals,
        by_status=sorted(by_status.values(), key=lambda b: STATUS_ORDER.index(b.key)),
        by_industry=sorted(by_industry.values(), key=lambda b: industry_order.index(b.key)),
        rates_used=sorted(rates_used.values(), key=lambda r: (r["currency"], r["period"])),
        projects=listed,
        projects_total=totals.count,
        indicators=_latest_indicators(ctx, parties, as_of),
        commodities=commodities,
        targets=targets,
        reported=_reported(ctx, programme, as_of, totals, by_status),
    )

