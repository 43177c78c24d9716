"""Report labels in English and Russian, and figures formatted for the report's locale.

The labels live here, not in the web UI's Babel catalogs, so the two can evolve apart; numbers,
money and dates go through Babel so separators and month names follow the locale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_compact_decimal, format_decimal

LANGUAGES = ("en", "ru")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report_title": "Programme report",
        "programme": "Programme",
        "code": "Id",
        "parties": "Parties",
        "signed": "Signed",
        "period": "Period",
        "as_of": "As of",
        "as_of_now": "today (everything recorded)",
        "generated": "Generated",
        "no_data": "no data",
        "source": "Source",
        "sources": "Sources",
        "headline": "Headline",
        "headline_note": "What the register holds beside what the sources report.",
        "row": "Row",
        "register_projects": "Register: projects",
        "register_usd": "Register: value (USD)",
        "reported_projects": "Reported: projects",
        "reported_value": "Reported: value",
        "gap": "Not registered",
        "reported_figures": "Reported figures",
        "subject": "Subject",
        "status": "Status",
        "count": "Count",
        "value": "Value",
        "register": "Register",
        "earlier_figures": "earlier figures",
        "portfolio": "Portfolio",
        "by_status": "By status",
        "by_industry": "By industry",
        "industry": "Industry",
        "projects": "Projects",
        "value_original": "Value (original currency)",
        "value_usd": "Value (USD)",
        "without_rate": "without a USD rate",
        "total": "Total",
        "targets": "Targets",
        "indicator": "Indicator",
        "between": "Between",
        "baseline": "Baseline",
        "target": "Target",
        "deadline": "Deadline",
        "latest": "Latest",
        "achieved": "Achieved",
        "expected": "Expected by then",
        "on_track": "On track",
        "yes": "yes",
        "no": "no",
        "unknown": "unknown",
        "series": "Indicators over time",
        "flags": "Flags",
        "trade": "Trade by HS section",
        "section": "HS section",
        "commodities": "Commodities named in the programme",
        "flow": "Flow",
        "hs_code": "HS code",
        "commodity": "Commodity",
        "timeline": "Timeline of status events",
        "date": "Date",
        "project": "Project",
        "title": "Title",
        "reopened": "reopened",
        "rates_used": "Exchange rates used",
        "currency": "Currency",
        "per_usd": "Per US dollar",
        "sources_cited": "Sources cited",
        "publisher": "Publisher",
        "published": "Published",
        "kind": "Kind",
        "address": "Address",
        "language": "Language",
        "claims": "Claims",
        "host_country": "Host country",
        "partner_country": "Partner country",
        "sectors": "DAC sectors",
        "status_since": "Status since",
        "value_date": "Value date",
        "rate": "Rate per USD",
        "reporter": "Reporter",
        "partner": "Partner",
        "unit": "Unit",
        "note": "Note",
        "more_in_workbook": "{n} more projects: see the Excel report",
        "more_than": "more than",
        "approximate": "approximately",
        "lower_bound": "lower bound",
        "estimated": "estimated",
        "preliminary": "preliminary",
        "mirror": "mirror",
        "forecast": "forecast",
        "exports": "exports",
        "imports": "imports",
        "state_on_track": "on track",
        "state_achieved": "achieved",
        "state_behind": "behind",
        "state_missed": "missed",
        "state_unknown": "unknown",
        "row_package": "Package (all registered)",
        "row_implemented": "Implemented",
        "row_in_execution": "In execution",
        "row_not_started": "Not started",
        "subject_programme": "programme",
        "subject_package": "package",
        "subject_project": "projects",
        "subject_portfolio": "portfolio",
        "unit_project": "projects",
        "unit_enterprise": "enterprises",
        "unit_percent": "%",
        "utc": "UTC",
        "status_pipeline": "pipeline",
        "status_agreed": "agreed",
        "status_in_execution": "in execution",
        "status_implemented": "implemented",
        "status_closed": "closed",
        "status_suspended": "suspended",
        "status_cancelled": "cancelled",
        "status_unrecorded": "no status recorded",
        "no_industry": "(no industry)",
        "sheet_key": "Field",
        "sheet_value": "Value",
    },
    "ru": {
        "report_title": "Отчёт о программе",
        "programme": "Программа",
        "code": "Идентификатор",
        "parties": "Стороны",
        "signed": "Подписана",
        "period": "Период",
        "as_of": "По состоянию на",
        "as_of_now": "сегодня (всё записанное)",
        "generated": "Сформирован",
        "no_data": "нет данных",
        "source": "Источник",
        "sources": "Источники",
        "headline": "Основные показатели",
        "headline_note": "Данные реестра рядом с данными источников.",
        "row": "Строка",
        "register_projects": "Реестр: проекты",
        "register_usd": "Реестр: стоимость (USD)",
        "reported_projects": "По источникам: проекты",
        "reported_value": "По источникам: стоимость",
        "gap": "Не внесено в реестр",
        "reported_figures": "Цифры из источников",
        "subject": "Предмет",
        "status": "Статус",
        "count": "Количество",
        "value": "Значение",
        "register": "Реестр",
        "earlier_figures": "прежних цифр",
        "portfolio": "Портфель проектов",
        "by_status": "По статусам",
        "by_industry": "По отраслям",
        "industry": "Отрасль",
        "projects": "Проекты",
        "value_original": "Стоимость (в валюте)",
        "value_usd": "Стоимость (USD)",
        "without_rate": "без курса к USD",
        "total": "Итого",
        "targets": "Целевые показатели",
        "indicator": "Показатель",
        "between": "Между",
        "baseline": "Базовое значение",
        "target": "Цель",
        "deadline": "Срок",
        "latest": "Последнее значение",
        "achieved": "Достигнуто",
        "expected": "Ожидалось к этому сроку",
        "on_track": "По плану",
        "yes": "да",
        "no": "нет",
        "unknown": "неизвестно",
        "series": "Показатели в динамике",
        "flags": "Отметки",
        "trade": "Торговля по разделам ТН ВЭД",
        "section": "Раздел ТН ВЭД",
        "commodities": "Товары, названные в программе",
        "flow": "Поток",
        "hs_code": "Код ТН ВЭД",
        "commodity": "Товар",
        "timeline": "Хронология статусов",
        "date": "Дата",
        "project": "Проект",
        "title": "Название",
        "reopened": "возобновлён",
        "rates_used": "Использованные курсы валют",
        "currency": "Валюта",
        "per_usd": "За доллар США",
        "sources_cited": "Цитируемые источники",
        "publisher": "Издатель",
        "published": "Опубликован",
        "kind": "Вид",
        "address": "Адрес",
        "language": "Язык",
        "claims": "Утверждения",
        "host_country": "Страна реализации",
        "partner_country": "Страна-партнёр",
        "sectors": "Секторы DAC",
        "status_since": "Статус с",
        "value_date": "Дата стоимости",
        "rate": "Курс за USD",
        "reporter": "Отчитывающаяся страна",
        "partner": "Партнёр",
        "unit": "Единица",
        "note": "Примечание",
        "more_in_workbook": "ещё проектов: {n}, см. отчёт Excel",
        "more_than": "более",
        "approximate": "около",
        "lower_bound": "нижняя граница",
        "estimated": "оценка",
        "preliminary": "предварительно",
        "mirror": "зеркальные данные",
        "forecast": "прогноз",
        "exports": "экспорт",
        "imports": "импорт",
        "state_on_track": "по плану",
        "state_achieved": "достигнута",
        "state_behind": "отставание",
        "state_missed": "не достигнута",
        "state_unknown": "неизвестно",
        "row_package": "Пакет (всё в реестре)",
        "row_implemented": "Реализовано",
        "row_in_execution": "В реализации",
        "row_not_started": "Не начато",
        "subject_programme": "программа",
        "subject_package": "пакет",
        "subject_project": "проекты",
        "subject_portfolio": "портфель",
        "unit_project": "проекты",
        "unit_enterprise": "предприятия",
        "unit_percent": "%",
        "utc": "UTC",
        "status_pipeline": "в проработке",
        "status_agreed": "согласован",
        "status_in_execution": "реализуется",
        "status_implemented": "реализован",
        "status_closed": "закрыт",
        "status_suspended": "приостановлен",
        "status_cancelled": "отменён",
        "status_unrecorded": "статус не записан",
        "no_industry": "(без отрасли)",
        "sheet_key": "Поле",
        "sheet_value": "Значение",
    },
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class Labels:
    """The words and number formats of one report language."""

    def __init__(self, lang: str) -> None:
        if lang not in LABELS:
            raise ValueError(f"language '{lang}' has no report labels; use one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self._words = LABELS[lang]

    def __call__(self, key: str, **values: Any) -> str:
        text = self._words.get(key) or LABELS["en"].get(key) or key
        return text.format(**values) if values else text

    def status(self, key: str | None) -> str:
        if not key:
            return self("status_unrecorded")
        return self._words.get(f"status_{key}", key.replace("_", " "))

    def industry(self, name: str) -> str:
        return self("no_industry") if name == "(no industry)" else name

    def subject(self, key: str) -> str:
        return self._words.get(f"subject_{key}", key)

    def state(self, key: str | None) -> str:
        return self._words.get(f"state_{key}", key or self("unknown"))

    def unit(self, unit: str | None) -> str:
        """A unit as a column heading says it: currencies as ISO codes, counted things in the plural."""
        if not unit:
            return ""
        return self._words.get(f"unit_{unit}", unit)

    def flags(self, flags: list[str] | None) -> str:
        return ", ".join(self._words.get(f, f.replace("_", " ")) for f in flags or [])

    # -- figures ---------------------------------------------------------------------------------

    def number(self, value: Any) -> str:
        """Every digit kept (no rounding of figures a source stated), locale separators."""
        d = _decimal(value)
        if d is None:
            return "–"
        return format_decimal(d, locale=self.lang, decimal_quantization=False)

    def compact(self, value: Any) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        if abs(d) < 10000:
            return self.number(d)
        return format_compact_decimal(d, locale=self.lang, fraction_digits=2)

    def money(self, value: Any, currency: str | None) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        return f"{self.number(d)} {currency}" if currency else self.number(d)

    def percent(self, value: Any) -> str:
        d = _decimal(value)
        if d is None:
            return "–"
        return f"{format_decimal(d, format='#,##0.0', locale=self.lang)}\u00a0%"

    def figure(self, value: Any, unit: str | None, approximate: bool = False, lower_bound: bool = False) -> str:
        """A reported figure with its qualifiers: 'more than 500 enterprises', 'approximately 7,000,000,000 USD'.
        A count of projects is shown bare: the column says what is counted."""
        text = self.money(value, None if unit == "project" else self.unit(unit) or None)
        if lower_bound:
            text = f"{self('more_than')} {text}"
        if approximate:
            text = f"{self('approximate')} {text}"
        return text

    def date(self, value: date | datetime | str | None) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return str(value)  # a period such as 2019-H1: shown as written
        if isinstance(value, datetime):
            return f"{format_datetime(value, 'medium', locale=self.lang)} {self('utc')}"
        return format_date(value, "long", locale=self.lang)
