"""IATI import: what an activity becomes in the register, as plain data (:class:`Prepared`): the
project's fields, the IATI JSON the export needs, tags, finance records, documents, the status it
reports and the findings of the mapping. Nothing here reads the database, so a large file's
reading process prepares its activities itself (``formats.iati_piped``) and sends them as they
are: dates as day numbers, decimals as their exact text, findings as tuples, all of them values
``marshal`` writes. The importing process adds what the register says (``iati_store.project_spec``:
countries, organisations already registered, what an updated project keeps) and writes.

This module is imported by that reading process, whose start is on the import's critical path: it
loads neither the ORM (sqlalchemy alone costs about 0.15 s of CPU) nor ``cooptrack.domain`` (whose
country tables, ``countrynames``, cost about 0.04 s), hence countries and status dates are left to
the importing process, which has both loaded anyway."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from cooptrack import codes
from cooptrack.findings import Severity
from cooptrack.formats.iati_read import Activity, Coded, DocumentLink, Narrative, Org, first_text

ROLES = {"1": "funding", "2": "accountable", "3": "extending", "4": "implementing"}
COMMITMENT, INCOMING_COMMITMENT = "2", "11"
_SLUG_BAD = re.compile(r"[^a-z0-9._-]")
HUNDRED = Decimal(100)

# A finding as a tuple: Finding's fields in order (code, message, field, value, row, source, severity).
FindingRow = tuple[str, str, str | None, str | None, int | None, str | None, Severity]
# vocabulary, code, name, percent (exact text)
Tag = tuple[str, str, str | None, str | None]
# A finance record in the order of FINANCE_COLUMNS: dates as day numbers, the amount as its exact text.
FINANCE_COLUMNS = ("kind", "type", "status", "transaction_date", "period_start", "period_end", "amount", "currency",
                   "value_date", "description", "provider", "receiver", "ref", "extra")
FINANCE_DAYS = ("transaction_date", "period_start", "period_end", "value_date")
# A participant: name, role, @ref as given, kind, IATI identifier (@ref stripped, unless too long); the
# identifier is not yet checked against the organisations registered.
ParticipantRow = tuple[str, str, str | None, str | None, str | None]
# A document link: url, format, title, language, published (ISO date), known from (day number), publisher, category.
Document = tuple[str, str, str, str | None, str | None, int | None, str | None, str | None]


class Prepared(NamedTuple):
    """One activity prepared for the register (see the module's docstring). A recipient country is
    its code and the tag it makes when it is not the host country; a location is (name, latitude,
    longitude)."""

    identifier: str
    source: str
    line: int
    position: int
    findings: list[FindingRow]  # the reader's
    notes: list[FindingRow]  # the mapping's, after the title's and the countries' (iati_store.project_spec)
    value_not_set: bool  # the commitments gave no value (mixed currencies, a negative sum)
    title: str  # the title's first text, whole
    description: str | None
    countries: list[tuple[str, Tag]]
    reporting_ref: str | None  # reporting-org/@ref
    value: str | None
    currency: str | None
    value_date: int | None
    dates: tuple[int | None, int | None, int | None, int | None]  # planned start, actual start, planned end, actual end
    sectors: list[tuple[str, str]]  # DAC code, percent
    participants: list[ParticipantRow]
    locations: list[tuple[str, str | None, str | None]]
    iati: dict[str, Any]
    narratives: dict[str, Any]
    tags: list[Tag]
    finance: list[tuple[Any, ...]]
    documents: list[Document]
    status: str | None  # the IATI activity-status code
    last_updated: str | None
    file_generated: str | None

    def date_of(self, kind: str) -> date | None:
        """The activity's date of that type (1 to 4), as ``Activity.date_of`` gives it."""
        n = self.dates["1234".index(kind)]
        return None if n is None else date.fromordinal(n)


def _ord(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)  # exact: Decimal(str(d)) is d, exponent included


def slugify(identifier: str) -> str:
    """A project id from an IATI identifier: lower case, other characters than a-z 0-9 . _ -
    replaced by '-', starting with a letter or digit, at most 64 characters."""
    slug = _SLUG_BAD.sub("-", identifier.strip().lower()).lstrip("._-")
    return (slug or "activity")[:64]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def location_name(names: list[Narrative], ref: str | None, position: int) -> str:
    """A location's name in the register: its first name, else its ref, else 'location N'."""
    return clip(first_text(names) or ref or f"location {position}", 300)


def _narratives_json(items: list[Narrative]) -> list[dict[str, str]]:
    # Narrative.as_json, inlined: called for every name and title of every activity.
    return [{"text": n.text, "lang": n.lang} if n.lang else {"text": n.text} for n in items]


class _Notes:
    """The mapping's findings about one activity."""

    def __init__(self, a: Activity) -> None:
        self.a = a
        self.rows: list[FindingRow] = []

    def warn(self, where: str, code: str, message: str, value: object = None) -> None:
        self.add(where, code, message, value, "warning")

    def add(self, where: str, code: str, message: str, value: object = None, severity: Severity = "error") -> None:
        self.rows.append((code, message, where, None if value is None else str(value), self.a.line, self.a.source,
                          severity))


def prepare(activity: Activity) -> Prepared:
    """An activity as the register will hold it, as far as the activity alone says (its documents
    are also cut to each URL once)."""
    a = activity
    notes = _Notes(a)
    description = next((first_text(texts) for kind, texts in a.descriptions if kind in (None, "1")), None) \
        or next((first_text(texts) for _, texts in a.descriptions), None)
    tags: list[Tag] = []
    for region in a.regions:
        tags.append(_tag(f"recipient-region:{region.vocabulary or '1'}", region.code, region.narratives,
                         region.percentage))
    sectors = _sectors(a, tags, notes)
    participants = _participants(a, notes)
    value, currency, value_date, value_not_set = _value(a, notes)
    documents = _documents(a, notes)
    return Prepared(
        a.identifier, a.source, a.line, a.position,
        [(f.code, f.message, f.field, f.value, f.row, f.source, f.severity) for f in a.findings], notes.rows,
        value_not_set, first_text(a.title) or "", description,
        [(c.code, _tag("recipient-country", c.code, c.narratives, c.percentage)) for c in a.countries],
        a.reporting_org.ref if a.reporting_org else None,
        _text(value), currency, _ord(value_date),
        (_ord(a.date_of("1")), _ord(a.date_of("2")), _ord(a.date_of("3")), _ord(a.date_of("4"))),
        sectors, participants,
        [(location_name(p.name, p.ref, i + 1), _text(p.latitude), _text(p.longitude))
         for i, p in enumerate(a.locations)],
        _iati_json(a), _narratives(a), tags, _finance(a, notes), documents,
        a.status, a.attrs.get("last-updated-datetime"), a.file_generated,
    )


def prepared_tuple(activity: Activity) -> tuple[Any, ...]:
    """:func:`prepare` as a plain tuple (``Prepared._make`` gives it back): what the reading
    process sends."""
    return tuple(prepare(activity))


def _tag(vocabulary: str, code: str, names: list[Narrative], percent: Decimal | None) -> Tag:
    """A tag row, clipped to its columns (the whole text stays in Project.iati)."""
    name = first_text(names)
    return vocabulary[:64], code[:200], clip(name, 500) if name else None, _text(percent)


def _sectors(a: Activity, tags: list[Tag], notes: _Notes) -> list[tuple[str, str]]:
    dac = [s for s in a.sectors if s.vocabulary in (None, "1")]
    unknown = [s for s in dac if codes.sector(s.code) is None]
    for s in unknown:
        notes.warn("sector/@code", "unknown_sector", f"sector '{s.code}' is not a DAC 5-digit code; the activity's "
                   "DAC sectors are kept as tags (vocabulary sector:1)", s.code)
    result: dict[str, str] = {}
    for s in a.sectors:
        if s.vocabulary in (None, "1") and not unknown:
            result[s.code] = str(s.percentage if s.percentage is not None else HUNDRED)
        else:
            tags.append(_tag(f"sector:{s.vocabulary or '1'}", s.code, s.narratives, s.percentage))
    return list(result.items())


def _participants(a: Activity, notes: _Notes) -> list[ParticipantRow]:
    """Participants under the publisher's names, each name and role once."""
    result = []
    seen: set[tuple[str, str]] = set()
    for i, org in enumerate(a.participants):
        where = f"participating-org[{i + 1}]"
        role = ROLES.get((org.role or "").strip())
        ref = org.ref.strip() if org.ref and org.ref.strip() and len(org.ref.strip()) <= 100 else None
        name = org.name or ref
        if role is None:
            notes.warn(f"{where}/@role", "unknown_role", f"participating-org role '{org.role}' is not an "
                       "OrganisationRole code (1-4); this participant was not recorded", org.role)
            continue
        if name is None:
            notes.warn(where, "unnamed_org", "participating-org has neither a name nor a ref; it was not recorded")
            continue
        name = clip(name, 300)
        if (name, role) in seen:
            continue  # the same organisation in the same role twice
        seen.add((name, role))
        kind = org.type if org.type and len(org.type) <= 8 else None
        result.append((name, role, org.ref, kind, ref))
    return result


def _value(a: Activity, notes: _Notes) -> tuple[Decimal | None, str | None, date | None, bool]:
    """The sum of the commitments, their currency and earliest value date, and whether the
    commitments could not make the project's value (mixed currencies, a negative sum)."""
    for kind in (COMMITMENT, INCOMING_COMMITMENT):
        rows = [m for m in a.finance if m.kind == "transaction" and m.type == kind]
        if not rows:
            continue
        currencies = sorted({m.currency or "" for m in rows})
        total = sum((m.amount for m in rows), Decimal(0))
        if len(currencies) > 1 or total < 0:
            why = f"in {', '.join(currencies)}" if len(currencies) > 1 else f"summing to {total}"
            notes.warn("transaction/transaction-type", "value_not_set", f"the commitments (type {kind}) are {why}; "
                       "the project value was left as it was")
            return None, None, None, True
        return total, currencies[0], min(m.value_date for m in rows), False
    return None, None, None, False


def _org_json(org: Org | None) -> dict[str, Any] | None:
    if org is None:
        return None
    if org.attrs:
        data = {"ref": org.ref, "type": org.type, "activity-id": org.activity_id, **org.attrs,
                "narratives": _narratives_json(org.narratives)}
        return {k: v for k, v in data.items() if v not in (None, [], {})}
    # The same without other attributes, as most organisations come (one per finance record's side).
    found: dict[str, Any] = {}
    if org.ref is not None:
        found["ref"] = org.ref
    if org.type is not None:
        found["type"] = org.type
    if org.activity_id is not None:
        found["activity-id"] = org.activity_id
    if org.narratives:
        found["narratives"] = _narratives_json(org.narratives)
    return found


def _finance(a: Activity, notes: _Notes) -> list[tuple[Any, ...]]:
    rows = []
    for m in a.finance:
        for what, code in (("type", m.type), ("status", m.status)):
            if code is not None and len(code) > 8:
                notes.add(f"{m.kind.replace('_', '-')}/@{what}", "bad_code", f"a {m.kind.replace('_', ' ')}'s {what} "
                          f"code '{code[:40]}' is longer than 8 characters; IATI codes are short (e.g. 2, 11)",
                          code[:40])
        extra = dict(m.extra)
        if m.provider is not None:
            extra["provider-org"] = _org_json(m.provider)
        if m.receiver is not None:
            extra["receiver-org"] = _org_json(m.receiver)
        if len(m.description) > 1:
            extra["description"] = _narratives_json(m.description)
        provider = m.provider.name if m.provider else None
        receiver = m.receiver.name if m.receiver else None
        rows.append((m.kind, m.type, m.status, _ord(m.day), _ord(m.period_start), _ord(m.period_end), str(m.amount),
                     m.currency, m.value_date.toordinal(), first_text(m.description),
                     clip(provider, 300) if provider else None, clip(receiver, 300) if receiver else None,
                     clip(m.ref, 200) if m.ref else None, extra))
    return rows


def _documents(a: Activity, notes: _Notes) -> list[Document]:
    """The activity's document links, each URL once (the repeats are dropped from the activity)."""
    docs: list[Document] = []
    kept: list[DocumentLink] = []
    publisher = a.reporting_org.name if a.reporting_org else None
    for i, d in enumerate(a.documents):
        if any(k.url == d.url for k in kept) or len(d.url) > 2000:
            why = "is listed twice" if len(d.url) <= 2000 else "is longer than 2,000 characters"
            notes.warn(f"document-link[{i + 1}]/@url", "document_skipped", f"document url {why}; kept once",
                       d.url[:80])
            continue
        kept.append(d)
        docs.append((d.url, clip(d.format, 100), clip(first_text(d.title) or d.url, 500),
                     d.languages[0][:8] if d.languages else None, d.day.isoformat() if d.day else None, _ord(d.day),
                     clip(publisher, 200) if publisher else None, d.categories[0][:8] if d.categories else None))
    a.documents = kept
    return docs


def _narratives(a: Activity) -> dict[str, Any]:
    return {"title": _narratives_json(a.title),
            "description": [{"type": kind, "narratives": _narratives_json(texts)} if kind else
                            {"narratives": _narratives_json(texts)} for kind, texts in a.descriptions]}


def _coded_json(c: Coded) -> dict[str, Any]:
    data = {"code": c.code, "vocabulary": c.vocabulary,
            "percentage": None if c.percentage is None else format(c.percentage, "f"),  # as audit.jsonable has it
            "vocabulary-uri": c.vocabulary_uri, "narratives": _narratives_json(c.narratives)}
    return {k: v for k, v in data.items() if v not in (None, [])}


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
