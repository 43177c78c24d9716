"""IATI activity XML 2.0x, read as a stream: one :class:`Activity` per ``iati-activity``, each
with its findings (line, XPath-like field, value, code, message).

Memory stays flat in the file size: ``iterparse`` on 'end' events of ``iati-activity`` only,
each activity cleared (and its earlier siblings deleted) once read. The file is refused whole
when it is not well-formed, declares a DTD, holds a huge node, or is IATI 1.0x.

Checks without a schema (``structural``): what cooptrack needs to store an activity faithfully
(identifier, title, dates, amounts, currencies, DAC sector percentages...) and the cardinalities
of the 2.03 schema. Placeholder codes (the schema's own test files use ``xx``) are warnings:
the schema accepts any string there. With a schema, each activity is validated on its own
against the official XSD (wrapped in a copy of the root element), which gives the same errors
and lines as validating the whole document but keeps memory flat.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from cooptrack import codes
from cooptrack.decimals import too_large, too_large_message
from cooptrack.findings import Finding, Severity
from cooptrack.formats import xmlsafe

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
VERSIONS = ("2.01", "2.02", "2.03")
SIMPLE_CODES = ("activity-scope", "collaboration-type", "default-flow-type", "default-finance-type",
                "default-tied-status")
# Elements cooptrack keeps as they were written (XML text in Project.iati) for a faithful export.
VERBATIM = ("contact-info", "country-budget-items", "humanitarian-scope", "policy-marker", "tag",
            "related-activity", "legacy-data", "conditions", "result", "crs-add", "fss")
SINGLE = frozenset(("iati-identifier", "reporting-org", "title", "activity-status", "capital-spend",
                    "country-budget-items", "conditions", "crs-add", "fss", *SIMPLE_CODES))
ACTIVITY_ATTRS = ("xml:lang", "default-currency", "last-updated-datetime", "humanitarian", "hierarchy",
                  "linked-data-uri", "budget-not-provided")
DATE_TYPES = ("1", "2", "3", "4")  # planned start, actual start, planned end, actual end
HUNDRED = Decimal(100)
# Children that may appear at most once, and children that carry a code and no text, of the
# elements cooptrack stores itself (verbatim elements are only checked with --xsd).
_ONCE = {
    "transaction": ("transaction-type", "transaction-date", "value", "description", "provider-org", "receiver-org",
                    "disbursement-channel", "recipient-country", "recipient-region", "flow-type", "finance-type",
                    "tied-status"),
    "budget": ("period-start", "period-end", "value"),
    "planned-disbursement": ("period-start", "period-end", "value", "provider-org", "receiver-org"),
    "document-link": ("title", "description", "document-date"),
    "location": ("location-reach", "name", "description", "activity-description", "point", "exactness",
                 "location-class", "feature-designation"),
}
_EMPTY = frozenset(("transaction-type", "transaction-date", "disbursement-channel", "flow-type", "finance-type",
                    "aid-type", "tied-status", "period-start", "period-end", "category", "language", "document-date",
                    "location-reach", "location-id", "administrative", "exactness", "location-class",
                    "feature-designation", "recipient-country", "recipient-region"))
_ORG_ATTRS = frozenset(("ref", "type", "role", "activity-id", "provider-activity-id", "receiver-activity-id"))
_NEEDS_NARRATIVE = frozenset(("description", "title", "name", "activity-description"))

_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?\s*$")
_DATETIME = re.compile(r"^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?\s*$")
_DECIMAL = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$")
_BOOLEAN = frozenset(("0", "1", "true", "false"))


@dataclass(slots=True)
class Narrative:
    text: str
    lang: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"text": self.text, "lang": self.lang} if self.lang else {"text": self.text}


@dataclass(slots=True)
class Org:
    """A reporting-org, participating-org, provider-org or receiver-org."""

    narratives: list[Narrative] = field(default_factory=list)
    ref: str | None = None
    type: str | None = None
    role: str | None = None
    activity_id: str | None = None
    attrs: dict[str, str] = field(default_factory=dict)  # other attributes, e.g. crs-channel-code

    @property
    def name(self) -> str | None:
        return first_text(self.narratives)


@dataclass(slots=True)
class Coded:
    """A sector, recipient country or recipient region."""

    code: str
    vocabulary: str | None = None
    percentage: Decimal | None = None
    vocabulary_uri: str | None = None
    narratives: list[Narrative] = field(default_factory=list)


@dataclass(slots=True)
class Money:
    """A transaction, budget or planned disbursement."""

    kind: str
    amount: Decimal
    currency: str | None
    value_date: date
    type: str | None = None
    status: str | None = None
    day: date | None = None  # a transaction's date
    period_start: date | None = None
    period_end: date | None = None
    ref: str | None = None
    description: list[Narrative] = field(default_factory=list)
    provider: Org | None = None
    receiver: Org | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DocumentLink:
    url: str
    format: str
    title: list[Narrative] = field(default_factory=list)
    description: list[Narrative] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    day: date | None = None


@dataclass(slots=True)
class Place:
    name: list[Narrative] = field(default_factory=list)
    ref: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    srs_name: str | None = None
    xml: list[str] = field(default_factory=list)  # the other children, verbatim


@dataclass(slots=True)
class ActivityDate:
    type: str
    day: date
    narratives: list[Narrative] = field(default_factory=list)


@dataclass
class Activity:
    source: str
    line: int
    position: int
    identifier: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    reporting_org: Org | None = None
    title: list[Narrative] = field(default_factory=list)
    descriptions: list[tuple[str | None, list[Narrative]]] = field(default_factory=list)
    participants: list[Org] = field(default_factory=list)
    other_identifiers: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    dates: list[ActivityDate] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)  # activity-scope, collaboration-type, defaults...
    default_aid_types: list[dict[str, str]] = field(default_factory=list)
    capital_spend: str | None = None
    countries: list[Coded] = field(default_factory=list)
    regions: list[Coded] = field(default_factory=list)
    locations: list[Place] = field(default_factory=list)
    sectors: list[Coded] = field(default_factory=list)
    finance: list[Money] = field(default_factory=list)
    documents: list[DocumentLink] = field(default_factory=list)
    verbatim: list[tuple[str, str]] = field(default_factory=list)  # (element name, XML)
    findings: list[Finding] = field(default_factory=list)
    file_generated: str | None = None

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def date_of(self, kind: str) -> date | None:
        return next((d.day for d in self.dates if d.type == kind), None)


def first_text(narratives: list[Narrative]) -> str | None:
    for n in narratives:
        text = n.text.strip()
        if text:
            return text
    return None


def parse_day(text: str | None) -> date | None:
    if text is not None and len(text) == 10:  # the usual YYYY-MM-DD, without the regular expression
        try:
            return date.fromisoformat(text) if text[4] == "-" and text[7] == "-" else None
        except ValueError:
            return None
    m = _DATE.match(text or "")
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        return None


def valid_datetime(text: str) -> bool:
    if not _DATETIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def parse_decimal(text: str | None) -> Decimal | None:
    if text is not None and text.isascii() and text.replace(".", "", 1).isdigit():
        return Decimal(text)  # the usual 1500 or 1500.50, which the regular expression accepts
    if text is None or not _DECIMAL.match(text):
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        return None


_CURRENCY_KNOWN: dict[str, bool] = {}


def known_currency(code: str) -> bool:
    """Whether ``codes.currency(code)`` knows the code, remembered per distinct code (a few per file,
    asked once per amount)."""
    known = _CURRENCY_KNOWN.get(code)
    if known is None:
        known = _CURRENCY_KNOWN[code] = codes.currency(code) is not None
    return known


def load_schema(folder: Path) -> etree.XMLSchema:
    """The official activity schema from ``folder`` (iati-activities-schema.xsd and the files it
    includes). Raises XmlRefused with a clear message when it cannot be loaded."""
    path = folder / "iati-activities-schema.xsd"
    if not path.is_file():
        raise xmlsafe.XmlRefused("no_schema", f"{path} does not exist; --xsd takes the folder holding "
                                 "iati-activities-schema.xsd (and iati-common.xsd, xml.xsd)")
    return _schema(str(path.resolve()), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _schema(path: str, mtime_ns: int) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(path, xmlsafe.parser()))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise xmlsafe.XmlRefused("bad_schema", f"cannot load the schema {path}: {exc}") from None


class _Reader:
    """Reads one iati-activity element into an Activity, with findings."""

    def __init__(self, activity: Activity, default_currency: str | None) -> None:
        self.a = activity
        self.default_currency = default_currency

    def finding(self, el: Any, where: str, code: str, message: str, value: object = None,
                severity: Severity = "error") -> None:
        self.a.findings.append(Finding(code, message, field=where, value=None if value is None else str(value),
                                       row=el.sourceline if el is not None else self.a.line,
                                       source=self.a.source, severity=severity))

    def warn(self, el: Any, where: str, code: str, message: str, value: object = None) -> None:
        self.finding(el, where, code, message, value, "warning")

    def narratives(self, el: Any) -> list[Narrative]:
        # The children named narrative in no namespace, as el.iterchildren("narrative") gives them
        # (comments' and processing instructions' tags are functions), without its matcher's set-up.
        return [Narrative(n.text or "", n.get(XML_LANG)) for n in el if n.tag == "narrative"]

    def required(self, el: Any, attr: str, where: str) -> str | None:
        value = el.get(attr)
        if value is None:
            self.finding(el, where, "missing_attribute", f"{el.tag} has no @{attr}; it is required", None)
        return value

    def day(self, el: Any | None, where: str, parent: Any, required: bool = True, name: str | None = None
            ) -> date | None:
        """The element's @iso-date; ``where`` (followed by ``/name``) is its path in the findings."""
        if el is None:
            if required:
                where = where if name is None else f"{where}/{name}"
                self.finding(parent, where, "missing_element", f"{where} is missing; it is required")
            return None
        raw = el.get("iso-date")
        day = parse_day(raw)
        if day is None:
            where = where if name is None else f"{where}/{name}"
            if raw is None:
                self.finding(el, f"{where}/@iso-date", "missing_attribute", f"{where} has no @iso-date")
            else:
                self.finding(el, f"{where}/@iso-date", "bad_date",
                             f"{where}/@iso-date '{raw}' is not a date; write YYYY-MM-DD", raw)
        return day

    def percentage(self, el: Any, where: str) -> Decimal | None:
        raw = el.get("percentage")
        if raw is None:
            return None
        pct = parse_decimal(raw)
        if pct is None or pct < 0 or pct > HUNDRED:
            self.finding(el, f"{where}/@percentage", "bad_percent",
                         f"{where}/@percentage '{raw}' is not a number from 0 to 100", raw)
            return None
        return pct

    def org(self, el: Any) -> Org:
        given = dict(el.items())  # one call into lxml for all the attributes
        get = given.get
        attrs = {} if given.keys() <= _ORG_ATTRS else {k: v for k, v in given.items()
                                                        if k not in _ORG_ATTRS and k[0] != "{"}
        return Org(self.narratives(el), get("ref"), get("type"), get("role"),
                   get("activity-id") or get("provider-activity-id") or get("receiver-activity-id"), attrs)

    def value(self, el: Any, where: str, parent: Any) -> tuple[Decimal, str | None, date] | None:
        if el is None:
            self.finding(parent, f"{where}/value", "missing_element", f"{where} has no value; it is required")
            return None
        ok = True
        amount = parse_decimal(el.text)
        if amount is None:
            ok = False
            self.finding(el, f"{where}/value", "bad_amount",
                         f"{where}/value '{(el.text or '').strip()}' is not a decimal number (e.g. -1500.50)",
                         (el.text or "").strip())
        elif too_large(amount):
            ok = False
            text = (el.text or "").strip()
            self.finding(el, f"{where}/value", "too_large", too_large_message(f"{where}/value '{text}'"), text)
        raw_vd = el.get("value-date")
        value_date = parse_day(raw_vd)
        if value_date is None:
            ok = False
            self.finding(el, f"{where}/value/@value-date", "bad_date" if raw_vd else "missing_attribute",
                         f"{where}/value/@value-date '{raw_vd}' is not a date; write YYYY-MM-DD" if raw_vd
                         else f"{where}/value has no @value-date; it is required", raw_vd)
        currency = el.get("currency") or self.default_currency
        if currency is not None and not known_currency(currency):
            ok = False
            self.finding(el, f"{where}/value/@currency", "unknown_currency",
                         f"currency '{currency}' is not an ISO 4217 code (e.g. USD, EUR, KRW)", currency)
        if not ok or amount is None or value_date is None:
            return None
        return amount, currency, value_date

    def structure(self, el: Any, where: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        """The 2.03 cardinalities of the children of a transaction, budget, document-link...;
        returns the first child of each name and all the element children with their names (lxml
        makes a new string each time it is asked a name), read in one pass."""
        first: dict[str, Any] = {}
        children: list[tuple[str, Any]] = []
        repeated: set[str] = set()
        parent_tag = el.tag
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            children.append((tag, child))
            if tag in first:
                repeated.add(tag)
            else:
                first[tag] = child
            if tag in _EMPTY:
                text = child.text
                if text is not None and text.strip():
                    self.finding(child, f"{where}/{tag}", "unexpected_text",
                                 f"{where}/{tag} holds text; it takes attributes only", text.strip()[:40])
            elif tag in _NEEDS_NARRATIVE and not _has_child(child, "narrative"):
                self.finding(child, f"{where}/{tag}/narrative", "missing_element", f"{where}/{tag} has no narrative")
            elif tag == "point" and not _has_child(child, "pos"):
                self.finding(child, f"{where}/point/pos", "missing_element", f"{where}/point has no pos")
        # In the schema's order of the children: a set's order changes with every process (string
        # hashes are salted), and the reading process is not the importing one.
        for tag in [t for t in _ONCE[parent_tag] if t in repeated] if repeated else ():
            count = sum(1 for name, _ in children if name == tag)
            self.finding(el, f"{where}/{tag}", "repeated_element",
                         f"{where} has {count} {tag} elements; at most one is allowed")
        if parent_tag == "document-link":
            for tag in ("title", "category"):
                if tag not in first:
                    self.finding(el, f"{where}/{tag}", "missing_element", f"{where} has no {tag}; it is required")
        return first, children

    # -- the elements -------------------------------------------------------------------------

    def read(self, el: Any) -> None:
        seen: dict[str, int] = {}
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments, processing instructions
            n = seen[tag] = seen.get(tag, 0) + 1
            if tag in SINGLE and n == 2:
                self.finding(child, tag, "repeated_element", f"{tag} appears more than once; at most one is allowed")
            if tag[0] == "{":
                continue  # other namespaces are allowed (D-Portal's dstore, publishers' extensions)
            handler = _HANDLERS.get(tag)
            if handler is not None:
                handler(self, child, tag if tag in SINGLE else f"{tag}[{n}]")
            elif tag in VERBATIM:
                self.a.verbatim.append((tag, verbatim(child)))
            else:
                where = tag if tag in SINGLE else f"{tag}[{n}]"
                self.finding(child, where, "unknown_element",
                             f"<{tag}> is not an IATI 2.03 activity element; extensions need their own namespace")
        for tag, what in (("iati-identifier", "iati-identifier"), ("reporting-org", "reporting-org"),
                          ("title", "title"), ("description", "description"),
                          ("participating-org", "participating-org"), ("activity-status", "activity-status"),
                          ("activity-date", "activity-date")):
            if tag not in seen:
                self.finding(el, what, "missing_element", f"the activity has no {what}; IATI 2.03 requires it")
        self.check_sectors()

    def identifier(self, el: Any, where: str) -> None:
        self.a.identifier = (el.text or "").strip()
        if len(self.a.identifier) > 200:
            self.finding(el, where, "too_long", f"iati-identifier is {len(self.a.identifier)} characters; "
                         "cooptrack keeps at most 200", self.a.identifier[:40])

    def reporting_org(self, el: Any, where: str) -> None:
        self.required(el, "ref", where)
        self.a.reporting_org = self.org(el)
        if not self.a.reporting_org.narratives:
            self.finding(el, f"{where}/narrative", "missing_element", "reporting-org has no narrative (its name)")

    def title(self, el: Any, where: str) -> None:
        self.a.title = self.narratives(el)
        if first_text(self.a.title) is None:
            self.finding(el, f"{where}/narrative", "missing_title",
                         "the title has no text; add <narrative>the title</narrative>")

    def description(self, el: Any, where: str) -> None:
        texts = self.narratives(el)
        if not texts:
            self.finding(el, f"{where}/narrative", "missing_element", f"{where} has no narrative")
        self.a.descriptions.append((el.get("type"), texts))

    def participating_org(self, el: Any, where: str) -> None:
        if self.required(el, "role", f"{where}/@role") is not None:
            self.a.participants.append(self.org(el))

    def other_identifier(self, el: Any, where: str) -> None:
        self.required(el, "ref", f"{where}/@ref")
        self.required(el, "type", f"{where}/@type")
        if (el.text or "").strip():
            self.finding(el, where, "unexpected_text", f"{where} holds text; use @ref and owner-org",
                         el.text.strip()[:40])
        item: dict[str, Any] = {k: v for k, v in el.attrib.items() if k in ("ref", "type")}
        owner = el.find("owner-org")
        if owner is not None:
            item["owner-org"] = {"ref": owner.get("ref"), "narratives": [n.as_json() for n in self.narratives(owner)]}
        self.a.other_identifiers.append(item)

    def activity_status(self, el: Any, where: str) -> None:
        self.a.status = self.required(el, "code", f"{where}/@code")

    def activity_date(self, el: Any, where: str) -> None:
        kind = self.required(el, "type", f"{where}/@type")
        day = self.day(el, where, el)
        if kind is None or day is None:
            return
        if kind not in DATE_TYPES:
            self.warn(el, f"{where}/@type", "unknown_date_type",
                      f"activity-date type '{kind}' is not an ActivityDateType code (1-4); the date was not kept",
                      kind)
        elif any(d.type == kind for d in self.a.dates):
            self.warn(el, f"{where}/@type", "repeated_date_type",
                      f"a second activity-date of type {kind}; the first one is kept", kind)
        else:
            self.a.dates.append(ActivityDate(kind, day, self.narratives(el)))

    def simple_code(self, el: Any, where: str) -> None:
        if (el.text or "").strip():
            self.finding(el, where, "unexpected_text", f"{where} holds text; it takes @code only",
                         el.text.strip()[:40])
        code = self.required(el, "code", f"{where}/@code")
        if code is not None:
            self.a.codes[el.tag] = code

    def default_aid_type(self, el: Any, where: str) -> None:
        if (el.text or "").strip():
            self.finding(el, where, "unexpected_text", f"{where} holds text; it takes @code only",
                         el.text.strip()[:40])
        code = self.required(el, "code", f"{where}/@code")
        if code is not None:
            self.a.default_aid_types.append({k: v for k, v in el.attrib.items() if k in ("code", "vocabulary")})

    def capital_spend(self, el: Any, where: str) -> None:
        if (el.text or "").strip():
            self.finding(el, where, "unexpected_text", f"{where} holds text; it takes @percentage only",
                         el.text.strip()[:40])
        if self.required(el, "percentage", f"{where}/@percentage") is not None and \
                self.percentage(el, where) is not None:
            self.a.capital_spend = el.get("percentage").strip()

    def coded(self, el: Any, where: str) -> Coded | None:
        code = self.required(el, "code", f"{where}/@code")
        pct = self.percentage(el, where)
        if code is None:
            return None
        return Coded(code.strip(), el.get("vocabulary"), pct, el.get("vocabulary-uri"), self.narratives(el))

    def recipient_country(self, el: Any, where: str) -> None:
        item = self.coded(el, where)
        if item is not None:
            self.a.countries.append(item)

    def recipient_region(self, el: Any, where: str) -> None:
        item = self.coded(el, where)
        if item is not None:
            self.a.regions.append(item)

    def sector(self, el: Any, where: str) -> None:
        item = self.coded(el, where)
        if item is not None:
            self.a.sectors.append(item)

    def location(self, el: Any, where: str) -> None:
        _, children = self.structure(el, where)
        place = Place(ref=el.get("ref"))
        for tag, child in children:
            if tag == "name":
                place.name = self.narratives(child)
            elif tag == "point":
                place.srs_name = child.get("srsName")
                pos = child.findtext("pos")
                parts = (pos or "").split()
                lat = parse_decimal(parts[0]) if len(parts) == 2 else None
                lon = parse_decimal(parts[1]) if len(parts) == 2 else None
                if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 \
                        or not (place.srs_name or "").endswith("/4326"):
                    # Kept as written (for the export), but not as coordinates cooptrack would misread.
                    self.warn(child, f"{where}/point/pos", "bad_position",
                              f"{where}/point '{pos}' ({place.srs_name}) is not latitude and longitude in "
                              "WGS 84 degrees (EPSG 4326); the location was kept without coordinates", pos)
                    place.xml.append(verbatim(child))
                else:
                    place.latitude, place.longitude = lat, lon
            else:
                place.xml.append(verbatim(child))
        self.a.locations.append(place)

    def money(self, el: Any, where: str, kind: str) -> None:
        first, children = self.structure(el, where)
        got = self.value(first.get("value"), where, el)
        attrs = dict(el.items()) if len(el.attrib) else {}  # one call into lxml for all the attributes
        code, day, start, end, provider, receiver = attrs.get("type"), None, None, None, None, None
        description: list[Narrative] = []
        extra: dict[str, Any] = {}
        if kind == "transaction":
            type_el = first.get("transaction-type")
            code = None if type_el is None else type_el.get("code")
            if code is None:
                self.finding(el if type_el is None else type_el, f"{where}/transaction-type/@code", "missing_code",
                             f"{where} has no transaction-type/@code (e.g. 2 commitment, 3 disbursement)")
            day = self.day(first.get("transaction-date"), where, el, name="transaction-date")
            description, provider, receiver = self._transaction_details(attrs, extra, children)
        else:
            start = self.day(first.get("period-start"), where, el, name="period-start")
            end = self.day(first.get("period-end"), where, el, kind == "budget", "period-end")
            if start and end and end < start:
                self.warn(el, f"{where}/period-end", "end_before_start",
                          f"{where} ends ({end}) before it starts ({start}); kept as given", end)
            if "provider-org" in first:
                provider = self.org(first["provider-org"])
            if "receiver-org" in first:
                receiver = self.org(first["receiver-org"])
        if got is None:
            return
        amount, currency, value_date = got
        if currency is None:
            self.warn(el, f"{where}/value/@currency", "missing_currency",
                      f"{where}/value has no @currency and the activity no @default-currency; this amount "
                      "was not imported: add currency=\"...\"")
            return
        self.a.finance.append(Money(kind, amount, currency, value_date, code, attrs.get("status"), day, start, end,
                                    attrs.get("ref"), description, provider, receiver, extra))

    def _transaction_details(self, attrs: dict[str, str], extra: dict[str, Any], children: list[tuple[str, Any]]
                             ) -> tuple[list[Narrative], Org | None, Org | None]:
        """A transaction's description, provider and receiver; its other children into ``extra``."""
        description: list[Narrative] = []
        provider = receiver = None
        if attrs.get("humanitarian") is not None:
            extra["humanitarian"] = attrs["humanitarian"]
        for tag, child in children:
            if tag in ("transaction-type", "transaction-date", "value"):
                continue
            if tag == "description":
                description = self.narratives(child)
            elif tag == "provider-org":
                provider = self.org(child)
            elif tag == "receiver-org":
                receiver = self.org(child)
            elif tag in ("disbursement-channel", "flow-type", "finance-type", "tied-status"):
                extra[tag] = self.required(child, "code", f"transaction/{tag}/@code")
            elif tag in ("aid-type", "sector", "recipient-region", "recipient-country"):
                self.required(child, "code", f"transaction/{tag}/@code")
                if child.get("percentage") is not None:
                    self.finding(child, f"transaction/{tag}/@percentage", "unexpected_attribute",
                                 f"a transaction's {tag} takes no percentage (it is all of the transaction)")
                item = {k: v for k, v in child.attrib.items() if k[0] != "{"}
                texts = self.narratives(child)
                if texts:
                    item["narratives"] = [n.as_json() for n in texts]
                extra.setdefault(tag, []).append(item)
        return description, provider, receiver

    def transaction(self, el: Any, where: str) -> None:
        self.money(el, where, "transaction")

    def budget(self, el: Any, where: str) -> None:
        self.money(el, where, "budget")

    def planned_disbursement(self, el: Any, where: str) -> None:
        self.money(el, where, "planned_disbursement")

    def document_link(self, el: Any, where: str) -> None:
        url = self.required(el, "url", f"{where}/@url")
        fmt = self.required(el, "format", f"{where}/@format")
        _, children = self.structure(el, where)  # the cardinality findings; the children are read below
        doc = DocumentLink(url or "", fmt or "")
        for tag, child in children:
            if tag == "title":
                doc.title = self.narratives(child)
            elif tag == "description":
                doc.description = self.narratives(child)
            elif tag == "category":
                code = self.required(child, "code", f"{where}/category/@code")
                if code:
                    doc.categories.append(code)
            elif tag == "language":
                code = self.required(child, "code", f"{where}/language/@code")
                if code:
                    doc.languages.append(code)
            elif tag == "document-date":
                doc.day = self.day(child, where, el, name="document-date")
        if url and fmt:
            self.a.documents.append(doc)

    def check_sectors(self) -> None:
        """DAC 5-digit sectors (vocabulary 1 or none): known codes, each once, percentages that sum
        to 100 (one sector without a percentage counts as 100)."""
        dac = [s for s in self.a.sectors if s.vocabulary in (None, "1")]
        if not dac or any(codes.sector(s.code) is None for s in dac):
            return  # unknown codes: the service keeps them as tags, with a warning
        if len(dac) > 1 and any(s.percentage is None for s in dac):
            self.finding(None, "sector/@percentage", "missing_percent",
                         "several DAC sectors, not all with a percentage; give each its @percentage")
            return
        if len({s.code for s in dac}) < len(dac):
            combined: dict[str, Coded] = {}
            for s in dac:
                if s.code in combined:
                    kept = combined[s.code]
                    self.warn(None, "sector/@code", "repeated_sector", f"DAC sector {s.code} is listed twice "
                              f"({kept.percentage} and {s.percentage}); counted once with the sum", s.code)
                    kept.percentage = (kept.percentage or HUNDRED) + (s.percentage or HUNDRED)
                else:
                    combined[s.code] = s
            self.a.sectors = [s for s in self.a.sectors if s.vocabulary not in (None, "1")] + list(combined.values())
            dac = list(combined.values())
        total = sum((s.percentage or HUNDRED for s in dac), Decimal(0))
        if total != HUNDRED:
            listed = ", ".join(f"{s.code}={s.percentage}" for s in dac)
            self.finding(None, "sector/@percentage", "sector_percent_sum",
                         f"DAC sector percentages sum to {total}, not 100 ({listed}); the publisher must fix them",
                         total)


_HANDLERS = {
    "iati-identifier": _Reader.identifier,
    "reporting-org": _Reader.reporting_org,
    "title": _Reader.title,
    "description": _Reader.description,
    "participating-org": _Reader.participating_org,
    "other-identifier": _Reader.other_identifier,
    "activity-status": _Reader.activity_status,
    "activity-date": _Reader.activity_date,
    "default-aid-type": _Reader.default_aid_type,
    "capital-spend": _Reader.capital_spend,
    "recipient-country": _Reader.recipient_country,
    "recipient-region": _Reader.recipient_region,
    "sector": _Reader.sector,
    "location": _Reader.location,
    "transaction": _Reader.transaction,
    "budget": _Reader.budget,
    "planned-disbursement": _Reader.planned_disbursement,
    "document-link": _Reader.document_link,
    **{tag: _Reader.simple_code for tag in SIMPLE_CODES},
}


def verbatim(el: Any) -> str:
    """The element as XML text. Exclusive canonical XML (C14N) declares only the namespaces the
    element uses, not the ones it inherits from the activity (D-Portal's dstore...)."""
    try:
        return etree.tostring(el, method="c14n", exclusive=True, with_comments=True).decode("utf-8")
    except etree.C14NError:  # e.g. a relative namespace URI in scope (D-Portal's xmlns:ns2="xml")
        clone = copy.deepcopy(el)
        clone.tail = None
        etree.cleanup_namespaces(clone)
        alone = etree.fromstring(etree.tostring(clone), xmlsafe.parser())
        return bytes(etree.tostring(alone, method="c14n", exclusive=True, with_comments=True)).decode("utf-8")


def _has_child(el: Any, tag: str) -> bool:
    """Whether the element has a child of that name in no namespace (``el.find(tag) is not None``,
    without ElementPath)."""
    return any(child.tag == tag for child in el)


def _looks_like_1x(activity: Any) -> bool:
    """IATI 1.0x wrote names as element text; 2.0x puts them in <narrative> children."""
    for tag in ("title", "reporting-org", "description"):
        el = activity.find(tag)
        if el is not None and (el.text or "").strip() and el.find("narrative") is None:
            return True
    return False


class FileState:
    """What a reader of an IATI file tells of the file as it goes: its file-level findings,
    whether it is refused whole, its version, how much was read (``IatiFile`` here, and
    ``iati_piped.PipedFile`` for a file read in a second process)."""

    def _begin(self, path: Path, name: str | None) -> None:
        self.path = path
        self.name = name or str(path)
        self.findings: list[Finding] = []
        self.refused = False
        self.fatal = False
        self.version: str | None = None
        self.generated: str | None = None
        self.count = 0
        self.bytes_read = 0


class IatiFile(FileState):
    """One IATI activity file read as a stream: iterate for its activities; afterwards
    ``findings`` holds the file-level findings and ``refused`` says whether the whole file is
    refused (not well-formed, a DTD, IATI 1.0x, a file-level error)."""

    def __init__(self, path: Path, schema: etree.XMLSchema | None = None, name: str | None = None) -> None:
        self._begin(path, name)
        self.schema = schema
        self._reader: xmlsafe.BoundedReader | None = None

    @property
    def bytes_so_far(self) -> int:
        return self._reader.bytes_read if self._reader is not None else self.bytes_read

    def _file_finding(self, code: str, message: str, line: int | None = None, where: str | None = None,
                      value: object = None, severity: Severity = "error") -> None:
        self.findings.append(Finding(code, message, field=where, value=None if value is None else str(value),
                                     row=line, source=self.name, severity=severity))
        if severity == "error":
            self.refused = True

    def _fatal(self, code: str, message: str, line: int | None = None, where: str | None = None) -> None:
        self._file_finding(code, message, line, where)
        self.fatal = True

    def __iter__(self) -> Iterator[Activity]:
        try:
            xmlsafe.check_prolog(self.path)
            handle = self.path.open("rb")
        except xmlsafe.XmlRefused as exc:
            self._fatal(exc.code, exc.message, exc.line)
            return
        except OSError as exc:
            self._fatal("unreadable", f"cannot read {self.path}: {exc.strerror}")
            return
        reader = self._reader = xmlsafe.BoundedReader(handle)
        events = xmlsafe.iterparse(reader, "iati-activity")
        try:
            for _, el in events:
                self.count += 1
                root = el.getparent()
                if self.count == 1 and not self._check_root(root, el):
                    return
                self._drop_earlier(el, root)
                activity = self._activity(el, root)
                el.clear()
                yield activity
            root = events.root
            if self.count == 0:
                if self._check_root(root, None):
                    self._file_finding("no_activities", "the file holds no iati-activity", root.sourceline)
            elif root is not None:
                self._check_top_level(list(root))
        except etree.XMLSyntaxError as exc:
            error = xmlsafe.syntax_error(exc)
            self._fatal("not_well_formed", f"not well-formed XML: {error.message}; fix the file at that line",
                        error.line)
        except xmlsafe.XmlRefused as exc:
            self._fatal(exc.code, exc.message, exc.line)
        finally:
            self.bytes_read = reader.bytes_read
            handle.close()

    def _check_root(self, root: Any, first: Any | None) -> bool:
        if root is None or root.tag != "iati-activities":
            tag = getattr(root, "tag", None)
            self._fatal("not_iati_activities", f"the root element is <{tag}>, not <iati-activities>: "
                        "this is not an IATI activity file", getattr(root, "sourceline", None))
            return False
        if root.getroottree().docinfo.doctype:
            self._fatal("dtd_refused", "the file declares a DTD; cooptrack never reads DTDs: remove it", 1)
            return False
        self.version = root.get("version")
        self.generated = root.get("generated-datetime")
        version = (self.version or "").strip()
        if version.startswith("1"):
            self._fatal("unsupported_version", f"IATI {version} is not supported; convert to 2.03",
                        root.sourceline, "iati-activities/@version")
            return False
        if not version and first is not None and _looks_like_1x(first):
            self._fatal("unsupported_version", "IATI 1.0x is not supported (no version, and names written as "
                        "text where 2.0x uses <narrative>); convert to 2.03", root.sourceline,
                        "iati-activities/@version")
            return False
        if self.version is None:
            self._file_finding("missing_version", "iati-activities has no @version; add version=\"2.03\"",
                               root.sourceline, "iati-activities/@version")
        elif version not in VERSIONS:
            self._file_finding("unknown_version", f"version '{self.version}' is not an IATI 2.0x version; "
                               "read as 2.03", root.sourceline, "iati-activities/@version", self.version, "warning")
        if self.generated is not None and not valid_datetime(self.generated):
            self._file_finding("bad_datetime", f"generated-datetime '{self.generated}' is not a date-time "
                               "(e.g. 2024-05-01T12:00:00Z)", root.sourceline, "iati-activities/@generated-datetime",
                               self.generated)
        return True

    def _check_top_level(self, elements: list[Any]) -> None:
        for el in elements:
            if isinstance(el.tag, str) and el.tag != "iati-activity" and el.tag[0] != "{":
                self._file_finding("unknown_element", f"<{el.tag}> is not allowed in iati-activities",
                                   el.sourceline, el.tag)

    def _drop_earlier(self, el: Any, root: Any) -> None:
        earlier = []
        prev = el.getprevious()
        while prev is not None:
            earlier.append(prev)
            prev = prev.getprevious()
        if len(earlier) > 1 or (earlier and earlier[0].tag != "iati-activity"):
            self._check_top_level(earlier)
        del root[: len(earlier)]

    def _activity(self, el: Any, root: Any) -> Activity:
        activity = Activity(self.name, el.sourceline, self.count, file_generated=self.generated)
        for key in ACTIVITY_ATTRS:
            value = el.get(XML_LANG if key == "xml:lang" else key)
            if value is not None:
                activity.attrs[key] = value
        if self.schema is not None and not self._validate(el, root, activity):
            return activity  # the schema's findings say it all
        reader = _Reader(activity, activity.attrs.get("default-currency"))
        attrs = activity.attrs
        if "last-updated-datetime" in attrs and not valid_datetime(attrs["last-updated-datetime"]):
            reader.finding(el, "@last-updated-datetime", "bad_datetime", "last-updated-datetime "
                           f"'{attrs['last-updated-datetime']}' is not a date-time (e.g. 2024-05-01T12:00:00Z)",
                           attrs["last-updated-datetime"])
        if "hierarchy" in attrs and not attrs["hierarchy"].strip().lstrip("+-").isdigit():
            reader.finding(el, "@hierarchy", "bad_integer", f"hierarchy '{attrs['hierarchy']}' is not a whole "
                           "number", attrs["hierarchy"])
        if "humanitarian" in attrs and attrs["humanitarian"].strip() not in _BOOLEAN:
            reader.finding(el, "@humanitarian", "bad_boolean", f"humanitarian '{attrs['humanitarian']}' is not "
                           "0, 1, true or false", attrs["humanitarian"])
        currency = attrs.get("default-currency")
        if currency is not None and not known_currency(currency):
            reader.finding(el, "@default-currency", "unknown_currency", f"default-currency '{currency}' is not an "
                           "ISO 4217 code (e.g. USD, EUR)", currency)
            reader.default_currency = None
        reader.read(el)
        return activity

    def _validate(self, el: Any, root: Any, activity: Activity) -> bool:
        assert self.schema is not None
        wrapper = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
        wrapper.append(copy.deepcopy(el))
        if self.schema.validate(wrapper):
            return True
        for error in self.schema.error_log:
            path = error.path or ""
            if path == "/iati-activities":
                if not any(f.message == f"schema: {error.message}" for f in self.findings):
                    self._file_finding("schema", f"schema: {error.message}", error.line, "iati-activities")
                continue
            where = path.partition("/iati-activities/iati-activity")[2].lstrip("/") or "iati-activity"
            activity.findings.append(Finding("schema", f"schema: {error.message}", field=where,
                                             row=error.line, source=self.name))
        return False
