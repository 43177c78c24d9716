"""The organisation register: the organisations that take part in projects (created when a
project names a participant, by hand or by an import), listed, shown with their participations,
and corrected."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from cooptrack.domain.countries import resolve_country
from cooptrack.errors import InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.services import audit, validate
from cooptrack.services.browse import bad_parameter
from cooptrack.services.context import Checks, Context, refuse
from cooptrack.services.editing import check_version
from cooptrack.services.projects import ALIASED_ORGANISATIONS, ROLES
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


def _checked(changes: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """The values that are valid (checked as a participant's when a project is registered: the name
    as a text of at most 300 characters, the country as any country name or ISO code), and the
    findings of the others: the caller adds what needs the database and reports them together."""
    checks = Checks()
    values: dict[str, Any] = {}

    def check(key: str, find: Callable[[], Any]) -> None:
        known = len(checks.findings)
        value = find()
        if len(checks.findings) == known:
            values[key] = value

    if "name" in changes:
        check("name", lambda: checks.run(validate.text, changes["name"], "name", True, NAME_LIMIT))
    if "country" in changes:
        country = _optional(changes["country"])
        check("country", lambda: checks.run(resolve_country, country.strip(), "country") if country else None)
    if "kind" in changes:
        kind = _optional(changes["kind"])
        check("kind", lambda: checks.run(organisation_kind, kind) if kind else None)
    if "iati_ref" in changes:
        check("iati_ref", lambda: checks.run(validate.text, changes["iati_ref"], "iati_ref", False, IATI_REF_LIMIT))
    if "aliases" in changes:
        check("aliases", lambda: _aliases(checks, changes["aliases"]))
    return values, checks.findings


MERGE = "`cooptrack organisation merge`"


def _alias_holders(ctx: Context, texts: Collection[str], apart: Collection[int]) -> dict[str, Organisation]:
    """Of ``texts``, those that an organisation other than ``apart`` holds as an alias, each with
    that organisation (the lowest number when several do). One query, over the organisations
    whose aliases are not empty."""
    wanted = set(texts)
    if not wanted:
        return {}
    found: dict[str, int] = {}
    for org_id, aliases in ctx.session.execute(ALIASED_ORGANISATIONS):
        if org_id not in apart and isinstance(aliases, list):
            for alias in aliases:
                if alias in wanted:
                    found.setdefault(alias, org_id)
    return {alias: ctx.session.get_one(Organisation, org_id) for alias, org_id in found.items()}


def _alias_clashes(ctx: Context, aliases: list[str], apart: Collection[int]) -> list[Finding]:
    """An alias that is the name or an alias of an organisation other than ``apart``: a project
    naming it would be matched to that one (names first), so it is refused, naming the holder."""
    if not aliases:
        return []
    named = {o.name: o for o in ctx.session.scalars(
        select(Organisation).where(Organisation.name.in_(aliases), Organisation.id.not_in(apart)))}
    held = _alias_holders(ctx, aliases, apart)
    found = []
    for alias in aliases:
        if alias in named:
            message = (f"alias '{alias}' is organisation {named[alias].id}'s name; a project naming it takes part "
                       f"as that one: merge the two organisations instead ({MERGE})")
            found.append(Finding("alias_taken", message, field="aliases", value=alias))
        elif alias in held:
            holder = held[alias]
            message = (f"alias '{alias}' is an alias of organisation {holder.id} ({holder.name}) already; take it "
                       f"off there first, or merge the two organisations ({MERGE})")
            found.append(Finding("alias_taken", message, field="aliases", value=alias))
    return found


def _taken(ctx: Context, org: Organisation, values: dict[str, Any], added: list[str]) -> list[Finding]:
    """A name or an IATI identifier that another organisation holds, a name that is another
    organisation's alias and an ``added`` alias that is another organisation's name or alias, each
    named with that one."""
    found = []
    name = values.get("name")
    if name is not None:
        other = ctx.session.scalar(select(Organisation).where(Organisation.name == name, Organisation.id != org.id))
        if other is not None:
            message = f"name '{name}' is organisation {other.id}'s already; choose another name"
            found.append(Finding("name_taken", message, field="name", value=name))
        elif (holder := _alias_holders(ctx, [name], [org.id]).get(name)) is not None:
            message = (f"name '{name}' is an alias of organisation {holder.id} ({holder.name}); take it off there "
                       f"first, or merge the two organisations ({MERGE})")
            found.append(Finding("name_taken", message, field="name", value=name))
    ref = values.get("iati_ref")
    if ref is not None:
        other = ctx.session.scalar(select(Organisation).where(Organisation.iati_ref == ref,
                                                              Organisation.id != org.id))
        if other is not None:
            message = (f"IATI identifier '{ref}' is organisation {other.id}'s already ({other.name}); choose "
                       "another, or clear it there first")
            found.append(Finding("iati_ref_taken", message, field="iati_ref", value=ref))
    found += _alias_clashes(ctx, added, [org.id])
    return found


def update_organisation(ctx: Context, organisation_id: int, changes: dict[str, Any],
                        expected_version: int) -> Organisation:
    """Correct an organisation (ORGANISATION_FIELDS) at ``expected_version``: each value checked
    as a participant's when a project is registered, the kind as an IATI OrganisationType code; a
    blank value clears a field (the name excepted); ``aliases`` is the whole new list. A name or an
    IATI identifier another organisation holds is refused, naming that one, and so are a name that
    is another organisation's alias and a new alias that is another organisation's name or alias
    (a project naming it would be matched to that one). One audit event when something changed
    (the version moves once), none otherwise."""
    org = get_organisation(ctx, organisation_id)
    check_version("organisation", organisation_id, org.version, expected_version,
                  lambda: audit.jsonable(organisation_record(org)))
    extra = sorted(set(changes) - set(ORGANISATION_FIELDS))
    if extra:
        raise InvalidInput.from_findings([
            Finding("unknown_field", f"an organisation has no editable field '{k}'; editable: "
                    f"{', '.join(ORGANISATION_FIELDS)}", field=k) for k in extra])
    valid, findings = _checked(changes)
    values = {k: v for k, v in valid.items() if getattr(org, k) != v}
    added = [a for a in values.get("aliases", []) if a not in (org.aliases or [])]
    findings += _taken(ctx, org, values, added)  # every finding at once, the database's too
    if findings:
        raise InvalidInput.from_findings(findings)
    if not values:
        return org
    before = audit.snapshot(org)
    _store(ctx, org, values, lambda: _taken(ctx, org, values, added))
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


# -- merging two records of one organisation ------------------------------------------------------

# What a merge fills in from the other organisation where the kept one has nothing, or chooses
# between when both hold different values (the name never: the other's becomes an alias).
MERGE_FIELDS = ("country", "kind", "iati_ref")


@dataclass
class Merged:
    """What a merge did: the organisation kept and the other's snapshot as it was; the
    participations moved to the kept one and those dropped because it had that role in that
    project already, each as {"project": id, "role": role}, by project; the projects whose
    participant list changed (their version moved), by id."""

    organisation: Organisation
    merged: dict[str, Any] = field(default_factory=dict)
    moved: list[dict[str, str]] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)


def _preferences(given: Iterable[str], option: str) -> tuple[set[str], list[Finding]]:
    chosen: set[str] = set()
    found = []
    for key in given:
        if key in MERGE_FIELDS:
            chosen.add(key)
        else:
            message = (f"{option} '{key}' is not a field a merge chooses between; choose among "
                       f"{', '.join(MERGE_FIELDS)}")
            found.append(Finding("unknown_field", message, field=option, value=str(key)[:40]))
    return chosen, found


def _conflict(keep: Organisation, other: Organisation, key: str) -> Finding:
    message = (f"{key} differs: organisation {keep.id} ({keep.name}) has '{getattr(keep, key)}', organisation "
               f"{other.id} ({other.name}) has '{getattr(other, key)}'; say which to keep (--prefer-keep {key} or "
               f"--prefer-other {key}; in the API prefer_keep or prefer_other)")
    return Finding("merge_conflict", message, field=key, value=getattr(other, key))


def _merged_values(keep: Organisation, other: Organisation, prefer_other: Iterable[str],
                   prefer_keep: Iterable[str]) -> tuple[dict[str, Any], list[Finding]]:
    """The fields ``keep`` takes from ``other`` (those it lacks, and those preferred), and every
    finding: an unknown preference, a field preferred both ways, a conflict nobody decided."""
    others, found = _preferences(prefer_other, "prefer_other")
    keeps, more = _preferences(prefer_keep, "prefer_keep")
    found += more
    for key in sorted(others & keeps, key=MERGE_FIELDS.index):
        found.append(Finding("conflicting_preferences", f"{key} is in both prefer_keep and prefer_other; choose one",
                             field=key, value=key))
    values: dict[str, Any] = {}
    for key in MERGE_FIELDS:
        mine, theirs = getattr(keep, key), getattr(other, key)
        if theirs is None or mine == theirs:
            continue
        if mine is None or key in others:
            values[key] = theirs
        elif key not in keeps:
            found.append(_conflict(keep, other, key))
    return values, found


def merge_organisations(ctx: Context, keep_id: int, other_id: int, keep_version: int | None = None,
                        other_version: int | None = None, prefer_other: Iterable[str] = (),
                        prefer_keep: Iterable[str] = ()) -> Merged:
    """Merge organisation ``other_id`` into ``keep_id``: two records of one organisation (a news
    item's "KEPCO", a donor file's "Korea Electric Power Corporation").

    Every participation of the other moves to the kept one (where the kept one already has that
    role in that project, the other's row is dropped); the other's name and aliases become
    aliases of the kept one (none twice, never its own name); a field of MERGE_FIELDS the kept
    one lacks is taken from the other. A field both hold with different values is refused,
    naming both, unless ``prefer_other`` or ``prefer_keep`` names it (they decide between two
    values only: a value one of them lacks is never cleared); an alias that a third
    organisation holds as its name or alias is refused, naming it. Then the other is deleted.

    Each version given is checked (StaleVersion). The kept organisation's version moves once, and
    so does the version of every project whose participant list changed (an edit based on the
    list as it was is refused). Audit: "merge" on the kept one (before and after, with the
    other's snapshot under "merged", and the participations moved and dropped), "delete" on the
    other (before: its snapshot). On any refusal nothing is written."""
    if keep_id == other_id:
        refuse("same_organisation", f"organisation {keep_id} cannot be merged with itself; give the number of "
               "another organisation to merge into it", "other", other_id)
    keep = get_organisation(ctx, keep_id)
    other = ctx.session.get(Organisation, other_id)
    if other is None:
        refuse("not_found", f"organisation {other_id} does not exist; `cooptrack organisation list` shows the ids",
               "other", other_id)
    if keep_version is not None:
        check_version("organisation", keep_id, keep.version, keep_version,
                      lambda: audit.jsonable(organisation_record(keep)))
    if other_version is not None:
        check_version("organisation", other_id, other.version, other_version,
                      lambda: audit.jsonable(organisation_record(other)))
    values, found = _merged_values(keep, other, prefer_other, prefer_keep)
    aliases = list(keep.aliases or [])
    for alias in (other.name, *(other.aliases or [])):
        if alias != keep.name and alias not in aliases:
            aliases.append(alias)
    found += _alias_clashes(ctx, aliases[len(keep.aliases or []):], [keep.id, other.id])
    if found:
        raise InvalidInput.from_findings(found)

    before, merged = audit.snapshot(keep), audit.snapshot(other)
    result = _move_participations(ctx, keep, other)
    result.merged = merged
    ctx.session.delete(other)
    ctx.session.flush()  # the other's IATI identifier is free before the kept one takes it
    for key, value in {**values, "aliases": aliases}.items():
        setattr(keep, key, value)
    # Its version covers its participations: it moves even when none of its fields changes.
    keep.updated_at = ctx.now
    flag_modified(keep, "updated_at")
    ctx.session.flush()
    audit.record(ctx, "merge", "organisation", keep.id, before,
                 audit.snapshot(keep, merged=merged, moved=result.moved, dropped=result.dropped))
    audit.record(ctx, "delete", "organisation", other_id, merged, None)
    return result


def _move_participations(ctx: Context, keep: Organisation, other: Organisation) -> Merged:
    """Move ``other``'s participations to ``keep`` (dropping those ``keep`` has already) and move
    the version of each project concerned once; flushed."""
    rows = list(ctx.session.scalars(select(Participant).where(Participant.organisation_id == other.id)
                                    .order_by(Participant.id)))
    if not rows:
        return Merged(keep)
    projects = {p.id: p for p in ctx.session.scalars(select(Project).where(Project.id.in_(
        select(Participant.project_id).where(Participant.organisation_id == other.id))))}
    held = set(ctx.session.execute(select(Participant.project_id, Participant.role)
                                   .where(Participant.organisation_id == keep.id)).tuples())
    result = Merged(keep)
    for row in rows:
        entry = {"project": projects[row.project_id].code, "role": row.role}
        if (row.project_id, row.role) in held:
            ctx.session.delete(row)
            result.dropped.append(entry)
        else:
            row.organisation = keep
            result.moved.append(entry)
    for project in projects.values():
        # The project's version covers its participants, as when they are edited (upsert_project).
        project.updated_at = ctx.now
        flag_modified(project, "updated_at")
    ctx.session.flush()
    for project in projects.values():
        ctx.session.expire(project, ["participants"])  # a list loaded before still held a dropped row
    result.moved.sort(key=_by_project)
    result.dropped.sort(key=_by_project)
    result.projects = sorted(p.code for p in projects.values())
    return result


def _by_project(entry: dict[str, str]) -> tuple[str, tuple[int, str]]:
    return entry["project"], _role_order(entry["role"])
