"""Indicator observations: trade, investment, enterprises, by period and direction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import BindParameter, ColumnElement, func, select, true

from cooptrack import codes
from cooptrack.domain.countries import resolve_country
from cooptrack.domain.indicators import FLAGS
from cooptrack.domain.money import check_currency
from cooptrack.errors import NotFound
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.services.sources import get_source
from cooptrack.store.models import Indicator, Observation, Source

BASES = ("primary", "cif", "fob")


@dataclass
class ObservationSpec:
    indicator: str
    reporter: str
    period: str
    value: str | int | Decimal
    unit: str
    partner: str | None = None
    hs_code: str | None = None
    flags: list[str] = field(default_factory=list)
    value_basis: str | None = None
    quantity: str | Decimal | None = None
    quantity_unit: str | None = None
    net_weight_kg: str | Decimal | None = None
    source: str | None = None
    note: str | None = None
    claim_id: int | None = None  # the accepted claim this observation rests on


def get_indicator(ctx: Context, code: str) -> Indicator:
    indicator = ctx.session.scalar(select(Indicator).where(Indicator.code == code))
    if indicator is None:
        known = ", ".join(ctx.session.scalars(select(Indicator.code).order_by(Indicator.code)))
        raise NotFound(f"indicator '{code}' is not known; use one of {known}")
    return indicator


def check_unit(indicator: Indicator, unit: str, field: str = "unit") -> str:
    if indicator.kind == "money":
        return check_currency(unit.strip().upper(), field)
    return validate.text(unit, field, max_len=16) or ""


def add_observation(ctx: Context, spec: ObservationSpec) -> Observation:
    checks = Checks()
    indicator = checks.run(get_indicator, ctx, spec.indicator)
    reporter = checks.run(resolve_country, spec.reporter, "reporter")
    partner = checks.run(resolve_country, spec.partner, "partner") if spec.partner else None
    if reporter and partner and reporter == partner:
        checks.fail("same_country", f"reporter and partner are both {reporter}", "partner", spec.partner)
    period = checks.run(validate.period, spec.period, "period")
    value = checks.run(validate.amount, spec.value, "value")
    unit = checks.run(check_unit, indicator, spec.unit) if indicator else None
    hs = checks.run(validate.hs_code, spec.hs_code) if spec.hs_code else None
    flags = sorted({f.strip().lower() for f in spec.flags if f.strip()})
    for flag in flags:
        if flag not in FLAGS:
            checks.fail("unknown_flag", f"flag '{flag}' is not one of {', '.join(sorted(FLAGS))}", "flags", flag)
    if spec.value_basis and spec.value_basis not in BASES:
        checks.fail("unknown_basis", f"value basis '{spec.value_basis}' is not one of {', '.join(BASES)}",
                    "value_basis", spec.value_basis)
    quantity = checks.run(validate.amount, spec.quantity, "quantity") if spec.quantity is not None else None
    weight = checks.run(validate.amount, spec.net_weight_kg, "net weight") if spec.net_weight_kg is not None else None
    source = checks.run(get_source, ctx, spec.source) if spec.source else None
    checks.done()
    assert indicator and reporter and period and value is not None and unit

    observation = Observation(
        indicator_id=indicator.id,
        reporter=reporter,
        partner=partner,
        hs_code=hs,
        period=period.code,
        period_start=period.start,
        period_end=period.end,
        value=value,
        unit=unit,
        value_basis=spec.value_basis,
        quantity=quantity,
        quantity_unit=spec.quantity_unit,
        net_weight_kg=weight,
        flags=",".join(flags),
        source_id=source.id if source else None,
        note=spec.note,
        claim_id=spec.claim_id,
    )
    ctx.session.add(observation)
    ctx.session.flush()
    audit.record(ctx, "create", "observation", observation.id, None, audit.snapshot(observation))
    return observation


def list_observations(ctx: Context, indicator: str | None = None, reporter: str | None = None,
                      partner: str | None = None, limit: int = 200) -> list[Observation]:
    query = select(Observation).order_by(Observation.period_start, Observation.id).limit(limit)
    if indicator:
        query = query.where(Observation.indicator_id == get_indicator(ctx, indicator).id)
    if reporter:
        query = query.where(Observation.reporter == resolve_country(reporter, "reporter"))
    if partner:
        query = query.where(Observation.partner == resolve_country(partner, "partner"))
    return list(ctx.session.scalars(query))


def describe_commodity(code: str | None) -> str | None:
    found = codes.commodity(code) if code else None
    return found.description if found else None


def known_by(as_of: date | BindParameter[date] | None) -> ColumnElement[bool]:
    """Filter: observations a reader could know on ``as_of``: their source was published by
    then, or, without a dated source, their period had ended. ``as_of`` may be a bound parameter
    (a statement built once)."""
    if as_of is None:
        return true()
    known_on = func.coalesce(
        # correlate on the observation only: a query that also joins sources keeps its own
        select(Source.known_from).where(Source.id == Observation.source_id).correlate_except(Source)
        .scalar_subquery(),
        Observation.period_end,
    )
    return known_on <= as_of


def series(ctx: Context, indicator_id: int, reporter: str, partner: str | None, hs_code: str | None,
           as_of: date | None) -> list[Observation]:
    query = select(Observation).where(
        Observation.indicator_id == indicator_id,
        Observation.reporter == reporter,
        Observation.partner.is_(None) if partner is None else Observation.partner == partner,
        Observation.hs_code.is_(None) if hs_code is None else Observation.hs_code == hs_code,
        known_by(as_of),
    ).order_by(Observation.period_start, Observation.id)
    return list(ctx.session.scalars(query))
