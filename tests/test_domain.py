"""Pure unit tests for cooptrack.domain: money, exchange rates, periods, countries, statuses.

No database: every test here builds values directly and checks the exact result, or the exact
finding (code, message, field, value) carried by the InvalidInput the domain raises.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

import pytest

from cooptrack.domain.countries import country_name, find_country, resolve_country
from cooptrack.domain.money import Conversion, Money, Rate, RateTable, parse_amount
from cooptrack.domain.period import Period
from cooptrack.domain.status import ALLOWED, FROM_IATI, IATI_CODE, Status, check_transition, transition_allowed
from cooptrack.errors import InvalidInput, TransitionNotAllowed
from cooptrack.findings import Finding

PERIOD_FORMS = "write 2019, 2019-H1, 2019-Q3, 2019-07 or 2019-07-15"


def only_finding(exc: InvalidInput) -> Finding:
    """The single finding an InvalidInput from the domain carries; its message is the error's."""
    assert isinstance(exc, InvalidInput)
    assert len(exc.findings) == 1, exc.findings
    finding = exc.findings[0]
    assert finding.message == exc.message == str(exc)
    assert finding.severity == "error"
    return finding


# --- Money: amounts ---------------------------------------------------------------------


def test_money_keeps_a_decimal_amount_and_the_currency() -> None:
    m = Money(Decimal("7000000000.50"), "KZT", date(2019, 7, 1))
    assert m.amount == Decimal("7000000000.50")
    assert isinstance(m.amount, Decimal)
    assert m.currency == "KZT"
    assert m.value_date == date(2019, 7, 1)


def test_money_of_parses_text_and_normalises_the_currency() -> None:
    m = Money.of("1,250.50", " usd ")
    assert m == Money(Decimal("1250.50"), "USD")
    assert str(m.amount) == "1250.50"
    assert str(m) == "1,250.50 USD"


def test_money_from_int_becomes_decimal() -> None:
    m = Money(1000, "USD")  # type: ignore[arg-type]
    assert m.amount == Decimal(1000)
    assert type(m.amount) is Decimal


def test_money_refuses_a_binary_float() -> None:
    with pytest.raises(InvalidInput) as info:
        Money(7.5, "USD")  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert f.code == "float_amount"
    assert f.field == "amount"
    assert f.value == "7.5"
    assert f.message == "amount 7.5 is a binary float; pass a Decimal or a string such as '7.5'"


def test_money_of_refuses_a_binary_float() -> None:
    with pytest.raises(InvalidInput) as info:
        Money.of(7.5, "USD")  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert f.code == "float_amount"
    assert f.value == "7.5"
    assert f.message == "amount 7.5 is a binary float; pass a Decimal or a string such as '7.5'"


def test_parse_amount_refuses_a_binary_float() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(0.1)  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert f.code == "float_amount"
    assert f.field == "amount"
    assert f.value == "0.1"
    assert f.message == "amount 0.1 is a binary float; pass a Decimal or a string such as '0.1'"


def test_parse_amount_float_message_names_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(2.5, "value")  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert (f.code, f.field) == ("float_amount", "value")
    assert f.message.startswith("value 2.5 is a binary float")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_money_refuses_float_nan_and_infinity_as_floats(bad: float) -> None:
    with pytest.raises(InvalidInput) as info:
        Money(bad, "USD")  # type: ignore[arg-type]
    assert only_finding(info.value).code == "float_amount"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7_000_000_000", Decimal("7000000000")),
        ("2.5e9", Decimal("2500000000")),
        ("1,250.50", Decimal("1250.50")),
        ("  42 ", Decimal("42")),
        ("1 000 000", Decimal("1000000")),
        (12, Decimal("12")),
        (Decimal("0.10"), Decimal("0.10")),
    ],
)
def test_parse_amount_accepts(text: str | int | Decimal, expected: Decimal) -> None:
    value = parse_amount(text)
    assert type(value) is Decimal
    assert value == expected


def test_parse_amount_keeps_the_exact_decimal_digits() -> None:
    assert str(parse_amount("1,250.50")) == "1250.50"
    assert parse_amount("0.1") + parse_amount("0.2") == Decimal("0.3")


def test_parse_amount_refuses_words() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("seven billion")
    f = only_finding(info.value)
    assert f.code == "bad_amount"
    assert f.value == "seven billion"
    assert f.message == "amount 'seven billion' is not a number; write digits such as 2500000000"


@pytest.mark.parametrize("text", ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN"])
def test_parse_amount_refuses_non_finite_text(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount(text)
    f = only_finding(info.value)
    assert f.code == "bad_amount"
    assert f.message == f"amount '{text}' is not a finite number"


@pytest.mark.parametrize("text", ["NaN", "Infinity"])
def test_money_of_refuses_non_finite_text(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Money.of(text, "USD")
    f = only_finding(info.value)
    assert f.code == "bad_amount"
    assert f.message == f"amount '{text}' is not a finite number"


@pytest.mark.parametrize("amount", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_money_refuses_non_finite_decimal(amount: Decimal) -> None:
    with pytest.raises(InvalidInput) as info:
        Money(amount, "USD")
    f = only_finding(info.value)
    assert f.code == "bad_amount"
    assert f.field == "amount"
    assert f.message == f"amount '{amount}' is not a finite number"


def test_money_refuses_a_negative_amount() -> None:
    with pytest.raises(InvalidInput) as info:
        Money(Decimal("-5"), "USD")
    f = only_finding(info.value)
    assert f.code == "negative_amount"
    assert f.field == "amount"
    assert f.value == "-5"
    assert f.message == "amount -5 is negative; money values must be zero or more"


def test_money_of_refuses_a_negative_amount_text() -> None:
    with pytest.raises(InvalidInput) as info:
        Money.of("-0.01", "KZT")
    assert only_finding(info.value).code == "negative_amount"


def test_money_zero_is_allowed() -> None:
    assert Money.of("0", "USD").amount == 0


def test_money_refuses_an_unknown_currency() -> None:
    with pytest.raises(InvalidInput) as info:
        Money(Decimal("1"), "USDD")
    f = only_finding(info.value)
    assert f.code == "unknown_currency"
    assert f.field == "currency"
    assert f.value == "USDD"
    assert f.message == "currency 'USDD' is not an ISO 4217 currency code; use a code such as USD, KZT or KRW"


def test_money_of_refuses_an_unknown_currency_after_upper_casing() -> None:
    with pytest.raises(InvalidInput) as info:
        Money.of("1", "usdd")
    f = only_finding(info.value)
    assert f.code == "unknown_currency"
    assert "'USDD'" in f.message


# --- Rate and RateTable -----------------------------------------------------------------

Y2019 = Period.parse("2019")
JUL2019 = Period.parse("2019-07")


def kzt_2019(per_usd: str = "382.75", source: str = "National Bank of Kazakhstan") -> Rate:
    return Rate("KZT", Y2019, Decimal(per_usd), source)


def test_kzt_2019_rate_converts_exactly_to_usd() -> None:
    table = RateTable([kzt_2019()])
    conv = table.to_usd(Money.of("382750", "KZT", date(2019, 7, 1)))
    assert isinstance(conv, Conversion)
    assert conv.usd == Decimal("1000.00")
    assert str(conv.usd) == "1000.00"  # quantised to cents
    assert conv.rate == Decimal("382.75")
    assert conv.rate_period == "2019"
    assert conv.rate_source == "National Bank of Kazakhstan"
    assert conv.original == Money(Decimal("382750"), "KZT", date(2019, 7, 1))


@pytest.mark.parametrize("order", ["annual_first", "monthly_first"])
def test_most_specific_period_wins(order: str) -> None:
    monthly = Rate("KZT", JUL2019, Decimal("390"), "NBK monthly")
    rates = [kzt_2019(), monthly] if order == "annual_first" else [monthly, kzt_2019()]
    table = RateTable(rates)

    july = table.to_usd(Money.of("390000", "KZT", date(2019, 7, 15)))
    assert july is not None
    assert (july.usd, july.rate, july.rate_period, july.rate_source) == (
        Decimal("1000.00"), Decimal("390"), "2019-07", "NBK monthly"
    )

    august = table.to_usd(Money.of("382750", "KZT", date(2019, 8, 1)))
    assert august is not None
    assert (august.usd, august.rate, august.rate_period) == (Decimal("1000.00"), Decimal("382.75"), "2019")

    assert table.find("KZT", date(2019, 7, 31)) == monthly
    assert table.find("KZT", date(2019, 6, 30)) == kzt_2019()


def test_no_rate_gives_none() -> None:
    table = RateTable([kzt_2019()])
    assert table.to_usd(Money.of("1000", "KZT", date(2020, 1, 1))) is None
    assert table.to_usd(Money.of("1000", "KZT", date(2018, 12, 31))) is None
    assert table.to_usd(Money.of("1000", "KRW", date(2019, 7, 1))) is None
    assert RateTable().to_usd(Money.of("1000", "KZT", date(2019, 7, 1))) is None
    assert table.find("KRW", date(2019, 7, 1)) is None


def test_usd_converts_with_identity() -> None:
    money = Money.of("250.75", "USD", date(2019, 7, 1))
    conv = RateTable().to_usd(money)
    assert conv is not None
    assert conv.usd == Decimal("250.75")
    assert conv.rate == Decimal(1)
    assert conv.rate_source == "identity"
    assert conv.original is money


def test_without_a_value_date_no_rate_is_guessed() -> None:
    table = RateTable([kzt_2019(), Rate("KZT", Period.parse("2020"), Decimal("400"), "NBK 2020")])
    assert table.to_usd(Money.of("4000", "KZT")) is None  # counted as "without a rate", never guessed
    assert table.to_usd(Money.of("4000", "USD")) is not None  # US dollars need no rate


def test_stored_amounts_convert_as_to_usd_does() -> None:
    monthly = Rate("KZT", JUL2019, Decimal("390"), "NBK monthly")
    table = RateTable([kzt_2019(), monthly, Rate("KRW", Y2019, Decimal("1165.36"), "Bank of Korea")])
    cases = [(amount, currency, on) for amount in ("0", "1", "382750", "12345678.91", "0.005")
             for currency in ("KZT", "KRW", "USD", "EUR")
             for on in (date(2019, 7, 15), date(2019, 8, 1), date(2020, 1, 1), None)]
    for _ in range(2):  # the second round from what rate_on remembers
        for amount, currency, on in cases:
            expected = table.to_usd(Money.of(amount, currency, on))
            got = table.stored_to_usd(Decimal(amount), currency, on)
            if expected is None:
                assert got is None, (amount, currency, on)
                continue
            assert got is not None and got[0] == expected.usd, (amount, currency, on)
            rate = got[1]
            assert (rate is None) == (expected.rate_source == "identity")
            if rate is not None:
                assert (rate.per_usd, rate.period.code, rate.source) == (
                    expected.rate, expected.rate_period, expected.rate_source)
    table.add(Rate("EUR", Y2019, Decimal("0.89"), "ECB"))  # a rate added later is found, not the remembered none
    assert table.stored_to_usd(Decimal("89"), "EUR", date(2019, 7, 15)) == (
        Decimal("100.00"), Rate("EUR", Y2019, Decimal("0.89"), "ECB"))


def test_amounts_beyond_the_stored_precision_are_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("1e40")
    assert only_finding(info.value).code == "too_large"
    with pytest.raises(InvalidInput) as info:
        parse_amount("0.0000001")
    assert only_finding(info.value).code == "too_precise"
    assert parse_amount("0.000001") == Decimal("0.000001")


@pytest.mark.parametrize(
    ("amount", "usd"),
    [
        ("0.25", "0.12"),  # 0.125 -> half-even rounds down to the even cent
        ("0.75", "0.38"),  # 0.375 -> half-even rounds up to the even cent
        ("0.27", "0.14"),  # 0.135 -> 0.14
        ("0.01", "0.00"),  # 0.005 -> 0.00
        ("0.03", "0.02"),  # 0.015 -> 0.02
        ("0.253", "0.13"),  # 0.1265 -> not a tie, nearest
    ],
)
def test_conversion_rounds_to_cents_half_even(amount: str, usd: str) -> None:
    table = RateTable([Rate("KZT", Y2019, Decimal("2"), "test")])
    conv = table.to_usd(Money.of(amount, "KZT", date(2019, 3, 1)))
    assert conv is not None
    assert str(conv.usd) == usd


@pytest.mark.parametrize("per_usd", [Decimal("0"), Decimal("-1")])
def test_rate_must_be_positive(per_usd: Decimal) -> None:
    with pytest.raises(InvalidInput) as info:
        Rate("KZT", Y2019, per_usd, "NBK")
    f = only_finding(info.value)
    assert f.code == "bad_rate"
    assert f.field == "rate"
    assert f.value == str(per_usd)
    assert f.message == f"rate {per_usd} must be greater than zero"


@pytest.mark.parametrize("source", ["", "   ", None])
def test_rate_needs_a_source(source: str | None) -> None:
    with pytest.raises(InvalidInput) as info:
        Rate("KZT", Y2019, Decimal("382.75"), source)  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert f.code == "missing_rate_source"
    assert f.field == "source"
    assert f.message == 'a rate needs its source; pass --source "..."'


def test_rate_refuses_a_float() -> None:
    with pytest.raises(InvalidInput) as info:
        Rate("KZT", Y2019, 382.75, "NBK")  # type: ignore[arg-type]
    f = only_finding(info.value)
    assert (f.code, f.field) == ("float_amount", "rate")


# --- Period -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "precision", "start", "end"),
    [
        ("2019", "2019", "year", date(2019, 1, 1), date(2019, 12, 31)),
        ("2019-H1", "2019-H1", "half", date(2019, 1, 1), date(2019, 6, 30)),
        ("2019-H2", "2019-H2", "half", date(2019, 7, 1), date(2019, 12, 31)),
        ("2019-Q1", "2019-Q1", "quarter", date(2019, 1, 1), date(2019, 3, 31)),
        ("2019-Q2", "2019-Q2", "quarter", date(2019, 4, 1), date(2019, 6, 30)),
        ("2019-Q3", "2019-Q3", "quarter", date(2019, 7, 1), date(2019, 9, 30)),
        ("2019-Q4", "2019-Q4", "quarter", date(2019, 10, 1), date(2019, 12, 31)),
        ("2019-07", "2019-07", "month", date(2019, 7, 1), date(2019, 7, 31)),
        ("2019-07-15", "2019-07-15", "day", date(2019, 7, 15), date(2019, 7, 15)),
        ("2020-02", "2020-02", "month", date(2020, 2, 1), date(2020, 2, 29)),
        ("2019-02", "2019-02", "month", date(2019, 2, 1), date(2019, 2, 28)),
        ("2020-02-29", "2020-02-29", "day", date(2020, 2, 29), date(2020, 2, 29)),
        ("2020-Q1", "2020-Q1", "quarter", date(2020, 1, 1), date(2020, 3, 31)),
        ("2019-h1", "2019-H1", "half", date(2019, 1, 1), date(2019, 6, 30)),
        (" 2019-q4 ", "2019-Q4", "quarter", date(2019, 10, 1), date(2019, 12, 31)),
    ],
)
def test_period_parse(text: str, code: str, precision: str, start: date, end: date) -> None:
    p = Period.parse(text)
    assert (p.code, p.precision, p.start, p.end) == (code, precision, start, end)
    assert str(p) == code


def test_period_lower_case_equals_upper_case() -> None:
    assert Period.parse("2019-h1") == Period.parse("2019-H1")
    assert Period.parse("2019-q3") == Period.parse("2019-Q3")


@pytest.mark.parametrize(("text", "days"), [("2019", 365), ("2020", 366), ("2019-H1", 181), ("2020-H1", 182),
                                            ("2019-Q3", 92), ("2020-02", 29), ("2019-07-15", 1)])
def test_period_days(text: str, days: int) -> None:
    assert Period.parse(text).days == days


BAD_PERIODS = ["2019-13", "2019-Q5", "19", "2019-02-30", "abc"]


@pytest.mark.parametrize("text", BAD_PERIODS)
def test_bad_period_code_and_text(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Period.parse(text)
    f = only_finding(info.value)
    assert f.code == "bad_period"
    assert f.field == "period"
    assert f.value == text
    assert f.message.startswith(f"period '{text}' is not ")


@pytest.mark.parametrize("text", BAD_PERIODS)
def test_bad_period_message_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Period.parse(text)
    f = only_finding(info.value)
    assert f.code == "bad_period"
    assert f"'{text}'" in f.message
    assert PERIOD_FORMS in f.message, f.message


def test_bad_period_message_exact_and_field_name() -> None:
    with pytest.raises(InvalidInput) as info:
        Period.parse("2019-Q5", "baseline")
    f = only_finding(info.value)
    assert f.field == "baseline"
    assert f.message == f"baseline '2019-Q5' is not a period; {PERIOD_FORMS}"


def test_period_ordering() -> None:
    texts = ["2019-07-15", "2019-Q3", "2020", "2019-01", "2019", "2019-H2", "2018-12", "2019-Q1", "2019-07",
             "2019-H1", "2019-01-01"]
    ordered = [p.code for p in sorted(Period.parse(t) for t in texts)]
    assert ordered == [
        "2018-12",
        "2019", "2019-H1", "2019-Q1", "2019-01", "2019-01-01",  # same start: longest first
        "2019-H2", "2019-Q3", "2019-07",
        "2019-07-15",
        "2020",
    ]


def test_period_comparisons() -> None:
    year, half, q3 = Period.parse("2019"), Period.parse("2019-H1"), Period.parse("2019-Q3")
    assert year < half < q3
    assert q3 > half > year
    assert year <= Period.parse("2019") and year >= Period.parse("2019")
    assert not (half < year)
    assert Period.parse("2018-12-31") < year


@pytest.mark.parametrize("inner", ["2019-H1", "2019-H2", "2019-Q3", "2019-07", "2019-07-15", "2019-12-31", "2019"])
def test_year_contains(inner: str) -> None:
    year = Period.parse("2019")
    assert year.contains(Period.parse(inner))
    assert Period.parse(inner) in year


def test_contains_dates_and_refusals() -> None:
    year, h1 = Period.parse("2019"), Period.parse("2019-H1")
    assert year.contains(date(2019, 7, 1))
    assert date(2019, 1, 1) in year and date(2019, 12, 31) in year
    assert date(2020, 1, 1) not in year and date(2018, 12, 31) not in year
    assert not h1.contains(Period.parse("2019-Q3"))
    assert Period.parse("2019-Q3") not in h1
    assert date(2019, 6, 30) in h1 and date(2019, 7, 1) not in h1
    assert not h1.contains(year)  # a shorter period does not contain a longer one
    assert not year.contains(Period.parse("2020-01"))
    assert not Period.parse("2019-Q2").contains(Period.parse("2019-H1"))  # overlapping, not contained


def test_fraction_elapsed() -> None:
    year = Period.parse("2019")
    assert year.fraction_elapsed(date(2018, 12, 31)) == 0.0
    assert year.fraction_elapsed(date(2019, 1, 1)) == pytest.approx(1 / 365)
    assert year.fraction_elapsed(date(2019, 6, 30)) == pytest.approx(181 / 365)
    assert year.fraction_elapsed(date(2019, 7, 1)) == pytest.approx(182 / 365)
    assert year.fraction_elapsed(date(2019, 12, 31)) == 1.0
    assert year.fraction_elapsed(date(2020, 3, 1)) == 1.0
    assert Period.parse("2020").fraction_elapsed(date(2020, 2, 29)) == pytest.approx(60 / 366)
    assert Period.parse("2019-07").fraction_elapsed(date(2019, 7, 15)) == pytest.approx(15 / 31)


def test_period_of_date_and_next_day() -> None:
    p = Period.of_date(date(2019, 7, 15))
    assert p == Period.parse("2019-07-15")
    assert Period.parse("2019-12").next_day_after() == date(2020, 1, 1)
    assert Period.parse("2020-02").next_day_after() == date(2020, 3, 1)


# --- Countries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("South Korea", "KOR"),
        ("Korean", "KOR"),
        ("Казахстан", "KAZ"),
        ("대한민국", "KOR"),
        ("Republic of Korea", "KOR"),
        ("KAZ", "KAZ"),
        ("KZ", "KAZ"),
        ("Kazakhstan", "KAZ"),
        ("  South Korea  ", "KOR"),
    ],
)
def test_resolve_country(name: str, code: str) -> None:
    assert resolve_country(name) == code
    assert find_country(name) == code


def test_unknown_country() -> None:
    assert find_country("Koreaa") is None
    with pytest.raises(InvalidInput) as info:
        resolve_country("Koreaa")
    f = only_finding(info.value)
    assert f.code == "unknown_country"
    assert f.field == "country"
    assert f.value == "Koreaa"
    assert f.message == (
        "country 'Koreaa' is not a known country; use an ISO 3166 code (KAZ, KOR) "
        "or a name such as 'Kazakhstan' or 'South Korea'"
    )


def test_unknown_country_names_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        resolve_country("Atlantis", "partner")
    f = only_finding(info.value)
    assert (f.code, f.field) == ("unknown_country", "partner")
    assert f.message.startswith("partner 'Atlantis' is not a known country")


@pytest.mark.parametrize("blank", ["", "   "])
def test_find_country_blank_is_none(blank: str) -> None:
    assert find_country(blank) is None
    with pytest.raises(InvalidInput) as info:
        resolve_country(blank)
    assert only_finding(info.value).code == "unknown_country"


def test_country_name() -> None:
    assert country_name("KAZ") == "Kazakhstan"
    assert country_name("KOR") == "South Korea"
    ru = country_name("KOR", "ru")
    letters = [c for c in ru if c.isalpha()]
    assert letters, ru
    assert all(re.fullmatch(r"[\u0400-\u04FF]", c) for c in letters), ru
    assert "Коре" in ru
    assert country_name("KAZ", "ru") == "Казахстан"
    assert country_name("XXX") == "XXX"  # unknown code: the code itself


# --- Status -----------------------------------------------------------------------------


def test_iati_mapping_exactly() -> None:
    expected = {
        "pipeline": 1,
        "agreed": 1,
        "in_execution": 2,
        "implemented": 3,
        "closed": 4,
        "cancelled": 5,
        "suspended": 6,
    }
    assert {s.value: s.iati_code for s in Status} == expected
    assert {s.value: c for s, c in IATI_CODE.items()} == expected
    assert len(Status) == 7


@pytest.mark.parametrize(
    ("code", "status"),
    [(1, Status.PIPELINE), (2, Status.IN_EXECUTION), (3, Status.IMPLEMENTED), (4, Status.CLOSED),
     (5, Status.CANCELLED), (6, Status.SUSPENDED), ("2", Status.IN_EXECUTION), ("5", Status.CANCELLED)],
)
def test_from_iati(code: int | str, status: Status) -> None:
    assert Status.from_iati(code) is status


def test_from_iati_round_trips_except_agreed() -> None:
    for s in Status:
        expected = Status.PIPELINE if s is Status.AGREED else s
        assert Status.from_iati(s.iati_code) is expected
    assert set(FROM_IATI) == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize(
    ("text", "status"),
    [("In execution", Status.IN_EXECUTION), ("in_execution", Status.IN_EXECUTION),
     ("in-execution", Status.IN_EXECUTION), (" CLOSED ", Status.CLOSED), ("Pipeline", Status.PIPELINE),
     ("cancelled", Status.CANCELLED)],
)
def test_status_parse(text: str, status: Status) -> None:
    assert Status.parse(text) is status


def test_status_label() -> None:
    assert Status.IN_EXECUTION.label == "in execution"
    assert Status.parse(Status.IN_EXECUTION.label) is Status.IN_EXECUTION


def test_unknown_status() -> None:
    with pytest.raises(InvalidInput) as info:
        Status.parse("finished")
    f = only_finding(info.value)
    assert f.code == "unknown_status"
    assert f.field == "status"
    assert f.value == "finished"
    assert f.message == (
        "status 'finished' is not a status; use one of "
        "pipeline, agreed, in_execution, implemented, closed, suspended, cancelled"
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [(Status.PIPELINE, Status.AGREED), (Status.PIPELINE, Status.IN_EXECUTION), (Status.AGREED, Status.IMPLEMENTED),
     (Status.IN_EXECUTION, Status.IMPLEMENTED), (Status.IMPLEMENTED, Status.CLOSED),
     (Status.SUSPENDED, Status.IN_EXECUTION), (Status.IN_EXECUTION, Status.SUSPENDED),
     (Status.AGREED, Status.CANCELLED)],
)
def test_allowed_transitions_pass(before: Status, after: Status) -> None:
    assert check_transition(before, after) is None


@pytest.mark.parametrize("status", list(Status))
def test_same_status_repeated_and_none_before_are_allowed(status: Status) -> None:
    assert check_transition(status, status) is None
    assert check_transition(None, status) is None


@pytest.mark.parametrize("terminal", [Status.CANCELLED, Status.CLOSED])
def test_terminal_needs_reopen(terminal: Status) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(terminal, Status.IN_EXECUTION)
    f = only_finding(info.value)
    assert f.code == "transition_not_allowed"
    assert f.field == "status"
    assert f.value == "in_execution"
    assert "--reopen" in f.message
    assert f.message == (
        f"status cannot go from {terminal.value} to in_execution: "
        f"a {terminal.value} project can only change with --reopen"
    )
    assert check_transition(terminal, Status.IN_EXECUTION, reopen=True) is None


def test_in_execution_to_pipeline_refused() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(Status.IN_EXECUTION, Status.PIPELINE)
    f = only_finding(info.value)
    assert f.code == "transition_not_allowed"
    assert f.value == "pipeline"
    assert f.message == (
        "status cannot go from in_execution to pipeline: "
        "from in_execution a project can move to cancelled, closed, implemented, suspended"
    )
    # reopen only matters for closed and cancelled projects
    with pytest.raises(TransitionNotAllowed):
        check_transition(Status.IN_EXECUTION, Status.PIPELINE, reopen=True)


def test_allowed_table_is_as_documented() -> None:
    s = Status
    expected = {
        # forward jumps (a later source reports a step never seen) are allowed
        s.PIPELINE: {s.AGREED, s.IN_EXECUTION, s.IMPLEMENTED, s.CLOSED, s.SUSPENDED, s.CANCELLED},
        s.AGREED: {s.IN_EXECUTION, s.IMPLEMENTED, s.CLOSED, s.SUSPENDED, s.CANCELLED},
        s.IN_EXECUTION: {s.IMPLEMENTED, s.CLOSED, s.SUSPENDED, s.CANCELLED},
        s.SUSPENDED: {s.PIPELINE, s.AGREED, s.IN_EXECUTION, s.IMPLEMENTED, s.CANCELLED},
        s.IMPLEMENTED: {s.CLOSED},
        s.CLOSED: set(),
        s.CANCELLED: set(),
    }
    assert {k: set(v) for k, v in ALLOWED.items()} == expected


PAIRS = list(itertools.product(Status, Status))
assert len(PAIRS) == 49


def _rule(before: Status, after: Status, reopen: bool) -> bool:
    if before == after:
        return True
    if before in (Status.CLOSED, Status.CANCELLED):
        return reopen
    return after in ALLOWED[before]


@pytest.mark.parametrize("reopen", [False, True], ids=["plain", "reopen"])
@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{b.value}->{a.value}" for b, a in PAIRS])
def test_transition_table_exhaustive(before: Status, after: Status, reopen: bool) -> None:
    expected = _rule(before, after, reopen)
    assert transition_allowed(before, after, reopen) is expected
    if expected:
        assert check_transition(before, after, reopen=reopen) is None
        return
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(before, after, reopen=reopen)
    f = only_finding(info.value)
    assert f.code == "transition_not_allowed"
    assert f.value == after.value
    assert f.message.startswith(f"status cannot go from {before.value} to {after.value}: ")
    if before in (Status.CLOSED, Status.CANCELLED):
        assert f.message.endswith(f"a {before.value} project can only change with --reopen")
    else:
        targets = ", ".join(sorted(s.value for s in ALLOWED[before])) or "nothing"
        assert f.message.endswith(f"from {before.value} a project can move to {targets}")


def test_amount_with_a_decimal_comma_is_refused_not_misread() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_amount("1,5")
    f = only_finding(info.value)
    assert f.code == "bad_amount"
    assert "commas only separate thousands" in f.message
    assert parse_amount("1,250,000.50") == Decimal("1250000.50")


def test_currency_code_case_and_rate_text() -> None:
    assert Money(Decimal(1), "usd").currency == "USD"
    rate = Rate("KZT", Period.parse("2019"), "382.75", "NBK")  # type: ignore[arg-type]
    assert rate.per_usd == Decimal("382.75")
    with pytest.raises(InvalidInput):
        Rate("KZT", Period.parse("2019"), Decimal("NaN"), "NBK")


def test_unknown_iati_status_code() -> None:
    with pytest.raises(InvalidInput) as info:
        Status.from_iati(7)
    assert only_finding(info.value).code == "unknown_status"
