"""Edits with no lost updates: each names the version it was based on; an edit based on an
older version is refused (StaleVersion, with the record as it is now) and nothing is written.
Project edits go through the same checks and writer as imports (``upsert_project``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, func, join, or_, select, update
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from cooptrack.domain.indicators import FLAGS
from cooptrack.domain.money import check_amount
from cooptrack.domain.period import Period
from cooptrack.errors import InvalidInput, NotFound, StaleVersion
from cooptrack.findings import Finding
from cooptrack.services import audit, validate
from cooptrack.services.browse import _aggregated, _built, _Child, _Detail, _reader, project_detail
from cooptrack.services.context import Checks, Context
from cooptrack.services.programmes import IndustrySpec, check_industries, check_parties, get_programme
from cooptrack.services.projects import LocationSpec, ParticipantSpec, ProjectSpec, get_project, upsert_project
from cooptrack.services.sources import get_source
from cooptrack.store.models import (
    Indicator,
    Industry,
    IndustrySector,
    Location,
    Observation,
    Organisation,
    Participant,
    Programme,
    ProgrammeCommodity,
    ProgrammeParty,
    Project,
    ProjectSector,
    Source,
    Target,
)

PROGRAMME_FIELDS = ("name", "description", "aliases", "signed", "signed_occasion", "period_start", "period_end",
                    "parties", "industries")
INDUSTRY_KEYS = frozenset({"name", "dac_codes", "renamed_from"})
SHOWN = 5  # the records named in a refusal; the rest are counted
PROJECT_FIELDS = tuple(f.name for f in fields(ProjectSpec)
                       if f.name not in ("code", "iati_identifier", "derive_industry"))
OBSERVATION_FIELDS = ("value", "flags", "note", "source")


def check_version(kind: str, key: object, current: int, expected: int, now: Callable[[], dict[str, Any]]) -> None:
    """Refuse an edit based on another version than ``current``; ``now()`` gives the current
    record for the refusal (computed only then)."""
    if current != expected:
        raise StaleVersion(f"{kind} '{key}' is at version {current}, the edit was based on version {expected}; "
                           "someone changed it meanwhile: compare with the current record and reapply", now())


def _unknown(changes: dict[str, Any], allowed: tuple[str, ...], kind: str) -> None:
    extra = sorted(set(changes) - set(allowed))
    if extra:
        findings = [Finding("unknown_field", f"{kind} has no editable field '{k}'; editable: {', '.join(allowed)}",
                            field=k) for k in extra]
        raise InvalidInput.from_findings(findings)


def _apply(ctx: Context, row: Any, values: dict[str, Any], entity: str, key: object) -> None:
    """Set checked values on a row; audit the change when there is one (the version moves only then)."""
    before = audit.snapshot(row)
    for name, value in values.items():
        setattr(row, name, value)
    ctx.session.flush()
    after = audit.snapshot(row)
    if {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        audit.record(ctx, "update", entity, key, before, after)


def programme_view(p: Programme) -> dict[str, Any]:
    return {"code": p.code, "name": p.name, "aliases": p.aliases, "description": p.description, "signed": p.signed,
            "signed_occasion": p.signed_occasion, "period_start": p.period_start, "period_end": p.period_end,
            "parties": [x.country for x in p.parties], "industries": [i.name for i in p.industries],
            "industry_dac_codes": {i.name: i.dac_codes for i in p.industries}, "version": p.version}


def _programme_state(p: Programme) -> dict[str, Any]:
    """The programme's row with its parties and industries, as its audit events record it."""
    return audit.snapshot(p, parties=[x.country for x in p.parties],
                          industries=[{"name": i.name, "dac_codes": i.dac_codes} for i in p.industries])


def update_programme(ctx: Context, code: str, changes: dict[str, Any], expected_version: int) -> Programme:
    """Apply ``changes`` to the programme at ``expected_version``. ``parties`` and ``industries``
    are whole new lists (an industry: ``{"name", "dac_codes", "renamed_from"}``), checked as at
    registration; a party or an industry that other records rely on is kept (the refusal says
    which records). The version moves once, whatever changed."""
    programme = get_programme(ctx, code)
    check_version("programme", code, programme.version, expected_version,
                  lambda: audit.jsonable(programme_view(programme)))
    _unknown(changes, PROGRAMME_FIELDS, "a programme")
    checks = Checks()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = checks.run(validate.text, changes["name"], "name")
    periods: dict[str, Period | None] = {}
    for key in ("signed", "period_start", "period_end"):
        if key in changes:
            found = checks.run(validate.period, changes[key], key) if changes[key] else None
            values[key], periods[key] = (found.code if found else None), found
    if "period_start" in changes or "period_end" in changes:
        # The pair the edit leaves, checked as at registration: a side not given keeps its value
        # (a side given but invalid has its own finding, and no order to check).
        start, end = (periods[k] if k in changes else _stored_period(getattr(programme, k), k)
                      for k in ("period_start", "period_end"))
        if start and end:
            checks.run(validate.date_order, start.start, end.end, "period start", "period end")
    if "aliases" in changes:
        aliases = changes["aliases"]
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            checks.fail("bad_aliases", "aliases must be a list of names", "aliases")
        else:
            values["aliases"] = [a.strip() for a in aliases if a.strip()]
    for key in ("description", "signed_occasion"):
        if key in changes:
            values[key] = changes[key] or None
    parties = _checked_parties(ctx, programme, changes["parties"], checks) if "parties" in changes else None
    industries = (_checked_industries(ctx, programme, changes["industries"], checks)
                  if "industries" in changes else None)
    checks.done()
    before = _programme_state(programme)
    # Parties and industries first: their rows may need a flush of their own (see _replace_industries),
    # which must not write the programme's row (its version would move twice).
    moved = parties is not None and _replace_parties(programme, parties)
    moved = (industries is not None and _replace_industries(ctx, programme, industries)) or moved
    for name, value in values.items():
        setattr(programme, name, value)
    if moved:  # rows of their own: the programme's version moves with them, as with its columns
        programme.updated_at = ctx.now
        flag_modified(programme, "updated_at")
    ctx.session.flush()
    after = _programme_state(programme)
    if {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        audit.record(ctx, "update", "programme", programme.code, before, after)
    return programme


def _stored_period(code: str | None, field: str) -> Period | None:
    """A period the programme holds; None when it holds none, or one no longer readable (the
    order is then left unchecked rather than refusing an edit of the other side)."""
    if not code:
        return None
    try:
        return Period.parse(code, field)
    except InvalidInput:
        return None


def _some(items: list[str]) -> str:
    """``items`` for a message: the first few, then how many more."""
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _checked_parties(ctx: Context, programme: Programme, given: Any, checks: Checks) -> list[str] | None:
    """The new parties' ISO codes; None with findings when they cannot be the programme's parties."""
    if not isinstance(given, list) or not all(isinstance(p, str) for p in given):
        checks.fail("bad_parties", 'parties must be a list of countries (ISO codes or names), e.g. ["KAZ", "KOR"]',
                    "parties")
        return None
    found = len(checks.findings)
    parties = check_parties(checks, given, "e.g. KAZ and KOR")
    if len(checks.findings) > found:
        return None
    for country in [x.country for x in programme.parties if x.country not in parties]:
        tied = _party_ties(ctx, programme, country)
        if tied:
            checks.fail("party_in_use", f"party {country} cannot be removed: {tied}", "parties", country)
    return parties


def _party_ties(ctx: Context, programme: Programme, country: str) -> str | None:
    """What of the programme names ``country`` as a side (its targets, the commodities of its
    trade), and how to free it; None when nothing does."""
    names = or_(Target.reporter == country, Target.partner == country)
    targets = [str(t) for t in ctx.session.scalars(
        select(Target.id).where(Target.programme_id == programme.id, names).order_by(Target.id))]
    commodities = ctx.session.scalar(select(func.count(ProgrammeCommodity.id)).where(
        ProgrammeCommodity.programme_id == programme.id,
        or_(ProgrammeCommodity.reporter == country, ProgrammeCommodity.partner == country))) or 0
    if not targets and not commodities:
        return None
    what = []
    if targets:
        what.append(("target " if len(targets) == 1 else "targets ") + _some(targets))
    if commodities:
        what.append(f"{commodities} {'commodity' if commodities == 1 else 'commodities'} of its trade")
    fix = f"keep {country} among the parties"
    if targets:
        fix += ", or first give those targets another reporter and partner"
    return f"programme '{programme.code}' names it as reporter or partner in {' and '.join(what)}; {fix}"


_Planned = list[tuple[Industry | None, str, list[str]]]  # (the row kept, or None for a new one; name; DAC codes)


def _checked_industries(ctx: Context, programme: Programme, given: Any, checks: Checks) -> _Planned | None:
    """Each new industry with the row it keeps (by its name, or its ``renamed_from``); None with
    findings when the list cannot be the programme's industries."""
    shape = ('industries must be a list of {"name": ..., "dac_codes": [...]} (add "renamed_from": the current '
             'name, to rename one); send [] for none')
    if not isinstance(given, list):
        checks.fail("bad_industries", shape, "industries")
        return None
    found = len(checks.findings)
    specs: list[IndustrySpec] = []
    renames: list[Any] = []
    for i, item in enumerate(given):
        if (not isinstance(item, dict) or set(item) - INDUSTRY_KEYS
                or not isinstance(item.get("dac_codes") or [], list)):
            checks.fail("bad_industries", f"industries[{i}]: {shape}", f"industries[{i}]")
            continue
        specs.append(IndustrySpec(item.get("name") or "", [str(c) for c in item.get("dac_codes") or []]))
        was = item.get("renamed_from")
        renames.append(was.strip() if isinstance(was, str) else was)
    if len(checks.findings) > found:
        return None
    checked = check_industries(checks, specs)
    if len(checks.findings) > found:
        return None
    current = {i.name: i for i in programme.industries}
    listed = "; ".join(current) or "none defined"
    claimed: dict[str, int] = {}
    plan: _Planned = []
    for i, ((name, codes), was) in enumerate(zip(checked, renames, strict=True)):
        key = name
        if was is not None:
            if not isinstance(was, str) or was not in current:
                checks.fail("unknown_industry", f"renamed_from '{was}' is not one of programme '{programme.code}' "
                            f"industries ({listed}); give the current name of the industry to rename",
                            f"industries[{i}].renamed_from", was)
                continue
            key = was
        if key in claimed:
            checks.fail("industry_twice", f"industries[{claimed[key]}] and industries[{i}] both stand for the "
                        f"industry '{key}'; keep it once (renamed_from renames it; another name beside it adds "
                        "a new industry)", f"industries[{i}]", key)
            continue
        if key in current:
            claimed[key] = i
        plan.append((current.get(key), name, codes))
    for name, row in current.items():
        if name in claimed:
            continue
        projects = list(ctx.session.scalars(select(Project.code).where(Project.industry_id == row.id)
                                            .order_by(Project.code)))
        if projects:
            checks.fail("industry_in_use", f"industry '{name}' cannot be removed: {len(projects)} "
                        f"{'project is' if len(projects) == 1 else 'projects are'} filed under it "
                        f"({_some(projects)}); file them under another industry first, or keep it (a rename "
                        "keeps them: renamed_from in the API, --rename-industry on the command line)",
                        "industries", name)
    return plan if len(checks.findings) == found else None


def _replace_parties(programme: Programme, parties: list[str]) -> bool:
    """Make ``parties`` the programme's, in order (a party kept keeps its row); whether any changed."""
    if [x.country for x in programme.parties] == parties:
        return False
    rows = {x.country: x for x in programme.parties}
    kept = []
    for position, country in enumerate(parties):
        row = rows.get(country) or ProgrammeParty(country=country)
        row.position = position
        kept.append(row)
    programme.parties = kept
    return True


def _replace_industries(ctx: Context, programme: Programme, plan: _Planned) -> bool:
    """Make ``plan`` the programme's industries, in order: a kept row keeps its id (and the
    projects filed under it), a renamed one takes its new name; whether any changed."""
    if [(i.name, i.dac_codes) for i in programme.industries] == [(name, codes) for _, name, codes in plan]:
        return False
    kept = {id(row) for row, _, _ in plan if row is not None}
    if any(id(row) not in kept for row in programme.industries):
        # The database checks each name's uniqueness row by row: the industries that go, go
        # first, so that one kept may take a name of theirs.
        programme.industries = [row for row in programme.industries if id(row) in kept]
        ctx.session.flush()
    names = {row.name for row in programme.industries}
    renamed = [(row, name) for row, name, _ in plan if row is not None and row.name != name]
    if any(name in names for _, name in renamed):  # two swap their names: each through a free one
        for row, _ in renamed:
            row.name = f"(renaming {row.id})"
        ctx.session.flush()
    rows = []
    for position, (found, name, codes) in enumerate(plan):
        if found is None:
            industry = Industry(name=name, sectors=[IndustrySector(dac_code=c) for c in codes])
        else:
            industry = found
            industry.name = name
            if industry.dac_codes != codes:
                sectors = {s.dac_code: s for s in industry.sectors}
                industry.sectors = [sectors.get(c) or IndustrySector(dac_code=c) for c in codes]
        industry.position = position
        rows.append(industry)
    programme.industries = rows
    return True


def project_spec(ctx: Context, project: Project) -> ProjectSpec:
    """The spec that would register ``project`` as it is now."""
    def code_of(source_id: int | None) -> str | None:
        source = ctx.session.get(Source, source_id) if source_id else None
        return (source.code or str(source.id)) if source else None
    return ProjectSpec(
        code=project.code, title=project.title,
        programme=project.programme.code if project.programme else None,
        industry=project.industry.name if project.industry else None,
        description=project.description, aliases=list(project.aliases),
        host_country=project.host_country, partner_country=project.partner_country,
        value=project.value_amount, currency=project.value_currency, value_date=project.value_date,
        sectors={s.dac_code: s.percent for s in project.sectors},
        participants=[ParticipantSpec(x.organisation.name, x.role, x.organisation.country, x.organisation.kind,
                                      x.organisation.iati_ref) for x in project.participants],
        locations=[LocationSpec(loc.name, loc.country, loc.admin_area, loc.latitude, loc.longitude)
                   for loc in project.locations],
        planned_start=project.planned_start, planned_end=project.planned_end,
        actual_start=project.actual_start, actual_end=project.actual_end,
        iati_identifier=project.iati_identifier, national_id=project.national_id,
        source=code_of(project.source_id), value_source=code_of(project.value_source_id),
    )


def _participants(value: Any) -> list[ParticipantSpec]:
    if not isinstance(value, list):
        raise _bad("participants", "participants must be a list of {name, role, country}")
    found = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not item.get("name") or not item.get("role"):
            raise _bad(f"participants[{i}]", f"participants[{i}] needs a name and a role")
        found.append(ParticipantSpec(str(item["name"]), str(item["role"]), item.get("country"), item.get("kind"),
                                     item.get("iati_ref")))
    return found


def _locations(value: Any) -> list[LocationSpec]:
    if not isinstance(value, list):
        raise _bad("locations", "locations must be a list of {name, country, latitude, longitude}")
    found = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not item.get("name"):
            raise _bad(f"locations[{i}]", f"locations[{i}] needs a name")
        found.append(LocationSpec(str(item["name"]), item.get("country"), item.get("admin_area"),
                                  item.get("latitude"), item.get("longitude")))
    return found


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Finding("invalid", message, field=field)])


@dataclass(frozen=True)
class EditedProject:
    """A project edited without loading it (an edit of its texts alone): what the caller needs of it."""

    code: str
    version: int


def update_project(ctx: Context, code: str, changes: dict[str, Any],
                   expected_version: int) -> tuple[Project | EditedProject, str]:
    """Apply ``changes`` (ProjectSpec field names) to the project at ``expected_version``."""
    if changes and changes.keys() <= _TEXTS:
        edited = _edit_texts(ctx, code, changes, expected_version)
        if edited is not None:
            return edited
    project = get_project(ctx, code)
    check_version("project", code, project.version, expected_version, lambda: audit.jsonable(project_detail(ctx, code)))
    _unknown(changes, PROJECT_FIELDS, "a project")
    given = dict(changes)
    if "participants" in given:
        given["participants"] = _participants(given["participants"])
    if "locations" in given:
        given["locations"] = _locations(given["locations"])
    if "sectors" in given and not isinstance(given["sectors"], dict):
        raise _bad("sectors", "sectors must map DAC codes to percentages, e.g. {\"21020\": 100}")
    if "aliases" in given and not isinstance(given["aliases"], list):
        raise _bad("aliases", "aliases must be a list of names")
    if given and given.keys() <= _TEXTS:
        return _edit_loaded_texts(ctx, project, given)
    if "source" in given:
        given["value_source"] = True  # a new source is the value's source too, as when registering
    if "programme" in given and "industry" not in given and \
            (given["programme"] or None) != (project.programme.code if project.programme else None):
        # The industry was one of the old programme's: under the new one it is derived from the
        # sectors as for a new project (or none), rather than refused as unknown there.
        given["industry"] = None
    # A project without an industry gets one derived from its sectors only when those (or its
    # programme) change: editing its description must not file it under an industry.
    given["derive_industry"] = "sectors" in given or "programme" in given
    spec = replace(project_spec(ctx, project), **given)
    return upsert_project(ctx, spec, match_iati=False)


# Fields whose check needs nothing but their own value: an edit of these alone is checked and
# written without rebuilding and re-checking the whole project (the team's most frequent edit).
_TEXTS = frozenset({"title", "description", "aliases"})
# What a project's audit event records besides its row: its sectors, participants and locations,
# which an edit of its texts leaves as they are.
_TEXT_CHILDREN = (
    _Child((ProjectSector.dac_code, ProjectSector.percent), ProjectSector, ProjectSector.project_id == Project.id,
           (ProjectSector.dac_code,)),
    _Child((Organisation.name, Participant.role),
           join(Participant, Organisation, Organisation.id == Participant.organisation_id),
           Participant.project_id == Project.id, (Participant.id,)),
    _Child((Location.name,), Location, Location.project_id == Project.id, (Location.id,)),
)
# The row's columns as audit.snapshot gives them: the mapper's column attributes, in its order.
_SNAPSHOT = tuple(attr.key for attr in Project.__mapper__.column_attrs)
_VERSION = _SNAPSHOT.index("version")
_PROJECTS = cast(Table, Project.__table__)
_IDENTITY = Project.__mapper__.identity_key_from_primary_key  # the session's key of a project's object


def _text_read(dialect: Dialect) -> _Detail:
    """The project's row and its children as its audit event records them, in one statement (as
    project_detail reads its children), built once per dialect."""
    found: _Detail = _built(("project text edit", dialect.name), lambda: _Detail(
        select(*(getattr(Project, key) for key in _SNAPSHOT),
               *(_aggregated(child, dialect.name) for child in _TEXT_CHILDREN))
        .where(Project.code == bindparam("code")),
        tuple(tuple((i, r) for i, c in enumerate(child.columns) if (r := _reader(c, dialect)) is not None)
              for child in _TEXT_CHILDREN),
        None if dialect.name == "postgresql" else json.loads))
    return found


def _text_update(columns: frozenset[str]) -> Any:
    """The UPDATE of ``columns`` of a project at a version (bound: p_id, p_version, p_next and p_<column>),
    built once per set of columns and dialect-neutral."""
    found = _UPDATES.get(columns)
    if found is None:
        found = _UPDATES[columns] = (
            update(_PROJECTS).where(_PROJECTS.c.id == bindparam("p_id"), _PROJECTS.c.version == bindparam("p_version"))
            .values({**{key: bindparam(f"p_{key}", type_=_PROJECTS.c[key].type) for key in _SNAPSHOT if key in columns},
                     "version": bindparam("p_next")}))
    return found


_UPDATES: dict[frozenset[str], Any] = {}


def _edit_texts(ctx: Context, code: str, changes: dict[str, Any],
                expected_version: int) -> tuple[EditedProject, str] | None:
    """``update_project`` for an edit of ``_TEXTS`` alone, without loading the project: the same
    checks, refusals, rows written and audit event as ``_edit_loaded_texts`` (the project and what
    its audit event records of its other rows read in one statement; its row written with the
    version it was read at, as the ORM writes a versioned row). None when the ORM's way must be
    taken: no project of that code (for its not-found message), or one the session holds already
    (whose object must see the edit)."""
    session = ctx.session
    session.flush()  # pending changes first, as the ORM's read of the project would
    conn = session.connection()
    read = _text_read(conn.dialect)
    row = conn.execute(read.statement, {"code": code}).first()
    if row is None or _IDENTITY((row[0],)) in session.identity_map:
        return None
    stored = dict(zip(_SNAPSHOT, row[:len(_SNAPSHOT)], strict=True))
    version = row[_VERSION]
    check_version("project", code, version, expected_version, lambda: audit.jsonable(project_detail(ctx, code)))
    given = dict(changes)
    if "aliases" in given and not isinstance(given["aliases"], list):
        raise _bad("aliases", "aliases must be a list of names")
    values = _text_values(given)
    changed = {key: value for key, value in values.items() if stored[key] != value}
    if not changed:
        return EditedProject(stored["code"], version), "unchanged"
    children = []
    for aggregate, readers in zip(row[len(_SNAPSHOT):], read.readers, strict=True):
        items = (read.parse(aggregate) if read.parse else aggregate) if aggregate is not None else []
        for item in items:
            for i, reader in readers:
                item[i] = reader(item[i])
        children.append(items)
    sectors, participants, locations = children
    before = audit.snapshot_of(stored, sectors={dac: percent for dac, percent in sectors},
                               participants=[{"name": name, "role": role} for name, role in participants],
                               locations=[name for (name,) in locations])
    # The version check the ORM makes of a versioned row: written only if still at the version read.
    # updated_at is set by its column's onupdate, as by the ORM's flush.
    written = conn.execute(_text_update(frozenset(changed)),
                           {"p_id": stored["id"], "p_version": version, "p_next": version + 1,
                            **{f"p_{key}": value for key, value in changed.items()}})
    if written.rowcount != 1:  # another writer's edit committed since the read: refused as the ORM's flush is
        session.rollback()  # (which rolls the transaction back)
        raise StaleDataError(f"UPDATE statement on table '{_PROJECTS.name}' expected to update 1 row(s); "
                             f"{written.rowcount} were matched.")
    params = written.last_updated_params()  # with updated_at as its onupdate gave it
    assert not isinstance(params, list)
    after = dict(before)
    after.update(audit.snapshot_of({**changed, "version": version + 1, "updated_at": params["updated_at"]}))
    if not {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        return EditedProject(stored["code"], version + 1), "unchanged"
    audit.record_now(ctx, "update", "project", stored["code"], before, after)
    return EditedProject(stored["code"], version + 1), "updated"


def _text_values(given: dict[str, Any]) -> dict[str, Any]:
    """The checked values of an edit of ``_TEXTS``."""
    checks = Checks()
    values: dict[str, Any] = {}
    if "title" in given:
        values["title"] = checks.run(validate.text, given["title"], "title")
    if "description" in given:
        values["description"] = given["description"]
    if "aliases" in given:
        values["aliases"] = list(given["aliases"])
    checks.done()
    return values


_SECTOR_STATE = (select(ProjectSector.dac_code, ProjectSector.percent)
                 .where(ProjectSector.project_id == bindparam("pid")).order_by(ProjectSector.dac_code))
_PARTICIPANT_STATE = (select(Organisation.name, Participant.role)
                      .join(Organisation, Organisation.id == Participant.organisation_id)
                      .where(Participant.project_id == bindparam("pid")).order_by(Participant.id))
_LOCATION_STATE = select(Location.name).where(Location.project_id == bindparam("pid")).order_by(Location.id)


def _edit_loaded_texts(ctx: Context, project: Project, given: dict[str, Any]) -> tuple[Project, str]:
    """``update_project`` for an edit of ``_TEXTS`` alone of a project the session holds: the same
    checks of those fields, the same rows written and the same audit event (the project's sectors,
    participants and locations, which it leaves as they are, read with plain queries)."""
    values = _text_values(given)
    conn, pid = ctx.session.connection(), {"pid": project.id}
    children = {
        "sectors": {dac: percent for dac, percent in conn.execute(_SECTOR_STATE, pid)},
        "participants": [{"name": name, "role": role} for name, role in conn.execute(_PARTICIPANT_STATE, pid)],
        "locations": list(conn.scalars(_LOCATION_STATE, pid)),
    }
    before = audit.snapshot(project, **children)
    for key, value in values.items():
        if getattr(project, key) != value:
            setattr(project, key, value)
    ctx.session.flush()
    after = audit.snapshot(project, **children)
    if not {k for k in after if before.get(k) != after.get(k)} - {"updated_at", "version"}:
        return project, "unchanged"
    audit.record(ctx, "update", "project", project.code, before, after)
    return project, "updated"


def observation_view(o: Observation) -> dict[str, Any]:
    return {"id": o.id, "indicator": o.indicator.code, "reporter": o.reporter, "partner": o.partner,
            "hs_code": o.hs_code, "period": o.period, "value": o.value, "unit": o.unit,
            "flags": [f for f in o.flags.split(",") if f], "note": o.note,
            "source": (o.source.code or str(o.source.id)) if o.source else None, "version": o.version}


def read_observation(ctx: Context, observation_id: int) -> dict[str, Any]:
    """The observation as observation_view shows it, read in one query (the read API's path)."""
    row = ctx.session.execute(
        select(Observation.id, Indicator.code, Observation.reporter, Observation.partner, Observation.hs_code,
               Observation.period, Observation.value, Observation.unit, Observation.flags, Observation.note,
               Source.code, Source.id, Observation.version)
        .join(Indicator, Indicator.id == Observation.indicator_id)
        .outerjoin(Source, Source.id == Observation.source_id)
        .where(Observation.id == observation_id)).first()
    if row is None:
        get_observation(ctx, observation_id)  # its not-found message
    assert row is not None
    oid, indicator, reporter, partner, hs_code, period, value, unit, flags, note, scode, sid, version = row
    return {"id": oid, "indicator": indicator, "reporter": reporter, "partner": partner, "hs_code": hs_code,
            "period": period, "value": value, "unit": unit, "flags": [f for f in flags.split(",") if f],
            "note": note, "source": (scode or str(sid)) if sid is not None else None, "version": version}


def get_observation(ctx: Context, observation_id: int) -> Observation:
    found = ctx.session.get(Observation, observation_id)
    if found is None:
        raise NotFound(f"observation {observation_id} does not exist; `cooptrack observation list` shows them")
    return found


def update_observation(ctx: Context, observation_id: int, changes: dict[str, Any],
                       expected_version: int) -> Observation:
    o = get_observation(ctx, observation_id)
    check_version("observation", observation_id, o.version, expected_version,
                  lambda: audit.jsonable(observation_view(o)))
    _unknown(changes, OBSERVATION_FIELDS, "an observation")
    checks = Checks()
    values: dict[str, Any] = {}
    if "value" in changes:
        values["value"] = checks.run(check_amount, changes["value"], "value")
    if "flags" in changes:
        flags = changes["flags"] or []
        unknown = [f for f in flags if f not in FLAGS] if isinstance(flags, list) else ["?"]
        if unknown:
            checks.fail("unknown_flag", f"flags {unknown} are not flags; use {', '.join(sorted(FLAGS))}", "flags")
        else:
            values["flags"] = ",".join(sorted(set(flags)))
    if "note" in changes:
        values["note"] = changes["note"] or None
    if "source" in changes:
        source = checks.run(get_source, ctx, changes["source"]) if changes["source"] else None
        values["source_id"] = source.id if source else None
    checks.done()
    _apply(ctx, o, values, "observation", o.id)
    return o

