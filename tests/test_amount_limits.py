"""Amounts at the edge of what cooptrack keeps (22 digits before the decimal point, 6 after):
stored and read back exactly on both databases, converted to US dollars without rounding or
failing; longer ones refused with a finding; and values an older release or another program left
in the database read back exactly, however long."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from cooptrack.decimals import plain, plain_text
from cooptrack.domain.money import parse_amount
from cooptrack.errors import InvalidInput
from cooptrack.extract import extract
from cooptrack.services.browse import project_detail
from cooptrack.services.projects import ProjectSpec, register_project
from cooptrack.services.rates import RateSpec, add_rate

LARGEST = "9999999999999999999999.999999"  # 22 digits, then 6: 28 in all


def test_the_largest_amount_is_kept_and_converted_exactly(write, read):
    with write() as ctx:
        add_rate(ctx, RateSpec("KRW", "2020", "0.3", "a test rate"))
        register_project(ctx, ProjectSpec("big", "Big", value=LARGEST, currency="KRW", value_date="2020-06-01"))
    with read() as ctx:
        detail = project_detail(ctx, "big")
    assert detail["value"]["amount"] == Decimal(LARGEST) and str(detail["value"]["amount"]) == LARGEST
    # 9999999999999999999999.999999 / 0.3, to the cent, half to even: 26 digits, within the 28 of the context
    assert detail["usd"]["amount"] == Decimal("33333333333333333333333.33")


@pytest.mark.parametrize("given", ["1" + "0" * 22, "12345678901234567890123456789.5", "1e40", "-1e22"])
def test_longer_amounts_refused(given):
    with pytest.raises(InvalidInput) as info:
        parse_amount(given)
    [finding] = info.value.findings
    assert (finding.code, finding.value) == ("too_large", given)
    assert finding.message == (f"amount '{given}' is too large: cooptrack keeps at most 22 digits before the "
                               "decimal point")


def test_too_precise_checked_exactly_on_long_values():
    """The decimal places are counted without rounding: a 22-digit amount with a seventh decimal
    place is refused as too precise (the default context's quantize would fail on it)."""
    with pytest.raises(InvalidInput) as info:
        parse_amount("1234567890123456789012.1234567")
    assert [f.code for f in info.value.findings] == ["too_precise"]
    assert parse_amount("1234567890123456789012.1234560") == Decimal("1234567890123456789012.1234560")


@pytest.mark.parametrize("stored", ["12345678901234567890123456789012.123456", "1234567890123456789012345678.5",
                                    "100000000000000000000000000000"])
def test_long_values_already_stored_read_back_exactly(write, read, store, stored):
    """A database holds what an older release let in (up to 32 digits before the point): it reads
    back digit for digit rather than rounded at 28 digits or failing."""
    with write() as ctx:
        register_project(ctx, ProjectSpec("old", "Old", value="5", currency="USD", value_date="2020-06-01"))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE projects SET value_amount = :v WHERE code = 'old'"),
                     {"v": stored if store.engine.dialect.name == "sqlite" else Decimal(stored)})
    with read() as ctx:
        amount = project_detail(ctx, "old")["value"]["amount"]
    assert amount == Decimal(stored) and plain_text(amount) == stored


def test_plain_never_rounds():
    assert str(plain(Decimal("1.2345678901234567890123456789012345E+34"))) == "12345678901234567890123456789012345"
    assert str(plain(Decimal("100.000000"))) == "100"
    assert plain_text(Decimal("-0.00")) == "0" and plain_text(Decimal("2.5E+9")) == "2500000000"


def test_extraction_of_a_very_long_number_does_not_fail():
    found = extract("The fund is worth 123456789012345678901234567890 dollars.").claims
    assert [(c.kind, c.currency) for c in found] == [("money", "USD")]
