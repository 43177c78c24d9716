"""Targets: where an indicator should get, absolute or as a multiple of a baseline."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from cooptrack.domain.countries import resolve_country
from cooptrack.domain.indicators import STOCKS
from cooptrack.domain.period import Period
from cooptrack.domain.targets import Point, Progress, progress
from cooptrack.errors import InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.services.observations import check_unit, get_indicator, series
from cooptrack.services.programmes import get_programme
from cooptrack.services.sources import get_source
from cooptrack.store.models import Programme, Target


@dataclass
class TargetSpec:
    programme: str
    indicator: str
    reporter: str
    period: str  # the period the target value is about, e.g. 2019
    unit: str
    value: str | int | Decimal | None = None  # an absolute target ...
    multiple: str | int | Decimal | None = None  # ... or a multiple of the baseline
    baseline_period: str | None = None
    baseline_value: str | int | Decimal | None = None  # else read from the series
    partner: str | None = None
    hs_code: str | None = None
    deadline: date | str | None = None  # defaults to the end of the period
    approximate: bool = False
    source: str | None = None
    note: str | None = None


def _columns(ctx: Context, spec: TargetSpec) -> dict[str, Any]:
    """The target's column values from ``spec``, once every field is valid; else every finding."""
    checks = Checks()
    programme = checks.run(get_programme, ctx, spec.programme)
    indicator = checks.run(get_indicator, ctx, spec.indicator)
    reporter = checks.run(resolve_country, spec.reporter, "reporter")
    partner = checks.run(resolve_country, spec.partner, "partner") if spec.partner else None
    period = checks.run(validate.period, spec.period, "period")
    unit = checks.run(check_unit, indicator, spec.unit) if indicator else None
    hs = checks.run(validate.hs_code, spec.hs_code) if spec.hs_code else None
    deadline = checks.run(validate.day, spec.deadline, "deadline")
    if (spec.value is None) == (spec.multiple is None):
        checks.fail("target_kind", "give either an absolute --value or a --multiple of the baseline, not both",
                    "value")
    value = checks.run(validate.amount, spec.value, "value") if spec.value is not None else None
    multiple = checks.run(validate.amount, spec.multiple, "multiple") if spec.multiple is not None else None
    if spec.multiple is not None and not spec.baseline_period:
        checks.fail("missing_baseline", "a multiple needs --baseline-period (e.g. 2019-H1)", "baseline_period")
    baseline_period = (checks.run(validate.period, spec.baseline_period, "baseline period")
                       if spec.baseline_period else None)
    baseline_value = (checks.run(validate.amount, spec.baseline_value, "baseline value")
                      if spec.baseline_value is not None else None)
    source = checks.run(get_source, ctx, spec.source) if spec.source else None
    checks.done()
    assert programme and indicator and reporter and period and unit
    return {
        "programme_id": programme.id,
        "indicator_id": indicator.id,
        "reporter": reporter,
        "partner": partner,
        "hs_code": hs,
        "period": period.code,
        "deadline": deadline or period.end,
        "kind": "absolute" if value is not None else "multiple",
        "target_value": value,
        "multiple": multiple,
        "baseline_period": baseline_period.code if baseline_period else None,
        "baseline_value": baseline_value,
        "unit": unit,
        "approximate": bool(spec.approximate),
        "source_id": source.id if source else None,
        "note": spec.note or None,
    }


def define_target(ctx: Context, spec: TargetSpec) -> Target:
    target = Target(**_columns(ctx, spec))
    ctx.session.add(target)
    ctx.session.flush()
    audit.record(ctx, "create", "target", target.id, None, audit.snapshot(target))
    return target


def target_view(ctx: Context, target: Target) -> dict[str, Any]:
    """A target as the API shows it: the fields of TargetSpec, ids rather than row numbers."""
    source = target.source
    programme = ctx.session.get(Programme, target.programme_id)
    return {"id": target.id, "programme": programme.code if programme else None, "indicator": target.indicator.code,
            "reporter": target.reporter, "partner": target.partner, "hs_code": target.hs_code,
            "period": target.period, "deadline": target.deadline, "kind": target.kind,
            "value": target.target_value, "multiple": target.multiple, "baseline_period": target.baseline_period,
            "baseline_value": target.baseline_value, "unit": target.unit, "approximate": target.approximate,
            "source": (source.code or str(source.id)) if source else None, "note": target.note,
            "version": target.version}


def get_target(ctx: Context, target_id: int) -> Target:
    found = ctx.session.get(Target, target_id)
    if found is None:
        raise NotFound(f"target {target_id} does not exist; `cooptrack target list PROGRAMME` (or GET "
                       "/api/v1/programmes/PROGRAMME/targets) lists a programme's targets with their ids")
    return found


def target_spec(ctx: Context, target: Target) -> TargetSpec:
    """The spec that would define ``target`` as it is now."""
    view = target_view(ctx, target)
    return TargetSpec(**{f.name: view[f.name] for f in fields(TargetSpec)})


TARGET_FIELDS = tuple(f.name for f in fields(TargetSpec) if f.name != "programme")
REQUIRED_FIELDS = ("indicator", "reporter", "period", "unit", "approximate")


def update_target(ctx: Context, target_id: int, changes: dict[str, Any], expected_version: int) -> Target:
    """Apply ``changes`` (TargetSpec field names) to the target at ``expected_version``, through
    the same checks as define_target; the change is audited with the target before and after."""
    from cooptrack.services.editing import _apply, _unknown, check_version  # editing -> browse -> targets

    target = get_target(ctx, target_id)
    check_version("target", target_id, target.version, expected_version,
                  lambda: audit.jsonable(target_view(ctx, target)))
    _unknown(changes, TARGET_FIELDS, "a target")
    cleared = [Finding("missing", f"a target's {k} cannot be removed; give a new one", field=k)
               for k in REQUIRED_FIELDS if k in changes and changes[k] is None]
    # The other changes are checked too (a removed field keeps its value for that): all findings at once.
    spec = replace(target_spec(ctx, target), **{k: v for k, v in changes.items()
                                                 if not (k in REQUIRED_FIELDS and v is None)})
    if "period" in changes and "deadline" not in changes and target.deadline == Period.parse(target.period).end:
        spec.deadline = None  # the deadline was the period's end: it moves with the period
    try:
        columns = _columns(ctx, spec)
    except InvalidInput as exc:
        raise InvalidInput.from_findings([*cleared, *exc.findings]) from None
    if cleared:
        raise InvalidInput.from_findings(cleared)
    _apply(ctx, target, columns, "target", target.id)
    ctx.session.expire(target, ["indicator", "source"])  # loaded through the ids just changed
    return target


def list_targets(ctx: Context, programme: str | None = None) -> list[Target]:
    query = select(Target).order_by(Target.id)
    if programme:
        query = query.where(Target.programme_id == get_programme(ctx, programme).id)
    return list(ctx.session.scalars(query))


def target_progress(ctx: Context, target: Target, as_of: date | None = None) -> Progress:
    observations = series(ctx, target.indicator_id, target.reporter, target.partner, target.hs_code, as_of)
    points = [Point(Period.parse(o.period), o.value) for o in observations if o.unit == target.unit]
    baseline = None
    if target.baseline_period:
        base_period = Period.parse(target.baseline_period)
        if target.baseline_value is not None:
            baseline = Point(base_period, target.baseline_value)
        else:
            matching = [p for p in points if p.period.code == base_period.code]
            baseline = matching[-1] if matching else None
    return progress(
        target_period=Period.parse(target.period),
        deadline=target.deadline,
        absolute=target.target_value,
        multiple=target.multiple,
        baseline=baseline,
        series=points,
        stock=target.indicator.code in STOCKS,
        today=as_of or ctx.now.date(),
    )
