"""The organisation register: the organisations that take part in projects (created when a
project names a participant, by hand or by an import), listed, shown with their participations,
and corrected."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cooptrack.domain.countries import resolve_country
from cooptrack.errors import InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit, validate
from cooptrack.services.browse import bad_parameter
from cooptrack.services.context import Checks, Context, refuse
from cooptrack.services.editing import check_version
from cooptrack.services.projects import ROLES
from cooptrack.store.models import Organisation, Participant, Programme, Project

# IATI OrganisationType (codelist of the IATI Standard, CC BY 4.0): what `kind` holds.
ORGANISATION_TYPES = {
    "10": "Government", "11": "Local Government", "15": "Other Public Sector", "21": "International NGO",
    "22": "National NGO", "23": "Regional NGO", "24": "Partner Country based NGO",
    "30": "Public Private Partnership", "40": "Multilateral", "60": "Foundation", "70": "Private Sector",
    "71": "Private Sector in Provider Country", "72": "Private Sector in Aid Recipient Country",
    "73": "Private Sector in Third Country", "80": "Academic, Training and Research", "90": "Other",
}
# What a person corrects about an organisation; never its number, which participations name.
ORGANISATION_FIELDS = ("name", "country", "kind", "iati_ref", "aliases")
NAME_LIMIT = 300  # a participant's name, as a project's registration checks it
IATI_REF_LIMIT = 100  # the column's


def organisation_kind(value: str, field: str = "kind") -> str:
    """An IATI OrganisationType code (e.g. 10 government); else InvalidInput naming the codes."""
    code = str(value).strip()
    if code not in ORGANISATION_TYPES:
        refuse("unknown_kind", f"{field} '{value}' is not an IATI OrganisationType code; use one of "
               f"{', '.join(ORGANISATION_TYPES)} (e.g. 10 government, 40 multilateral, 70 private sector)",
               field, value)
    return code


def get_organisation(ctx: Context, organisation_id: int) -> Organisation:
    found = ctx.session.get(Organisation, organisation_id)
    if found is None:
        raise NotFound(f"organisation {organisation_id} does not exist; `cooptrack organisation list` shows "
                       "the ids")
    return found


def organisation_record(org: Organisation) -> dict[str, Any]:
    """An organisation's own fields: what a stale edit is answered with."""
    return {"id": org.id, "name": org.name, "country": org.country, "kind": org.kind, "iati_ref": org.iati_ref,
            "aliases": list(org.aliases or []), "version": org.version, "created_at": org.created_at,
            "updated_at": org.updated_at}


def _role_order(role: str) -> tuple[int, str]:
    return (ROLES.index(role) if role in ROLES else len(ROLES), role)


def _matches(org: Organisation, needle: str) -> bool:
    texts = [org.name, org.iati_ref or "", *(org.aliases or [])]
    return any(needle in text.casefold() for text in texts)


def list_organisations(ctx: Context, search: str | None = None, country: str | None = None,
                       kind: str | None = None) -> list[dict[str, Any]]:
    """Every organisation, by name, with the number of projects it takes part in and, by role, in
    how many of them it has that role. ``search``: text in the name, an alias or the IATI
    identifier, in any case; ``country``: a name or ISO code; ``kind``: an OrganisationType code.
    A filter that is not one of those is refused (a bad_parameter finding)."""
    query = select(Organisation)
    if country and country.strip():
        try:
            query = query.where(Organisation.country == resolve_country(country.strip(), "country"))
        except InvalidInput:
            raise bad_parameter("country", country, f"country '{country}' is not a country name or ISO code") \
                from None
    if kind and kind.strip():
        try:
            query = query.where(Organisation.kind == organisation_kind(kind))
        except InvalidInput as exc:
            raise bad_parameter("kind", kind, exc.message) from None
    organisations = list(ctx.session.scalars(query))
    needle = (search or "").strip().casefold()
    if needle:
        organisations = [org for org in organisations if _matches(org, needle)]
    projects: dict[int, int] = {org_id: count for org_id, count in ctx.session.execute(
        select(Participant.organisation_id, func.count(func.distinct(Participant.project_id)))
        .group_by(Participant.organisation_id))}
    roles: dict[int, dict[str, int]] = {}
    for org_id, role, count in ctx.session.execute(
            select(Participant.organisation_id, Participant.role, func.count(func.distinct(Participant.project_id)))
            .group_by(Participant.organisation_id, Participant.role)):
        roles.setdefault(org_id, {})[role] = count
    # Sorted here, not by the database: SQLite and PostgreSQL collate names differently.
    organisations.sort(key=lambda org: (org.name.casefold(), org.name, org.id))
    return [{"id": org.id, "name": org.name, "country": org.country, "kind": org.kind, "iati_ref": org.iati_ref,
             "aliases": list(org.aliases or []), "projects": projects.get(org.id, 0),
             "roles": dict(sorted(roles.get(org.id, {}).items(), key=lambda item: _role_order(item[0]))),
             "version": org.version} for org in organisations]


def organisation_detail(ctx: Context, organisation_id: int) -> dict[str, Any]:
    """An organisation's fields and version, and every project it takes part in, with its role
    there (a project where it has two roles is listed twice), by project id."""
    org = get_organisation(ctx, organisation_id)
    rows = ctx.session.execute(
        select(Project.code, Project.title, Programme.code, Participant.role).select_from(Participant)
        .join(Project, Project.id == Participant.project_id)
        .outerjoin(Programme, Programme.id == Project.programme_id)
        .where(Participant.organisation_id == org.id)).all()
    participations = sorted(({"project": code, "title": title, "programme": programme, "role": role}
                             for code, title, programme, role in rows),
                            key=lambda p: (p["project"], _role_order(p["role"])))
    return organisation_record(org) | {"projects": len({p["project"] for p in participations}),
                                       "participations": participations}


def _aliases(checks: Checks, given: Any) -> list[str] | None:
    """The aliases as stored: each trimmed and checked as a name, blanks and repeats left out (null:
    none)."""
    if given is None:
        return []
    if not isinstance(given, list) or not all(isinstance(a, str) for a in given):
        checks.fail("bad_aliases", "aliases must be a list of names", "aliases")
        return None
    kept: list[str] = []
    for i, alias in enumerate(given):
        found = checks.run(validate.text, alias, f"aliases[{i}]", False, NAME_LIMIT)
        if found and found not in kept:
            kept.append(found)
    return kept


def _optional(value: Any) -> str | None:
    """A value given for an optional field: None when blank (the field is cleared)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    """The values to store, once every one is valid (checked as a participant's when a project is
    registered: the name as a text of at most 300 characters, the country as any country name or
    ISO code); else every finding at once."""
    checks = Checks()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = checks.run(validate.text, changes["name"], "name", True, NAME_LIMIT)
    if "country" in changes:
        given = _optional(changes["country"])
        values["country"] = checks.run(resolve_country, given.strip(), "country") if given else None
    if "kind" in changes:
        given = _optional(changes["kind"])
        values["kind"] = checks.run(organisation_kind, given) if given else None
    if "iati_ref" in changes:
        values["iati_ref"] = checks.run(validate.text, changes["iati_ref"], "iati_ref", False, IATI_REF_LIMIT)
    if "aliases" in changes:
        values["aliases"] = _aliases(checks, changes["aliases"])
    checks.done()
    return values


def _taken(ctx: Context, org: Organisation, values: dict[str, Any]) -> list[Finding]:
    """A name or an IATI identifier that another organisation holds, each named with that one."""
    found = []
    name = values.get("name")
    if name is not None:
        other = ctx.session.scalar(select(Organisation).where(Organisation.name == name, Organisation.id != org.id))
        if other is not None:
            message = f"name '{name}' is organisation {other.id}'s already; choose another name"
            found.append(Finding("name_taken", message, field="name", value=name))
    ref = values.get("iati_ref")
    if ref is not None:
        other = ctx.session.scalar(select(Organisation).where(Organisation.iati_ref == ref,
                                                              Organisation.id != org.id))
        if other is not None:
            message = (f"IATI identifier '{ref}' is organisation {other.id}'s already ({other.name}); choose "
                       "another, or clear it there first")
            found.append(Finding("iati_ref_taken", message, field="iati_ref", value=ref))
    return found


def update_organisation(ctx: Context, organisation_id: int, changes: dict[str, Any],
                        expected_version: int) -> Organisation:
    """Correct an organisation (ORGANISATION_FIELDS) at ``expected_version``: each value checked
    as a participant's when a project is registered, the kind as an IATI OrganisationType code; a
    blank value clears a field (the name excepted); ``aliases`` is the whole new list. A name or an
    IATI identifier another organisation holds is refused, naming that one. One audit event when
    something changed (the version moves once), none otherwise."""
    org = get_organisation(ctx, organisation_id)
    check_version("organisation", organisation_id, org.version, expected_version,
                  lambda: audit.jsonable(organisation_record(org)))
    extra = sorted(set(changes) - set(ORGANISATION_FIELDS))
    if extra:
        raise InvalidInput.from_findings([
            Finding("unknown_field", f"an organisation has no editable field '{k}'; editable: "
                    f"{', '.join(ORGANISATION_FIELDS)}", field=k) for k in extra])
    values = {k: v for k, v in _checked(changes).items() if getattr(org, k) != v}
    taken = _taken(ctx, org, values)
    if taken:
        raise InvalidInput.from_findings(taken)
    if not values:
        return org
    before = audit.snapshot(org)
    _store(ctx, org, values, lambda: _taken(ctx, org, values))
    audit.record(ctx, "update", "organisation", org.id, before, audit.snapshot(org))
    return org


def _store(ctx: Context, org: Organisation, values: dict[str, Any], taken: Callable[[], list[Finding]]) -> None:
    """Write ``values`` on ``org``. A name or identifier another writer gave to another organisation
    after the check (PostgreSQL lets two writers run at once) is refused as the check refuses it,
    never as the database's unique constraint."""
    try:
        with ctx.session.begin_nested():
            for key, value in values.items():
                setattr(org, key, value)
            ctx.session.flush()
    except IntegrityError:
        found = taken()
        if not found:
            raise
        raise InvalidInput.from_findings(found) from None
