"""Projects and their status history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from cooptrack.domain.countries import resolve_country
from cooptrack.domain.money import check_amount, check_currency, parse_amount
from cooptrack.domain.period import Period
from cooptrack.domain.status import Status, check_transition
from cooptrack.errors import AlreadyExists, NotFound
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context, refuse
from cooptrack.services.programmes import get_programme
from cooptrack.services.sources import get_source
from cooptrack.store.models import (
    Industry,
    Location,
    Organisation,
    Participant,
    Programme,
    Project,
    ProjectSector,
    StatusEvent,
)

T = TypeVar("T")
ROLES = ("funding", "accountable", "extending", "implementing", "investor", "contractor")
HUNDRED = Decimal(100)


@dataclass
class ParticipantSpec:
    name: str
    role: str
    country: str | None = None
    kind: str | None = None
    iati_ref: str | None = None


@dataclass
class LocationSpec:
    name: str
    country: str | None = None
    admin_area: str | None = None
    latitude: str | Decimal | None = None
    longitude: str | Decimal | None = None


@dataclass
class ProjectSpec:
    code: str
    title: str
    programme: str | None = None
    industry: str | None = None
    description: str | None = None
    aliases: list[str] = field(default_factory=list)
    host_country: str | None = None
    partner_country: str | None = None
    value: str | int | Decimal | None = None
    currency: str | None = None
    value_date: date | str | None = None
    sectors: dict[str, str | int | Decimal] = field(default_factory=dict)  # DAC code -> percent
    participants: list[ParticipantSpec] = field(default_factory=list)
    locations: list[LocationSpec] = field(default_factory=list)
    planned_start: date | str | None = None
    planned_end: date | str | None = None
    actual_start: date | str | None = None
    actual_end: date | str | None = None
    iati_identifier: str | None = None
    national_id: str | None = None
    source: str | None = None
    # The value's own source when it differs from the project's: True (the default) takes
    # ``source`` for both; None: the value has no source; else a source id.
    value_source: str | None | bool = True
    # With no industry named, take the one of the largest DAC sector (a new project, or an edit
    # of its sectors or programme); False keeps "no industry" (an edit of anything else).
    derive_industry: bool = True


@dataclass
class StatusSpec:
    project: str
    status: str
    effective: str  # a Period: 2019, 2019-04, 2019-04-22
    source: str | None = None
    note: str | None = None
    reopen: bool = False
    backdate: bool = False
    claim_id: int | None = None  # the accepted claim this event rests on


def _check_sectors(checks: Checks, sectors: dict[str, str | int | Decimal]) -> list[tuple[str, Decimal]]:
    result: list[tuple[str, Decimal]] = []
    for raw_code, raw_pct in sectors.items():
        code = checks.run(validate.dac_code, raw_code, "sectors")
        pct = checks.run(validate.amount, raw_pct, f"sectors[{raw_code}] percent")
        if code and pct is not None:
            if pct == 0 or pct > HUNDRED:
                checks.fail("bad_percent", f"sector {code} percent {pct} must be above 0 and at most 100",
                            f"sectors[{raw_code}]", pct)
            result.append((code, pct))
    if result and len(result) == len(sectors):
        total = sum((p for _, p in result), Decimal(0))
        if total != HUNDRED:
            listed = ", ".join(f"{c}={p}" for c, p in result)
            checks.fail("sector_percent_sum", f"sector percentages sum to {total}, not 100 ({listed}); "
                        "adjust them so they add up to 100", "sectors", total)
    return result


def _pick_industry(programme: Programme, industry: str | None, sectors: list[tuple[str, Decimal]],
                   checks: Checks, derive: bool = True) -> Industry | None:
    if industry:
        for ind in programme.industries:
            if ind.name.lower() == industry.strip().lower():
                return ind
        names = "; ".join(i.name for i in programme.industries) or "none defined"
        checks.fail("unknown_industry", f"industry '{industry}' is not one of programme "
                    f"'{programme.code}' industries ({names})", "industry", industry)
        return None
    if not sectors or not derive:
        return None
    # Derive from the largest sector, only on an exact DAC code match: guessing from the
    # 3-digit category would file a car plant under "Fourth Industrial Revolution".
    main = max(sectors, key=lambda s: s[1])[0]
    for ind in programme.industries:
        if main in ind.dac_codes:
            return ind
    return None


# The organisations that have aliases: what a participant's name is matched against after the names.
ALIASED_ORGANISATIONS = (select(Organisation.id, Organisation.aliases)
            .where(cast(Organisation.aliases, Text).not_in(("[]", "null"))).order_by(Organisation.id))


def organisation_aliases(session: Session) -> dict[str, int]:
    """Every alias an organisation holds, with its number; an alias two organisations hold (kept
    before aliases were told apart) is the lower number's. One query, over the organisations
    whose aliases are not empty: the imports read it once and match every row against it."""
    found: dict[str, int] = {}
    for org_id, aliases in session.execute(ALIASED_ORGANISATIONS):
        if isinstance(aliases, list):
            for alias in aliases:
                if isinstance(alias, str):
                    found.setdefault(alias, org_id)
    return found


def _organisation(ctx: Context, spec: ParticipantSpec, country: str | None) -> Organisation:
    """The organisation a participant names: by IATI identifier, else by name, else by alias (each
    exact); a new one when none is."""
    org = None
    if spec.iati_ref:
        org = ctx.session.scalar(select(Organisation).where(Organisation.iati_ref == spec.iati_ref))
    if org is None:
        org = ctx.session.scalar(select(Organisation).where(Organisation.name == spec.name.strip()))
    if org is None:
        aliased = organisation_aliases(ctx.session).get(spec.name.strip())
        if aliased is not None:
            org = ctx.session.get(Organisation, aliased)
    if org is None:
        org = Organisation(name=spec.name.strip(), country=country, kind=spec.kind, iati_ref=spec.iati_ref)
        ctx.session.add(org)
        ctx.session.flush()
        audit.record(ctx, "create", "organisation", org.id, None, audit.snapshot(org))
    return org


@dataclass
class _Checked:
    """A ProjectSpec whose every field passed its checks, ready to write."""

    fields: dict[str, Any]
    sectors: list[tuple[str, Decimal]]
    participants: list[tuple[ParticipantSpec, str | None]]
    locations: list[LocationSpec]
    location_values: list[dict[str, Any]]


# The keys of _Checked.fields: the project columns check_project decides.
CHECKED_FIELDS = ("code", "title", "programme_id", "industry_id", "description", "aliases", "host_country",
                  "partner_country", "value_amount", "value_currency", "value_date", "value_source_id",
                  "iati_identifier", "national_id", "source_id", "planned_start", "planned_end", "actual_start",
                  "actual_end")
_DATES = (("planned_start", "planned start"), ("planned_end", "planned end"), ("actual_start", "actual start"),
          ("actual_end", "actual end"))


class _RuleChecks(Checks):
    """Checks that may remember what a pure rule said about a value, across the projects of one
    import (``memo``): a country name, a date, a sectors list or the programme an id names is
    checked once and every later row gets the same result and the same findings. Without a memo
    every rule runs every time."""

    def __init__(self, memo: dict[Any, Any] | None = None) -> None:
        super().__init__()
        self.memo = memo

    def cached(self, check: Callable[..., T], *args: Any) -> T | None:
        """``run(check, *args)``, remembered by ``(check, *args)``."""
        if self.memo is None:
            return self.run(check, *args)
        key = (check, *args)
        hit = self.memo.get(key)
        if hit is None:
            sub = Checks()
            hit = self.memo[key] = (sub.run(check, *args), sub.findings)
        if hit[1]:
            self.findings.extend(hit[1])
        return hit[0]

    def lookup(self, find: Callable[[Context, str], T], ctx: Context, code: str) -> T | None:
        """``run(find, ctx, code)`` for a registered programme or source, remembered by code."""
        if self.memo is None:
            return self.run(find, ctx, code)
        key = (find, code)
        hit = self.memo.get(key)
        if hit is None:
            sub = Checks()
            hit = self.memo[key] = (sub.run(find, ctx, code), sub.findings)
        if hit[1]:
            self.findings.extend(hit[1])
        return hit[0]

    def part(self, rules: Callable[..., T], *args: Any) -> T:
        """``rules(checks, *args)``: several rules over hashable ``args``, remembered together."""
        if self.memo is None:
            return rules(self, *args)
        key = (rules, *args)
        hit = self.memo.get(key)
        if hit is None:
            sub = _RuleChecks(self.memo)
            hit = self.memo[key] = (rules(sub, *args), sub.findings)
        if hit[1]:
            self.findings.extend(hit[1])
        return hit[0]


def _check_dates(checks: _RuleChecks, planned_start: date | str | None, planned_end: date | str | None,
                 actual_start: date | str | None, actual_end: date | str | None) -> dict[str, date | None]:
    """The planned and actual dates, each a day, each end not before its start."""
    given = (planned_start, planned_end, actual_start, actual_end)
    dates = {name: checks.cached(validate.day, value, label)
             for (name, label), value in zip(_DATES, given, strict=True)}
    checks.run(validate.date_order, dates["planned_start"], dates["planned_end"], "planned start", "planned end")
    checks.run(validate.date_order, dates["actual_start"], dates["actual_end"], "actual start", "actual end")
    return dates


def _check_classification(checks: Checks, programme: Programme | None, industry: str | None,
                          sectors: tuple[tuple[str, str | int | Decimal], ...], derive: bool = True
                          ) -> tuple[list[tuple[str, Decimal]], Industry | None]:
    checked = _check_sectors(checks, dict(sectors))
    chosen = _pick_industry(programme, industry, checked, checks, derive) if programme else None
    if industry and not programme:
        checks.fail("industry_without_programme", "an industry needs --programme", "industry", industry)
    return checked, chosen


def fits(value: str | None, field: str, limit: int) -> None:
    """A text stored as given (not trimmed) that its column can hold: at most ``limit`` characters
    (PostgreSQL would refuse a longer one, SQLite keep it)."""
    if value is not None and len(value) > limit:
        refuse("too_long", f"{field} is {len(value)} characters; at most {limit}", field, value[:40])


def _check_participants(checks: _RuleChecks, given: tuple[tuple[str, str, str | None, str | None, str | None], ...]
                        ) -> list[tuple[ParticipantSpec, str | None]]:
    participants = []
    seen: set[tuple[str, str]] = set()
    for i, (name, role, country, kind, iati_ref) in enumerate(given):
        p = ParticipantSpec(name, role, country, kind, iati_ref)
        if (p.name.strip().lower(), p.role) in seen:
            checks.fail("duplicate_participant", f"participant '{p.name}' is listed twice as {p.role}",
                        f"participants[{i}]", p.name)
        seen.add((p.name.strip().lower(), p.role))
        if p.role not in ROLES:
            checks.fail("unknown_role", f"participant '{p.name}' role '{p.role}' is not one of {', '.join(ROLES)}",
                        f"participants[{i}].role", p.role)
        org_country = checks.cached(resolve_country, p.country, f"participants[{i}].country") if p.country else None
        checks.run(validate.text, p.name, f"participants[{i}].name", max_len=300)
        if p.kind is not None:
            checks.run(fits, p.kind, f"participants[{i}].kind", 8)
        if p.iati_ref is not None:
            checks.run(fits, p.iati_ref, f"participants[{i}].iati_ref", 100)
        participants.append((p, org_country))
    return participants


def check_project(ctx: Context, spec: ProjectSpec, memo: dict[Any, Any] | None = None) -> _Checked:
    """Every check of a project spec, all findings at once (InvalidInput), nothing written.

    ``memo``, a dict kept across the specs of one batch (an import), lets each distinct value of
    a rule that depends on nothing but that value (a country, a date, a currency, a sectors list,
    a programme or source id, a participants list) be checked once: the same rules, the same
    findings, a fraction of the time. Only for a batch in which no programme, industry or source
    changes."""
    checks = _RuleChecks(memo)
    code = checks.run(validate.slug, spec.code, "project id")
    title = checks.run(validate.text, spec.title, "title")
    programme = checks.lookup(get_programme, ctx, spec.programme) if spec.programme else None
    host = checks.cached(resolve_country, spec.host_country, "host country") if spec.host_country else None
    partner = checks.cached(resolve_country, spec.partner_country, "partner country") if spec.partner_country else None
    value_date = checks.cached(validate.day, spec.value_date, "value date")
    money = None
    if spec.value is not None:
        amount = checks.run(check_amount, spec.value, "value")
        currency = None
        if not spec.currency:
            checks.fail("missing_currency", "a value needs its currency, e.g. --currency USD", "currency")
        else:
            currency = checks.cached(check_currency, spec.currency, "currency")
        if amount is not None and currency:
            # What Money(amount, currency) holds: both already passed the checks it would run again.
            money = (amount, currency)
    dates = checks.part(_check_dates, spec.planned_start, spec.planned_end, spec.actual_start, spec.actual_end)
    given = tuple(spec.sectors.items())
    # Remembered only for text percentages: Decimal("60.0") == Decimal("60"), yet each is
    # recorded as written.
    if all(type(p) is str for _, p in given):
        sectors, industry = checks.part(_check_classification, programme, spec.industry, given,
                                        spec.derive_industry)
    else:
        sectors, industry = _check_classification(checks, programme, spec.industry, given, spec.derive_industry)
    participants = checks.part(_check_participants, tuple((p.name, p.role, p.country, p.kind, p.iati_ref)
                                                          for p in spec.participants))
    location_values = []
    for i, loc in enumerate(spec.locations):
        checks.run(fits, loc.name, f"locations[{i}].name", 300)
        checks.run(fits, loc.admin_area, f"locations[{i}].admin_area", 200)
        loc_country = checks.run(resolve_country, loc.country, f"locations[{i}].country") if loc.country else None
        lat = checks.run(_coordinate, loc.latitude, f"locations[{i}].latitude", 90)
        lon = checks.run(_coordinate, loc.longitude, f"locations[{i}].longitude", 180)
        location_values.append({"name": loc.name, "country": loc_country, "admin_area": loc.admin_area,
                                "latitude": lat, "longitude": lon})
    if spec.iati_identifier is not None:
        checks.run(fits, spec.iati_identifier, "iati_identifier", 200)
    if spec.national_id is not None:
        checks.run(fits, spec.national_id, "national_id", 100)
    source = checks.lookup(get_source, ctx, spec.source) if spec.source else None
    value_source = source
    if spec.value_source is not True:
        value_source = checks.lookup(get_source, ctx, spec.value_source) if isinstance(spec.value_source, str) else None
    checks.done()
    fields: dict[str, Any] = {
        "code": code,
        "title": title,
        "programme_id": programme.id if programme else None,
        "industry_id": industry.id if industry else None,
        "description": spec.description,
        "aliases": list(spec.aliases),
        "host_country": host,
        "partner_country": partner,
        "value_amount": money[0] if money else None,
        "value_currency": money[1] if money else None,
        "value_date": value_date,
        "value_source_id": value_source.id if (value_source and money) else None,
        "iati_identifier": spec.iati_identifier,
        "national_id": spec.national_id,
        "source_id": source.id if source else None,
        **dates,
    }
    return _Checked(fields, list(sectors), list(participants), list(spec.locations), location_values)


def as_registered(given: list[tuple[ParticipantSpec, str | None]],
                  organisations: Iterable[tuple[str, str | None, Any]]) -> list[tuple[ParticipantSpec, str | None]]:
    """The participants ``given``, those naming one of ``organisations`` (a project's current ones:
    name, IATI identifier, aliases) by its IATI identifier or an alias named as that organisation
    is: a file naming an organisation by another of its names names the same participant, not a
    change (the comparison is by name)."""
    by_ref: dict[str, str] = {}
    by_alias: dict[str, str] = {}
    names = set()
    for name, ref, aliases in organisations:
        names.add(name)
        if ref:
            by_ref.setdefault(ref, name)
        for alias in aliases if isinstance(aliases, list) else ():
            if isinstance(alias, str):
                by_alias.setdefault(alias, name)
    if not by_ref and not by_alias:
        return given
    out = []
    for p, country in given:
        name = p.name.strip()
        known = (by_ref.get(p.iati_ref) if p.iati_ref else None) or (by_alias.get(name) if name not in names else None)
        out.append((replace(p, name=known), country) if known is not None and known != p.name else (p, country))
    return out


def _audit_extra(checked: _Checked) -> dict[str, Any]:
    return {"sectors": {c: p for c, p in checked.sectors},
            "participants": [{"name": p.name, "role": p.role} for p, _ in checked.participants],
            "locations": [v["name"] for v in checked.location_values]}


def register_project(ctx: Context, spec: ProjectSpec) -> Project:
    checked = check_project(ctx, spec)
    code = checked.fields["code"]
    if ctx.session.scalar(select(Project.id).where(Project.code == code)) is not None:
        raise AlreadyExists(f"project id '{code}' already exists; choose another id")
    if spec.iati_identifier and ctx.session.scalar(
        select(Project.code).where(Project.iati_identifier == spec.iati_identifier)
    ):
        raise AlreadyExists(f"IATI identifier '{spec.iati_identifier}' is already registered")
    project = Project(**checked.fields)
    _replace_children(ctx, project, checked)
    ctx.session.add(project)
    ctx.session.flush()
    audit.record(ctx, "create", "project", project.code, None, audit.snapshot(project, **_audit_extra(checked)))
    return project


def _replace_children(ctx: Context, project: Project, checked: _Checked) -> None:
    if project.id is not None:  # delete the old rows first: the unique keys would clash
        project.sectors, project.locations, project.participants = [], [], []
        ctx.session.flush()
    project.sectors = [ProjectSector(dac_code=c, percent=p) for c, p in checked.sectors]
    project.locations = [Location(**v) for v in checked.location_values]
    project.participants = [Participant(organisation=_organisation(ctx, p, country), role=p.role)
                            for p, country in checked.participants]


def _children_state(project: Project) -> dict[str, Any]:
    return {
        "sectors": {s.dac_code: s.percent for s in project.sectors},
        "participants": [{"name": x.organisation.name, "role": x.role} for x in project.participants],
        "locations": [loc.name for loc in project.locations],
    }


def upsert_project(ctx: Context, spec: ProjectSpec, match_iati: bool = True,
                   memo: dict[Any, Any] | None = None) -> tuple[Project, str]:
    """Create the project, or bring the registered one (same id, or the same IATI identifier)
    up to date: returns it with "created", "updated" or "unchanged". Status history is not
    touched here; record status with :func:`add_status_event`. ``memo``: as for
    :func:`check_project`, in a batch."""
    checked = check_project(ctx, spec, memo)
    project = ctx.session.scalar(select(Project).where(Project.code == checked.fields["code"]))
    if project is None and match_iati and spec.iati_identifier:
        project = ctx.session.scalar(select(Project).where(Project.iati_identifier == spec.iati_identifier))
        if project is not None:
            checked.fields["code"] = project.code  # the registered id stays
    if project is None:
        return register_project(ctx, spec), "created"
    checked.participants = as_registered(checked.participants, [
        (x.organisation.name, x.organisation.iati_ref, x.organisation.aliases) for x in project.participants])
    before = audit.snapshot(project, **_children_state(project))
    # The children first: replacing them flushes (the old rows go before the new ones come), and
    # the project's own changes, set after, then reach the database in one UPDATE, so that its
    # version moves once whatever the edit holds.
    children = _children_state(project) != _audit_extra(checked)
    if children:
        _replace_children(ctx, project, checked)
    for key, value in checked.fields.items():
        if getattr(project, key) != value:
            setattr(project, key, value)
    if children:
        # The project's version covers its sectors, participants and locations too: an edit
        # based on the list as it was must be refused (If-Match) once the list has changed.
        project.updated_at = ctx.now
    ctx.session.flush()
    after = audit.snapshot(project, **_children_state(project))
    changed = {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}
    if not changed:
        return project, "unchanged"
    audit.record(ctx, "update", "project", project.code, before, after)
    return project, "updated"


def _coordinate(value: str | Decimal | None, field: str, limit: int) -> Decimal | None:
    if value is None:
        return None
    number = parse_amount(value, field) if not isinstance(value, Decimal) else value
    if abs(number) > limit:
        refuse("bad_coordinate", f"{field} {number} is outside -{limit}..{limit}", field, number)
    return number


def get_project(ctx: Context, code: str) -> Project:
    project = ctx.session.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise NotFound(f"project '{code}' does not exist; `cooptrack project list` shows the ids")
    return project


def list_projects(ctx: Context, programme: str | None = None, status: str | None = None,
                  limit: int | None = None) -> list[Project]:
    query = select(Project).order_by(Project.code)
    if programme:
        query = query.where(Project.programme_id == get_programme(ctx, programme).id)
    if status:
        query = query.where(Project.status == Status.parse(status).value)
    if limit:
        query = query.limit(limit)
    return list(ctx.session.scalars(query))


def history(ctx: Context, project: Project) -> list[StatusEvent]:
    return list(ctx.session.scalars(
        select(StatusEvent).where(StatusEvent.project_id == project.id)
        .order_by(StatusEvent.effective_start, StatusEvent.id)
    ))


def future_event_message(code: str) -> str:
    """Why a status event dated ``code`` (after today) is refused, for every path that records one."""
    return (f"status event dated {code} is in the future; record what has happened "
            "(a plan is the status it has now, with a note)")


def add_status_event(ctx: Context, spec: StatusSpec) -> StatusEvent:
    """Record a dated status. History is never rewritten: an event dated before the latest
    one needs ``backdate``, and the whole resulting sequence must follow the lifecycle."""
    checks = Checks()
    project = checks.run(get_project, ctx, spec.project)
    status = checks.run(Status.parse, spec.status)
    effective = checks.run(Period.parse, spec.effective, "effective date")
    source = checks.run(get_source, ctx, spec.source) if spec.source else None
    checks.done()
    assert project is not None and status is not None and effective is not None

    if effective.start > ctx.now.date():
        refuse("future_event", future_event_message(effective.code), "effective date", effective.code)
    events = history(ctx, project)
    if events and effective.start < events[-1].effective_start and not spec.backdate:
        latest = events[-1]
        refuse(
            "backdated_event",
            f"status event dated {effective.code} is before the project's latest event "
            f"({latest.status} on {latest.effective}); it would reorder history: pass --backdate "
            "if that is intended",
            "effective date",
            effective.code,
        )
    new = StatusEvent(
        project_id=project.id,
        status=status.value,
        effective=effective.code,
        effective_start=effective.start,
        recorded_at=ctx.now,
        source_id=source.id if source else None,
        note=spec.note,
        reopen=spec.reopen,
        backdated=bool(events and effective.start < events[-1].effective_start),
        actor=ctx.actor,
        claim_id=spec.claim_id,
    )
    sequence = sorted([*events, new], key=lambda e: (e.effective_start, e.id is None, e.id or 0))
    previous: Status | None = None
    for event in sequence:
        current = Status(event.status)
        check_transition(previous, current, reopen=event.reopen)
        previous = current

    before = {"status": project.status, "status_effective": project.status_effective}
    ctx.session.add(new)
    last = sequence[-1]
    project.status = last.status
    project.status_effective = last.effective
    project.status_start = last.effective_start
    ctx.session.flush()
    after = {"status": project.status, "status_effective": project.status_effective,
             "event": audit.snapshot(new)}
    audit.record(ctx, "status", "project", project.code, before, after)
    return new
