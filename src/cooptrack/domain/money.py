"""Money: a Decimal amount in an ISO 4217 currency, never a binary float, with conversion
to US dollars that records the rate used and where the rate came from."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from cooptrack import codes
from cooptrack.decimals import WIDE, too_large, too_large_message
from cooptrack.domain._fail import invalid
from cooptrack.domain.period import Period
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding

CENT = Decimal("0.01")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_amount(text: str | int | Decimal, field: str = "amount") -> Decimal:
    """A decimal amount from text ("7000000000", "7_000_000_000", "2.5e9", "1,250.50")."""
    if isinstance(text, float):
        invalid(
            "float_amount",
            f"{field} {text!r} is a binary float; pass a Decimal or a string such as '{text}'",
            field,
            text,
        )
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int):
        value = Decimal(text)
    else:
        cleaned = text.strip().replace("_", "").replace(" ", "")
        if "," in cleaned:
            if not _GROUPED.match(cleaned):
                invalid("bad_amount", f"{field} '{text}' is ambiguous: commas only separate thousands "
                        "(1,250,000.50); write decimals with a dot", field, text)
            cleaned = cleaned.replace(",", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            invalid("bad_amount", f"{field} '{text}' is not a number; write digits such as 2500000000", field, text)
    if not value.is_finite():
        invalid("bad_amount", f"{field} '{text}' is not a finite number", field, text)
    if too_large(value):
        invalid("too_large", too_large_message(f"{field} '{text}'"), field, text)
    exponent = value.normalize(WIDE).as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -6:
        invalid("too_precise", f"{field} '{text}' has more than 6 decimal places", field, text)
    return value


def check_amount(value: str | int | Decimal, field: str = "amount") -> Decimal:
    """A finite, non-negative Decimal (floats refused)."""
    amount = parse_amount(value, field)
    if amount < 0:
        invalid("negative_amount", f"{field} {amount} is negative; money values must be zero or more", field, amount)
    return amount


def check_currency(code: str, field: str = "currency") -> str:
    found = codes.currency(code.strip().upper()) if isinstance(code, str) else None
    if found is None:
        invalid(
            "unknown_currency",
            f"{field} '{code}' is not an ISO 4217 currency code; use a code such as USD, KZT or KRW",
            field,
            code,
        )
    return found.code


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str
    value_date: date | None = None

    def __post_init__(self) -> None:
        findings: list[Finding] = []
        try:
            amount = check_amount(self.amount)
            object.__setattr__(self, "amount", amount)
        except InvalidInput as exc:
            findings.extend(exc.findings)
        try:
            object.__setattr__(self, "currency", check_currency(self.currency))
        except InvalidInput as exc:
            findings.extend(exc.findings)
        if findings:
            raise InvalidInput.from_findings(findings)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str, value_date: date | None = None) -> Money:
        code = currency.strip().upper() if isinstance(currency, str) else currency
        return cls(parse_amount(amount), code, value_date)

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}"


@dataclass(frozen=True, slots=True)
class Rate:
    """Units of ``currency`` per one US dollar over ``period``."""

    currency: str
    period: Period
    per_usd: Decimal
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.per_usd, Decimal) or not self.per_usd.is_finite():
            object.__setattr__(self, "per_usd", parse_amount(self.per_usd, "rate"))
        if not self.per_usd.is_finite():
            invalid("bad_rate", f"rate {self.per_usd} is not a finite number", "rate", self.per_usd)
        if self.per_usd <= 0:
            invalid("bad_rate", f"rate {self.per_usd} must be greater than zero", "rate", self.per_usd)
        if not self.source or not self.source.strip():
            invalid("missing_rate_source", "a rate needs its source; pass --source \"...\"", "source")


@dataclass(frozen=True, slots=True)
class Conversion:
    original: Money
    usd: Decimal
    rate: Decimal
    rate_period: str
    rate_source: str


class RateTable:
    """Exchange rates; the most specific period that holds the value date wins."""

    REMEMBER = 100_000  # (currency, date) look-ups kept by rate_on

    def __init__(self, rates: Iterable[Rate] = ()) -> None:
        self._by_currency: dict[str, list[Rate]] = {}
        self._found: dict[tuple[str, date | None], Rate | None] = {}
        for r in rates:
            self.add(r)

    def add(self, rate: Rate) -> None:
        self._by_currency.setdefault(rate.currency, []).append(rate)
        self._found = {}

    def find(self, currency: str, on: date | None) -> Rate | None:
        candidates = self._by_currency.get(currency, [])
        if not candidates:
            return None
        if on is None:
            return None  # no value date: no rate applies (a value is flagged, never guessed)
        holding = [r for r in candidates if r.period.contains(on)]
        if not holding:
            return None
        return min(holding, key=lambda r: r.period.days)

    def rate_on(self, currency: str, on: date | None) -> Rate | None:
        """``find``, remembered per currency and date (a table read by many requests)."""
        key = (currency, on)
        try:
            return self._found[key]
        except KeyError:
            pass
        found = self.find(currency, on)
        if len(self._found) >= self.REMEMBER:
            self._found = {}
        self._found[key] = found
        return found

    def stored_to_usd(self, amount: Decimal, currency: str, on: date | None) -> tuple[Decimal, Rate | None] | None:
        """A stored amount (checked when it was written) in USD, as ``to_usd`` converts it without
        checking it again: (USD, the rate used or None for USD itself), or None without a rate."""
        if currency == "USD":
            return amount, None
        rate = self.rate_on(currency, on)
        if rate is None:
            return None
        return (amount / rate.per_usd).quantize(CENT, rounding=ROUND_HALF_EVEN), rate

    def to_usd(self, money: Money) -> Conversion | None:
        if money.currency == "USD":
            return Conversion(money, money.amount, Decimal(1), "", "identity")
        rate = self.find(money.currency, money.value_date)
        if rate is None:
            return None
        usd = (money.amount / rate.per_usd).quantize(CENT, rounding=ROUND_HALF_EVEN)
        return Conversion(money, usd, rate.per_usd, rate.period.code, rate.source)
