"""IATI import: what an activity becomes in the register (a ProjectSpec, the IATI JSON the export
needs, tags, finance records, documents) and the date of its status event. No writing here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import countrynames
from sqlalchemy import select

from cooptrack import codes
from cooptrack.domain.countries import find_country
from cooptrack.domain.period import Period
from cooptrack.domain.status import Status
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.formats.iati_read import (
    Activity,
    Coded,
    DocumentLink,
    Narrative,
    first_text,
    parse_day,
)
from cooptrack.services import audit
from cooptrack.services.iati_findings import ImportRun, warn
from cooptrack.services.projects import (
    LocationSpec,
    ParticipantSpec,
    ProjectSpec,
)
from cooptrack.store.models import (
    Organisation,
    Programme,
    Project,
)

ROLES = {"1": "funding", "2": "accountable", "3": "extending", "4": "implementing"}
COMMITMENT, INCOMING_COMMITMENT = "2", "11"
_SLUG_BAD = re.compile(r"[^a-z0-9._-]")
Tag = tuple[str, str, str | None, Decimal | None]


def slugify(identifier: str) -> str:
    """A project id from an IATI identifier: lower case, other characters than a-z 0-9 . _ -
    replaced by '-', starting with a letter or digit, at most 64 characters."""
    slug = _SLUG_BAD.sub("-", identifier.strip().lower()).lstrip("._-")
    return (slug or "activity")[:64]


def country_of_ref(ref: str | None) -> str | None:
    """The country of an IATI organisation identifier (its registration agency prefix, e.g.
    KR-GOV-010 -> KOR), or None (XM-DAC-..., XI-IATI-... are not countries)."""
    if not ref or len(ref) < 3 or ref[2] != "-":
        return None
    code: str | None = countrynames.mappings.get(ref[:2].upper())
    return code


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _narratives_json(items: list[Narrative]) -> list[dict[str, str]]:
    # Narrative.as_json, inlined: called for every name and title of every activity.
    return [{"text": n.text, "lang": n.lang} if n.lang else {"text": n.text} for n in items]


@dataclass
class Mapped:
    spec: ProjectSpec
    iati: dict[str, Any]
    narratives: dict[str, Any]
    tags: list[Tag]
    finance: list[dict[str, Any]]
    documents: list[dict[str, Any]]


def map_activity(run: ImportRun, activity: Activity, code: str, existing: Project | None) -> Mapped:
    """An activity as a ProjectSpec plus the rows and JSON the import owns."""
    a = activity
    title = first_text(a.title) or ""
    if len(title) > 500:
        warn(a, "title/narrative", "clipped", f"the title is {len(title)} characters; the project title keeps the "
              "first 500 (the whole text stays in the project's narratives)")
    description = next((first_text(texts) for kind, texts in a.descriptions if kind in (None, "1")), None) \
        or next((first_text(texts) for _, texts in a.descriptions), None)
    tags: list[Tag] = []
    host = None
    for i, country in enumerate(a.countries):
        alpha3 = countrynames.mappings.get(country.code.upper()) if len(country.code) == 2 else None
        if alpha3 is not None and find_country(alpha3) != alpha3:
            alpha3 = None  # a code countrynames maps but cooptrack's countries do not know (XK, Kosovo)
        if alpha3 is None:
            warn(a, f"recipient-country[{i + 1}]/@code", "unknown_country", f"recipient-country '{country.code}' "
                  "is not an ISO 3166 alpha-2 code; kept as a tag", country.code)
        if alpha3 is not None and host is None:
            host = alpha3
        else:
            tags.append(_tag("recipient-country", country.code, country.narratives, country.percentage))
    for region in a.regions:
        tags.append(_tag(f"recipient-region:{region.vocabulary or '1'}", region.code, region.narratives,
                     region.percentage))
    sectors = _sectors(a, tags)
    participants = _participants(run, a)
    funding_ref = next((p.iati_ref for p in participants if p.role == "funding" and country_of_ref(p.iati_ref)), None)
    partner = country_of_ref(a.reporting_org.ref if a.reporting_org else None) or country_of_ref(funding_ref)
    value, currency, value_date = _value(run, a)
    dates = {name: a.date_of(t) for t, name in (("1", "planned_start"), ("2", "actual_start"),
                                                 ("3", "planned_end"), ("4", "actual_end"))}
    programme = run.options.programme
    if programme is None and existing is not None and existing.programme_id is not None:
        programme = run.ctx.session.scalar(select(Programme.code).where(Programme.id == existing.programme_id))

    def keep(new: Any, attr: str) -> Any:
        return new if new is not None or existing is None else getattr(existing, attr)

    spec = ProjectSpec(
        code=code, title=clip(title, 500), programme=programme, description=keep(description, "description"),
        aliases=list(existing.aliases) if existing is not None else [],
        host_country=keep(host, "host_country"), partner_country=keep(partner, "partner_country"),
        value=keep(value, "value_amount"), currency=keep(currency, "value_currency"),
        value_date=keep(value_date, "value_date"),
        sectors=sectors if sectors or existing is None else {s.dac_code: s.percent for s in existing.sectors},
        participants=participants, locations=_locations(a) or _kept_locations(existing),
        iati_identifier=a.identifier or None, national_id=existing.national_id if existing is not None else None,
        **{k: keep(v, k) for k, v in dates.items()},
    )
    if existing is not None:
        _same_order(spec, existing)
    documents = _documents(a)
    return Mapped(spec, _iati_json(a), _narratives(a), tags, _finance(a), documents)


def _same_order(spec: ProjectSpec, existing: Project) -> None:
    """Participants and locations in the order the registered project lists them, when they are
    the same: upsert_project compares them as lists, and the relationships have no order."""
    old = [(x.organisation.name, x.role) for x in existing.participants]
    new = [(p.name, p.role) for p in spec.participants]
    if sorted(old) == sorted(new) and len(set(old)) == len(old):
        spec.participants.sort(key=lambda p: old.index((p.name, p.role)))
    names = [loc.name for loc in existing.locations]
    if sorted(names) == sorted(loc.name for loc in spec.locations):
        by_name = sorted(spec.locations, key=lambda loc: names.index(loc.name))
        if [(x.latitude, x.longitude) for x in by_name] == [(x.latitude, x.longitude) for x in existing.locations]:
            spec.locations = by_name


def _tag(vocabulary: str, code: str, names: list[Narrative], percent: Decimal | None) -> Tag:
    """A tag row, clipped to its columns (the whole text stays in Project.iati)."""
    name = first_text(names)
    return vocabulary[:64], code[:200], clip(name, 500) if name else None, percent


def _sectors(a: Activity, tags: list[Tag]) -> dict[str, str | int | Decimal]:
    dac = [s for s in a.sectors if s.vocabulary in (None, "1")]
    unknown = [s for s in dac if codes.sector(s.code) is None]
    for s in unknown:
        warn(a, "sector/@code", "unknown_sector", f"sector '{s.code}' is not a DAC 5-digit code; the activity's DAC "
              "sectors are kept as tags (vocabulary sector:1)", s.code)
    result: dict[str, str | int | Decimal] = {}
    for s in a.sectors:
        if s.vocabulary in (None, "1") and not unknown:
            result[s.code] = s.percentage if s.percentage is not None else Decimal(100)
        else:
            tags.append(_tag(f"sector:{s.vocabulary or '1'}", s.code, s.narratives, s.percentage))
    return result


def _participants(run: ImportRun, a: Activity) -> list[ParticipantSpec]:
    """Participants under the publisher's names. An organisation identifier is passed on only when
    it is not registered yet or is registered under the same name: publishers give one identifier
    to several offices (Cordaid Iraq, Cordaid Afghanistan...), which stay apart by name."""
    result: list[ParticipantSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, org in enumerate(a.participants):
        where = f"participating-org[{i + 1}]"
        role = ROLES.get((org.role or "").strip())
        ref = org.ref.strip() if org.ref and org.ref.strip() and len(org.ref.strip()) <= 100 else None
        name = org.name or ref
        if role is None:
            warn(a, f"{where}/@role", "unknown_role", f"participating-org role '{org.role}' is not an "
                  "OrganisationRole code (1-4); this participant was not recorded", org.role)
            continue
        if name is None:
            warn(a, where, "unnamed_org", "participating-org has neither a name nor a ref; it was not recorded")
            continue
        name = clip(name, 300)
        if (name, role) in seen:
            continue  # the same organisation in the same role twice
        seen.add((name, role))
        if ref is not None:
            if ref not in run.org_names:
                run.org_names[ref] = run.ctx.session.scalar(select(Organisation.name)
                                                            .where(Organisation.iati_ref == ref))
            registered = run.org_names[ref]
            if registered is None:
                run.org_names[ref] = name
            elif registered != name:
                ref = None
        kind = org.type if org.type and len(org.type) <= 8 else None
        result.append(ParticipantSpec(name, role, country=country_of_ref(org.ref), kind=kind, iati_ref=ref))
    return result


def location_name(names: list[Narrative], ref: str | None, position: int) -> str:
    """A location's name in the register: its first name, else its ref, else 'location N'."""
    return clip(first_text(names) or ref or f"location {position}", 300)


def _locations(a: Activity) -> list[LocationSpec]:
    return [LocationSpec(location_name(p.name, p.ref, i + 1), latitude=p.latitude, longitude=p.longitude)
            for i, p in enumerate(a.locations)]


def _kept_locations(existing: Project | None) -> list[LocationSpec]:
    if existing is None:
        return []
    return [LocationSpec(loc.name, loc.country, loc.admin_area, loc.latitude, loc.longitude)
            for loc in existing.locations]


def _value(run: ImportRun, a: Activity) -> tuple[Decimal | None, str | None, date | None]:
    for kind in (COMMITMENT, INCOMING_COMMITMENT):
        rows = [m for m in a.finance if m.kind == "transaction" and m.type == kind]
        if not rows:
            continue
        currencies = sorted({m.currency or "" for m in rows})
        total = sum((m.amount for m in rows), Decimal(0))
        if len(currencies) > 1 or total < 0:
            why = f"in {', '.join(currencies)}" if len(currencies) > 1 else f"summing to {total}"
            warn(a, "transaction/transaction-type", "value_not_set", f"the commitments (type {kind}) are {why}; "
                  "the project value was left as it was")
            run.counts["value_not_set"] += 1
            return None, None, None
        return total, currencies[0], min(m.value_date for m in rows)
    return None, None, None


def _org_json(org: Any) -> dict[str, Any] | None:
    if org is None:
        return None
    data = {"ref": org.ref, "type": org.type, "activity-id": org.activity_id, **org.attrs,
            "narratives": _narratives_json(org.narratives)}
    return {k: v for k, v in data.items() if v not in (None, [], {})}


def _finance(a: Activity) -> list[dict[str, Any]]:
    rows = []
    for m in a.finance:
        for what, code in (("type", m.type), ("status", m.status)):
            if code is not None and len(code) > 8:
                a.findings.append(Finding("bad_code", f"a {m.kind.replace('_', ' ')}'s {what} code '{code[:40]}' is "
                                          "longer than 8 characters; IATI codes are short (e.g. 2, 11)",
                                          field=f"{m.kind.replace('_', '-')}/@{what}", value=code[:40],
                                          row=a.line, source=a.source))
        extra = dict(m.extra)
        for side, org in (("provider-org", m.provider), ("receiver-org", m.receiver)):
            if org is not None:
                extra[side] = _org_json(org)
        if len(m.description) > 1:
            extra["description"] = _narratives_json(m.description)
        rows.append({
            "kind": m.kind, "type": m.type, "status": m.status, "transaction_date": m.day,
            "period_start": m.period_start, "period_end": m.period_end, "amount": m.amount, "currency": m.currency,
            "value_date": m.value_date, "description": first_text(m.description),
            "provider": clip(m.provider.name, 300) if m.provider and m.provider.name else None,
            "receiver": clip(m.receiver.name, 300) if m.receiver and m.receiver.name else None,
            "ref": clip(m.ref, 200) if m.ref else None, "extra": extra,
        })
    return rows


def _documents(a: Activity) -> list[dict[str, Any]]:
    """The activity's document links, each URL once (the repeats are dropped from the activity)."""
    docs: list[dict[str, Any]] = []
    kept: list[DocumentLink] = []
    publisher = a.reporting_org.name if a.reporting_org else None
    for i, d in enumerate(a.documents):
        if any(k.url == d.url for k in kept) or len(d.url) > 2000:
            why = "is listed twice" if len(d.url) <= 2000 else "is longer than 2,000 characters"
            warn(a, f"document-link[{i + 1}]/@url", "document_skipped", f"document url {why}; kept once",
                  d.url[:80])
            continue
        kept.append(d)
        docs.append({"url": d.url, "format": clip(d.format, 100), "title": clip(first_text(d.title) or d.url, 500),
                     "language": d.languages[0][:8] if d.languages else None,
                     "published": d.day.isoformat() if d.day else None, "known_from": d.day,
                     "publisher": clip(publisher, 200) if publisher else None,
                     "category": d.categories[0][:8] if d.categories else None})
    a.documents = kept
    return docs


def _narratives(a: Activity) -> dict[str, Any]:
    return {"title": _narratives_json(a.title),
            "description": [{"type": kind, "narratives": _narratives_json(texts)} if kind else
                            {"narratives": _narratives_json(texts)} for kind, texts in a.descriptions]}


def _coded_json(c: Coded) -> dict[str, Any]:
    data = {"code": c.code, "vocabulary": c.vocabulary, "percentage": c.percentage,
            "vocabulary-uri": c.vocabulary_uri, "narratives": _narratives_json(c.narratives)}
    return {k: audit.jsonable(v) for k, v in data.items() if v not in (None, [])}


def _iati_json(a: Activity) -> dict[str, Any]:
    """What the export needs and no column holds, in IATI's own names."""
    data: dict[str, Any] = {
        "attrs": a.attrs,
        "reporting-org": _org_json(a.reporting_org),
        "codes": a.codes,
        "default-aid-type": a.default_aid_types,
        "capital-spend": a.capital_spend,
        "other-identifier": a.other_identifiers,
        "activity-date": {d.type: _narratives_json(d.narratives) for d in a.dates if d.narratives},
        "participating-org": [{"role": p.role, **(_org_json(p) or {})} for p in a.participants],
        "recipient-country": [_coded_json(c) for c in a.countries],
        "recipient-region": [_coded_json(c) for c in a.regions],
        "sector": [_coded_json(c) for c in a.sectors],
        "location": [{"ref": p.ref, "name": _narratives_json(p.name), "srsName": p.srs_name, "xml": p.xml}
                     for p in a.locations],
        "document-link": [{"url": d.url, "title": _narratives_json(d.title),
                           "description": _narratives_json(d.description), "categories": d.categories,
                           "languages": d.languages} for d in a.documents],
        "xml": [list(x) for x in a.verbatim],
    }
    return {k: v for k, v in data.items() if v not in (None, [], {})}


def _effective_date(activity: Activity, status: Status, after: date | None) -> tuple[str, str]:
    """The status event's date (a Period code) and where it came from: the first of these that is
    later than the project's latest event (``after``): the date the activity gives for that status,
    its last-updated-datetime, the file's generated-datetime, the actual start, the import day;
    never a date in the future."""
    own = {Status.IN_EXECUTION: "2", Status.IMPLEMENTED: "4", Status.CLOSED: "4"}.get(status)
    candidates: list[tuple[date | None, str]] = [(activity.date_of(own) if own else None, f"activity-date type {own}")]
    for value, what in ((activity.attrs.get("last-updated-datetime"), "last-updated-datetime"),
                        (activity.file_generated, "the file's generated-datetime")):
        candidates.append((parse_day(value.strip()[:10]) if value else None, what))
    candidates += [(activity.date_of("2"), "the actual start date"),
                   (date.today(), "the import day (the activity gives no later date)")]
    today = date.today()
    for day, what in candidates:
        # A status is recorded when it has happened: a date in the future (publishers' "actual"
        # dates are sometimes plans) gives way to the next candidate.
        if day is not None and day <= today and (after is None or day > after):
            return day.isoformat(), what
    return today.isoformat(), "the import day"


def _first_status(a: Activity) -> tuple[str, Period, str] | None:
    """A new project's first status: (status, effective period, note), or None."""
    if a.status is None:
        return None
    try:
        status = Status.from_iati(a.status)
    except InvalidInput:
        warn(a, "activity-status/@code", "unknown_status", f"activity-status '{a.status}' is not an "
              "ActivityStatus code (1-6); no status was recorded", a.status)
        return None
    effective, why = _effective_date(a, status, None)
    return status.value, Period.parse(effective), _status_note(a, why)


def _status_note(a: Activity, why: str) -> str:
    return f"IATI activity-status {a.status} in {Path(a.source).name}; dated by {why}"
