"""IATI activity XML 2.03, written incrementally (``lxml.etree.xmlfile``): each
:class:`~cooptrack.formats.iati_read.Activity` becomes one ``iati-activity`` element, built,
written and dropped, with its children in the order of the schema's sequence."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from cooptrack.decimals import WIDE
from cooptrack.formats import xmlsafe
from cooptrack.formats.iati_read import XML_LANG, Activity, Coded, Money, Narrative, Org

VERSION = "2.03"
# The 2.03 sequence of iati-activity children.
ACTIVITY_ORDER = (
    "iati-identifier", "reporting-org", "title", "description", "participating-org", "other-identifier",
    "activity-status", "activity-date", "contact-info", "activity-scope", "recipient-country", "recipient-region",
    "location", "sector", "tag", "country-budget-items", "humanitarian-scope", "policy-marker", "collaboration-type",
    "default-flow-type", "default-finance-type", "default-aid-type", "default-tied-status", "budget",
    "planned-disbursement", "capital-spend", "transaction", "document-link", "related-activity", "legacy-data",
    "conditions", "result", "crs-add", "fss",
)
_RANK = {tag: i for i, tag in enumerate(ACTIVITY_ORDER)}
LOCATION_ORDER = ("location-reach", "location-id", "name", "description", "activity-description", "administrative",
                  "point", "exactness", "location-class", "feature-designation")
_LOCATION_RANK = {tag: i for i, tag in enumerate(LOCATION_ORDER)}
_ACTIVITY_ATTRS = ("xml:lang", "default-currency", "last-updated-datetime", "humanitarian", "hierarchy",
                   "linked-data-uri", "budget-not-provided")


def number(value: Decimal) -> str:
    """A decimal as xsd:decimal text: no exponent, no trailing zeros."""
    text = format(value.normalize(WIDE), "f")
    return "0" if text in ("-0", "") else text


def _set(el: Any, name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        value = number(value)
    elif isinstance(value, date):
        value = value.isoformat()
    el.set(XML_LANG if name == "xml:lang" else name, str(value))


def _narratives(parent: Any, items: list[Narrative]) -> Any:
    for item in items:
        narrative = etree.SubElement(parent, "narrative")
        if item.lang:
            narrative.set(XML_LANG, item.lang)
        narrative.text = item.text
    return parent


def _text_element(tag: str, items: list[Narrative], **attrs: object) -> Any:
    el = etree.Element(tag)
    for name, value in attrs.items():
        _set(el, name.replace("_", "-"), value)
    return _narratives(el, items)


def _org(tag: str, org: Org, role: bool = False) -> Any:
    el = etree.Element(tag)
    _set(el, "ref", org.ref)
    _set(el, "type", org.type)
    if role:
        _set(el, "role", org.role)
    if org.activity_id:
        name = {"provider-org": "provider-activity-id", "receiver-org": "receiver-activity-id"}.get(tag, "activity-id")
        _set(el, name, org.activity_id)
    for name, value in org.attrs.items():
        _set(el, name, value)
    return _narratives(el, org.narratives)


def _coded(tag: str, item: Coded, vocabulary: bool = True) -> Any:
    el = etree.Element(tag)
    _set(el, "code", item.code)
    if vocabulary:
        _set(el, "vocabulary", item.vocabulary)
        _set(el, "vocabulary-uri", item.vocabulary_uri)
    _set(el, "percentage", item.percentage)
    return _narratives(el, item.narratives)


def _money(m: Money) -> Any:
    el = etree.Element(m.kind.replace("_", "-"))
    if m.kind == "transaction":
        _set(el, "ref", m.ref)
        _set(el, "humanitarian", m.extra.get("humanitarian"))
        _set(etree.SubElement(el, "transaction-type"), "code", m.type)
        _set(etree.SubElement(el, "transaction-date"), "iso-date", m.day)
    else:
        _set(el, "type", m.type)
        _set(el, "status", m.status)
        _set(etree.SubElement(el, "period-start"), "iso-date", m.period_start)
        if m.period_end is not None:
            _set(etree.SubElement(el, "period-end"), "iso-date", m.period_end)
    value = etree.SubElement(el, "value")
    _set(value, "currency", m.currency)
    _set(value, "value-date", m.value_date)
    value.text = number(m.amount)
    if m.kind == "transaction" and m.description:
        el.append(_text_element("description", m.description))
    for tag, org in (("provider-org", m.provider), ("receiver-org", m.receiver)):
        if org is not None:
            el.append(_org(tag, org))
    if m.kind == "transaction":
        _transaction_details(el, m.extra)
    return el


def _transaction_details(el: Any, extra: dict[str, Any]) -> None:
    for tag in ("disbursement-channel", "sector", "recipient-country", "recipient-region", "flow-type",
                "finance-type", "aid-type", "tied-status"):
        items = extra.get(tag)
        if items is None:
            continue
        for item in items if isinstance(items, list) else [{"code": items}]:
            child = etree.SubElement(el, tag)
            for name, value in item.items():
                if name != "narratives":
                    _set(child, name, value)
            _narratives(child, [Narrative(n["text"], n.get("lang")) for n in item.get("narratives", [])])


def _location(place: Any) -> Any:
    el = etree.Element("location")
    _set(el, "ref", place.ref)
    children = [etree.fromstring(xml, xmlsafe.parser()) for xml in place.xml]
    if place.name:
        children.append(_text_element("name", place.name))
    if place.latitude is not None and place.longitude is not None:
        point = etree.Element("point", srsName=place.srs_name or "http://www.opengis.net/def/crs/EPSG/0/4326")
        etree.SubElement(point, "pos").text = f"{number(place.latitude)} {number(place.longitude)}"
        children.append(point)
    children.sort(key=lambda c: _LOCATION_RANK.get(c.tag, len(LOCATION_ORDER)))
    el.extend(children)
    return el


def activity_element(a: Activity) -> Any:
    """One iati-activity element, its children in the schema's order."""
    el = etree.Element("iati-activity")
    for name in _ACTIVITY_ATTRS:
        _set(el, name, a.attrs.get(name))
    children: list[Any] = []
    ident = etree.Element("iati-identifier")
    ident.text = a.identifier
    children.append(ident)
    if a.reporting_org is not None:
        children.append(_org("reporting-org", a.reporting_org))
    children.append(_text_element("title", a.title))
    children += [_text_element("description", texts, type=kind) for kind, texts in a.descriptions]
    children += [_org("participating-org", org, role=True) for org in a.participants]
    for item in a.other_identifiers:
        other = etree.Element("other-identifier", {k: v for k, v in item.items() if k in ("ref", "type")})
        if "owner-org" in item:
            owner = etree.SubElement(other, "owner-org")
            _set(owner, "ref", item["owner-org"].get("ref"))
            _narratives(owner, [Narrative(n["text"], n.get("lang")) for n in item["owner-org"].get("narratives", [])])
        children.append(other)
    status = etree.Element("activity-status")
    _set(status, "code", a.status)
    children.append(status)
    children += [_text_element("activity-date", d.narratives, iso_date=d.day, type=d.type) for d in a.dates]
    for tag, code in a.codes.items():
        children.append(etree.Element(tag, code=code))
    children += [_coded("recipient-country", c, vocabulary=False) for c in a.countries]
    children += [_coded("recipient-region", c) for c in a.regions]
    children += [_location(p) for p in a.locations]
    children += [_coded("sector", c) for c in a.sectors]
    children += [etree.Element("default-aid-type", item) for item in a.default_aid_types]
    if a.capital_spend is not None:
        children.append(etree.Element("capital-spend", percentage=a.capital_spend))
    children += [_money(m) for m in a.finance]
    for doc in a.documents:
        link = etree.Element("document-link", url=doc.url, format=doc.format)
        link.append(_text_element("title", doc.title))
        if doc.description:
            link.append(_text_element("description", doc.description))
        for code in doc.categories:
            etree.SubElement(link, "category", code=code)
        for code in doc.languages:
            etree.SubElement(link, "language", code=code)
        if doc.day is not None:
            etree.SubElement(link, "document-date", {"iso-date": doc.day.isoformat()})
        children.append(link)
    children += [etree.fromstring(xml, xmlsafe.parser()) for _, xml in a.verbatim]
    children.sort(key=lambda c: _RANK.get(c.tag, len(ACTIVITY_ORDER)))  # stable: keeps each tag's own order
    el.extend(children)
    return el


def write_activities(out: IO[bytes], activities: Iterable[Activity], generated: datetime) -> int:
    """Write an iati-activities document (version 2.03) to ``out``; returns how many activities."""
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        stamp = generated.isoformat(timespec="seconds").replace("+00:00", "Z")
        with xf.element("iati-activities", {"version": VERSION, "generated-datetime": stamp}):
            xf.write("\n")
            for activity in activities:
                xf.write(activity_element(activity), pretty_print=True)
                count += 1
    return count
