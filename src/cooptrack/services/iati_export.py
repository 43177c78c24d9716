"""IATI export: what a registered project becomes in IATI 2.03 (activities for ``formats.iati_write``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import countrynames
from sqlalchemy import select

from cooptrack.domain.status import Status
from cooptrack.findings import Finding, Report
from cooptrack.formats.iati_read import (
    Activity,
    ActivityDate,
    Coded,
    DocumentLink,
    Money,
    Narrative,
    Org,
    Place,
    first_text,
    parse_day,
)
from cooptrack.services.context import Context
from cooptrack.services.iati_mapping import clip, location_name
from cooptrack.services.programmes import get_programme
from cooptrack.store.models import (
    Participant,
    Project,
    ProjectDocument,
)

ROLE_CODES = {"funding": "1", "accountable": "2", "extending": "3", "implementing": "4", "investor": "1",
              "contractor": "4"}
DEFAULT_CATEGORY = "A12"  # Activity web page: for a linked document with no category


@dataclass
class ReportingOrg:
    """The reporting-org for projects that have none stored (cooptrack's own projects)."""

    ref: str | None = None
    name: str | None = None
    type: str | None = None


def _alpha2(alpha3: str) -> str | None:
    for a2, a3 in countrynames.mappings.items():
        if a3 == alpha3 and len(a2) == 2:
            return str(a2)
    return None


def _texts(items: list[dict[str, str]] | None) -> list[Narrative]:
    return [Narrative(n.get("text", ""), n.get("lang")) for n in items or []]


def _org_of(data: dict[str, Any] | None, name: str | None = None) -> Org | None:
    if not data:
        return Org([Narrative(name)]) if name else None
    attrs = {k: v for k, v in data.items() if k not in ("ref", "type", "role", "activity-id", "narratives")}
    return Org(_texts(data.get("narratives")), data.get("ref"), data.get("type"), data.get("role"),
               data.get("activity-id"), attrs)


def _stored(items: list[dict[str, Any]], code: str, vocabulary: str | None = None) -> dict[str, Any]:
    for item in items:
        if item.get("code") == code and (vocabulary is None or (item.get("vocabulary") or "1") == vocabulary):
            return item
    return {}


class _Exporter:
    def __init__(self, default_org: ReportingOrg, report: Report) -> None:
        self.default_org = default_org
        self.report = report

    def note(self, project: Project, code: str, message: str, severity: str = "warning") -> None:
        self.report.add(Finding(code, message, source=project.code, severity="error" if severity == "error"
                                else "warning"))

    def activity(self, p: Project) -> Activity | None:
        data = p.iati or {}
        org = _org_of(data.get("reporting-org"))
        if org is None:
            d = self.default_org
            if not (d.ref and d.name):
                self.note(p, "no_reporting_org", f"project {p.code} has no IATI reporting organisation; pass "
                          "--reporting-org-ref and --reporting-org-name (and --reporting-org-type)", "error")
                return None
            org = Org([Narrative(d.name)], d.ref, d.type)
        a = Activity(source=p.code, line=0, position=0, reporting_org=org)
        a.identifier = p.iati_identifier or f"{org.ref}-{p.code}"
        a.attrs = dict(data.get("attrs") or {"last-updated-datetime": p.updated_at.isoformat(timespec="seconds")
                                             .replace("+00:00", "Z")})
        stored = p.narratives or {}
        titles = _texts(stored.get("title"))
        a.title = titles if first_text(titles) == p.title else [Narrative(p.title)]
        descriptions = [(d.get("type"), _texts(d.get("narratives"))) for d in stored.get("description", [])]
        first = next((first_text(t) for k, t in descriptions if k in (None, "1")), None) \
            or next((first_text(t) for _, t in descriptions), None)
        if not descriptions or first != p.description:
            descriptions = [("1", [Narrative(p.description or p.title)])]
        a.descriptions = descriptions
        a.participants = self.participants(p, data, org)
        a.other_identifiers = data.get("other-identifier", [])
        a.status = str(Status(p.status).iati_code) if p.status else None
        if a.status is None:
            a.status = "1"
            self.note(p, "no_status", f"project {p.code} has no status; exported as 1 (pipeline/identification)")
        self.dates(p, a, data)
        a.codes = dict(data.get("codes", {}))
        a.default_aid_types = data.get("default-aid-type", [])
        a.capital_spend = data.get("capital-spend")
        self.places(p, a, data)
        self.classifications(p, a, data)
        self.money(p, a)
        self.documents(p, a, data)
        a.verbatim = [(tag, xml) for tag, xml in data.get("xml", [])]
        return a

    def participants(self, p: Project, data: dict[str, Any], reporting: Org) -> list[Org]:
        """The register's participants, written as the publisher wrote them where they still match
        (a publisher may list one organisation twice in a role, e.g. with two activity ids)."""
        rows = [(x.organisation, ROLE_CODES.get(x.role, "4")) for x in p.participants]
        matched: set[int] = set()
        result: list[Org] = []
        for item in data.get("participating-org", []):
            names = {first_text(_texts(item.get("narratives"))), item.get("ref")} - {None}
            for i, (org, role) in enumerate(rows):
                if role == item.get("role") and org.name in names:
                    kept = _org_of(item)
                    assert kept is not None
                    if not kept.narratives:
                        kept.narratives = [Narrative(org.name)]
                    result.append(kept)
                    matched.add(i)
                    break
        result += [Org([Narrative(org.name)], org.iati_ref, org.kind, role)
                   for i, (org, role) in enumerate(rows) if i not in matched]
        if not result:
            result = [Org(list(reporting.narratives), reporting.ref, reporting.type, "2")]
            self.note(p, "no_participants", f"project {p.code} has no participants; the reporting organisation is "
                      "exported as accountable (IATI requires one participating-org)")
        return result

    def dates(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        texts = data.get("activity-date", {})
        for kind, day in (("1", p.planned_start), ("2", p.actual_start), ("3", p.planned_end), ("4", p.actual_end)):
            if day is not None:
                a.dates.append(ActivityDate(kind, day, _texts(texts.get(kind))))
        if a.dates:
            return
        events = list(p.events)
        started = next((e for e in events if e.status not in ("pipeline", "agreed")), None)
        event = started or (events[0] if events else None)
        kind = "2" if started else "1"
        day = event.effective_start if event else p.created_at.date()
        why = f"the status history ({event.status} from {event.effective})" if event else "the day it was registered"
        a.dates.append(ActivityDate(kind, day, [Narrative(f"Derived by cooptrack from {why}", "en")]))
        self.note(p, "derived_date", f"project {p.code} has no dates; exported activity-date type {kind} "
                  f"{day.isoformat()} from {why} (IATI requires one)")

    def places(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        stored = data.get("location", [])
        for i, loc in enumerate(sorted(p.locations, key=lambda x: x.id)):
            item = stored[i] if i < len(stored) else {}
            names = _texts(item.get("name"))
            same = bool(item) and location_name(names, item.get("ref"), i + 1) == loc.name
            a.locations.append(Place(names if same else [Narrative(loc.name)],
                                     item.get("ref") if same else None, loc.latitude, loc.longitude,
                                     item.get("srsName") if same else None, item.get("xml", []) if same else []))

    def classifications(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        countries, regions, sectors = (data.get("recipient-country", []), data.get("recipient-region", []),
                                       data.get("sector", []))
        if p.host_country:
            code = _alpha2(p.host_country)
            item: dict[str, Any] = next(
                (c for c in countries if countrynames.mappings.get(c["code"].upper()) == p.host_country), {})
            if code:
                a.countries.append(Coded(item.get("code", code), None, _pct(item), None,
                                         _texts(item.get("narratives"))))
        order = [(c.get("vocabulary") or "1", c.get("code")) for c in sectors]
        for s in p.sectors:
            item = _stored(sectors, s.dac_code, "1")
            a.sectors.append(Coded(s.dac_code, item.get("vocabulary", "1"), s.percent, None,
                                   _texts(item.get("narratives"))))
        for tag in p.tags:
            vocabulary = tag.vocabulary.partition(":")[2] or None
            texts = [Narrative(tag.name)] if tag.name else []
            if tag.vocabulary == "recipient-country":
                item = _stored(countries, tag.code)
                a.countries.append(Coded(tag.code, None, tag.percent, None, _texts(item.get("narratives")) or texts))
            elif tag.vocabulary.startswith("recipient-region:"):
                item = _stored(regions, tag.code, vocabulary)
                a.regions.append(Coded(tag.code, item.get("vocabulary", vocabulary), tag.percent,
                                       item.get("vocabulary-uri"), _texts(item.get("narratives")) or texts))
            elif tag.vocabulary.startswith("sector:"):
                item = _stored(sectors, tag.code, vocabulary)
                a.sectors.append(Coded(tag.code, item.get("vocabulary", vocabulary), tag.percent,
                                       item.get("vocabulary-uri"), _texts(item.get("narratives")) or texts))
        # In the publisher's order where known (the register orders DAC sectors by code).
        a.sectors.sort(key=lambda c: order.index((c.vocabulary or "1", c.code))
                       if (c.vocabulary or "1", c.code) in order else len(order))

    def money(self, p: Project, a: Activity) -> None:
        for r in p.finance:
            extra = r.extra or {}
            value_date = r.value_date or r.transaction_date or r.period_start
            if value_date is None or (r.kind != "transaction" and r.period_start is None):
                self.note(p, "finance_skipped", f"project {p.code}: a {r.kind} of {r.amount} {r.currency} has no "
                          "dates; not exported")
                continue
            description = _texts(extra.get("description")) or ([Narrative(r.description)] if r.description else [])
            a.finance.append(Money(
                r.kind, r.amount, r.currency, value_date, r.type, r.status, r.transaction_date or value_date,
                r.period_start, r.period_end, r.ref, description,
                _org_of(extra.get("provider-org"), r.provider) if (r.provider or extra.get("provider-org")) else None,
                _org_of(extra.get("receiver-org"), r.receiver) if (r.receiver or extra.get("receiver-org")) else None,
                extra))
        if p.value_amount is not None and not p.finance:
            self.note(p, "value_not_exported", f"project {p.code}: its value ({p.value_amount} {p.value_currency}) "
                      "is not exported; IATI carries money as transactions and budgets only")

    def documents(self, p: Project, a: Activity, data: dict[str, Any]) -> None:
        stored = {d.get("url"): d for d in data.get("document-link", [])}
        for doc in p.documents:
            src = doc.source
            if not src.url:
                self.note(p, "document_skipped", f"project {p.code}: document '{src.title}' has no URL; not exported")
                continue
            item = stored.get(src.url, {})
            titles = _texts(item.get("title"))
            categories = item.get("categories") or []
            if not categories or categories[0] != doc.category:
                categories = [doc.category or DEFAULT_CATEGORY]
            a.documents.append(DocumentLink(
                src.url, src.media_type or "application/octet-stream",
                titles if titles and clip(first_text(titles) or src.url, 500) == src.title
                else [Narrative(src.title)],
                _texts(item.get("description")), categories,
                item.get("languages") or ([src.language] if src.language else []),
                parse_day(src.published) if src.published else None))


def _pct(item: dict[str, Any]) -> Decimal | None:
    return Decimal(item["percentage"]) if item.get("percentage") is not None else None


def export_activities(ctx: Context, report: Report, programme: str | None = None,
                      reporting_org: ReportingOrg | None = None) -> Iterable[Activity]:
    """The register's projects (of one programme, or all) as IATI activities, ordered by id;
    problems go to ``report`` (an error means the export must not be used)."""
    from sqlalchemy.orm import selectinload


    query = select(Project).order_by(Project.code).options(
        selectinload(Project.sectors), selectinload(Project.participants).selectinload(Participant.organisation),
        selectinload(Project.locations), selectinload(Project.tags), selectinload(Project.finance),
        selectinload(Project.documents).selectinload(ProjectDocument.source), selectinload(Project.events))
    if programme:
        query = query.where(Project.programme_id == get_programme(ctx, programme).id)
    exporter = _Exporter(reporting_org or ReportingOrg(), report)
    for project in ctx.session.scalars(query.execution_options(yield_per=200)):
        activity = exporter.activity(project)
        if activity is not None:
            yield activity
