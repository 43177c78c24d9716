"""The pages' languages: English and Russian, chosen by a remembered switch (the
``cooptrack_lang`` cookie) or the browser's Accept-Language, and the locale-aware formatting of
numbers, money, dates and periods (Babel's CLDR data).

The Russian catalog is a ``.po`` file in the package, compiled in memory when first needed: no
binary ``.mo`` file to keep in step. English is the source language (the msgids themselves)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations
from fastapi import Request

from cooptrack.domain.countries import country_name

LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"
COOKIE = "cooptrack_lang"
CATALOG_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural for extraction."""
    return singular, plural


# Labels for codes the pages show; the code stays in the data, the label is translated.
STATUS_LABELS = {
    "pipeline": N_("pipeline"),
    "agreed": N_("agreed"),
    "in_execution": N_("in execution"),
    "implemented": N_("implemented"),
    "closed": N_("closed"),
    "suspended": N_("suspended"),
    "cancelled": N_("cancelled"),
    "unrecorded": N_("no status recorded"),
}
HEADLINE_LABELS = {
    "package": N_("Package (all registered projects)"),
    "implemented": N_("Implemented"),
    "in_execution": N_("In execution"),
    "not_started": N_("Not started"),
}
INDICATOR_LABELS = {
    "trade_turnover": N_("Trade turnover"),
    "exports": N_("Exports"),
    "imports": N_("Imports"),
    "re_exports": N_("Re-exports"),
    "re_imports": N_("Re-imports"),
    "fdi_inflow": N_("Investment inflow"),
    "fdi_stock": N_("Investment stock"),
    "enterprises": N_("Enterprises with partner capital"),
    "joint_ventures": N_("Joint ventures"),
}
TARGET_STATES = {
    "achieved": N_("achieved"),
    "on_track": N_("on track"),
    "behind": N_("behind"),
    "missed": N_("missed"),
    "unknown": N_("not enough data"),
}
REVIEW_LABELS = {"pending": N_("pending"), "accepted": N_("accepted"), "rejected": N_("rejected")}
CLAIM_KINDS = {
    "party": N_("party"), "sector": N_("sector"), "count": N_("count"), "status": N_("status"),
    "money": N_("money"), "commodity": N_("commodity"), "period": N_("period"), "project": N_("project"),
    "percent": N_("percent"), "multiple": N_("multiple"),
}
SUBJECT_LABELS = {"programme": N_("programme"), "package": N_("package"), "project": N_("project"),
                  "portfolio": N_("portfolio"), "investment": N_("investment"), "loan": N_("loan"),
                  "grant": N_("grant"), "aid": N_("aid"), "revenue": N_("revenue"), "cost": N_("cost"),
                  "financing": N_("financing"), "budget": N_("budget"), "trade": N_("trade")}
SOURCE_KINDS = {"official": N_("official"), "media": N_("media"), "dataset": N_("dataset"),
                "company": N_("company")}
ROLE_LABELS = {"funding": N_("funding"), "accountable": N_("accountable"), "extending": N_("extending"),
               "implementing": N_("implementing"), "investor": N_("investor"), "contractor": N_("contractor")}
FLAG_LABELS = {"approximate": N_("approximate"), "lower_bound": N_("at least"), "estimated": N_("estimated"),
               "preliminary": N_("preliminary"), "mirror": N_("mirror figure"), "forecast": N_("forecast")}
SEVERITY_LABELS = {"conflict": N_("conflict"), "discrepancy": N_("discrepancy")}
COUNT_UNITS = {
    "project": NP_("%(n)s project", "%(n)s projects"),
    "enterprise": NP_("%(n)s enterprise", "%(n)s enterprises"),
    "company": NP_("%(n)s company", "%(n)s companies"),
    "joint_venture": NP_("%(n)s joint venture", "%(n)s joint ventures"),
    "agreement": NP_("%(n)s agreement", "%(n)s agreements"),
    "contract": NP_("%(n)s contract", "%(n)s contracts"),
    "document": NP_("%(n)s document", "%(n)s documents"),
    "mou": NP_("%(n)s memorandum", "%(n)s memoranda"),
    "industry": NP_("%(n)s industry", "%(n)s industries"),
    "job": NP_("%(n)s job", "%(n)s jobs"),
}
NO_INDUSTRY = "(no industry)"


# -- catalogs -------------------------------------------------------------------------------------


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of a locale (English: the msgids themselves)."""
    path = CATALOG_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.exists():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def locale_of(request: Request) -> str:
    """The cookie's choice, else the best Accept-Language match, else English."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))


def negotiate(header: str) -> str:
    preferred: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*":
            continue
        weight = 1.0
        m = re.search(r"q\s*=\s*([^;,\s]*)", params)
        if m:
            try:
                weight = float(m.group(1))
            except ValueError:
                weight = 0.0
        if weight > 0:
            preferred.append((-weight, i, tag.replace("_", "-")))
    ordered = [tag for _w, _i, tag in sorted(preferred)]
    found = negotiate_locale(ordered, list(LOCALES), sep="-")
    return found if found in LOCALES else DEFAULT_LOCALE


# -- formatting -----------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class Formatter:
    """Numbers, money, dates and labels for one locale; the templates' helpers."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = Locale.parse(locale)
        self._gettext = translations(locale).gettext
        self._ngettext = translations(locale).ngettext

    def t(self, message: str) -> str:
        return self._gettext(message)

    def number(self, value: Any, digits: int | None = None) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        if digits is not None:
            return format_decimal(d, format="#,##0." + "0" * digits if digits else "#,##0", locale=self._babel)
        return format_decimal(d, locale=self._babel, decimal_quantization=False)

    def money(self, value: Any, currency: str | None) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        if not currency:
            return self.number(d)
        pattern = self._babel.currency_formats["standard"].pattern
        if d == d.to_integral_value():
            pattern = pattern.replace(".00", "")
            return format_currency(d, currency, format=pattern, locale=self._babel, currency_digits=False)
        return format_currency(d, currency, locale=self._babel)

    def amount(self, value: Any, unit: str | None) -> str:
        """A figure in its unit: money for a currency code, else a number and the unit's label."""
        if unit and len(unit) == 3 and unit.isupper():
            return self.money(value, unit)
        return self.count(value, unit)

    def count(self, value: Any, unit: str | None) -> str:
        """``40 projects``, ``2 проекта``, ``500 предприятий``: the unit's plural form for the number."""
        d = _decimal(value)
        if d is not None and unit in COUNT_UNITS and d == d.to_integral_value():
            singular, plural = COUNT_UNITS[unit]
            return self._ngettext(singular, plural, int(d)) % {"n": self.number(d)}
        return f"{self.number(value)} {unit}" if unit and unit != "other" else self.number(value)

    def percent(self, value: Any) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        return format_decimal(d, format="#,##0.0", locale=self._babel) + "\u00a0%"

    def day(self, value: Any) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
        return format_date(value, "long", locale=self._babel)

    def period(self, value: Any) -> str:
        """``2019``, ``2019-H1``, ``2019-Q3``, ``2019-07``, ``2019-07-15`` in the locale's words."""
        if value is None or value == "":
            return "–"
        text = str(value)
        m = re.fullmatch(r"(\d{4})(?:-(?:H([12])|Q([1-4])|(\d{2})(?:-(\d{2}))?))?", text)
        if not m:
            return text
        year, half, quarter, month, dd = m.groups()
        try:
            if dd:
                return self.day(text)
            if month:
                return format_date(date(int(year), int(month), 1), "LLLL y", locale=self._babel)
        except ValueError:
            return text
        if half:
            return self.t("H%(half)s %(year)s") % {"half": half, "year": year}
        if quarter:
            return self.t("Q%(quarter)s %(year)s") % {"quarter": quarter, "year": year}
        return year

    def country(self, code: str | None) -> str:
        return country_name(code, self.locale) if code else "–"

    def status(self, key: str | None) -> str:
        return self.t(STATUS_LABELS.get(key or "unrecorded", key or ""))

    def label(self, table: dict[str, str], key: str | None) -> str:
        """A code's translated label, or the code itself when it has none."""
        if key is None:
            return "–"
        return self.t(table[key]) if key in table else key

    def subject(self, code: str | None) -> str:
        if code in INDICATOR_LABELS:
            return self.indicator(code)
        return self.label(SUBJECT_LABELS, code)

    def indicator(self, code: str, name: str | None = None) -> str:
        return self.t(INDICATOR_LABELS[code]) if code in INDICATOR_LABELS else (name or code)

    def industry(self, name: str | None) -> str:
        return self.t("(no industry)") if not name or name == NO_INDUSTRY else name

    def helpers(self) -> dict[str, Any]:
        return {
            "num": self.number, "money": self.money, "amount": self.amount, "count": self.count,
            "subject": self.subject, "pct": self.percent,
            "day": self.day, "period": self.period, "country": self.country, "status_label": self.status,
            "label": self.label, "indicator": self.indicator, "industry": self.industry,
            "STATUS_LABELS": STATUS_LABELS, "HEADLINE_LABELS": HEADLINE_LABELS, "TARGET_STATES": TARGET_STATES,
            "REVIEW_LABELS": REVIEW_LABELS, "CLAIM_KINDS": CLAIM_KINDS, "SUBJECT_LABELS": SUBJECT_LABELS,
            "SOURCE_KINDS": SOURCE_KINDS, "ROLE_LABELS": ROLE_LABELS, "FLAG_LABELS": FLAG_LABELS,
            "SEVERITY_LABELS": SEVERITY_LABELS,
        }


@cache
def formatter(locale: str) -> Formatter:
    return Formatter(locale if locale in LOCALES else DEFAULT_LOCALE)
