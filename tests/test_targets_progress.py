"""Pure unit tests for cooptrack.domain.targets.progress: where a series stands against its target."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest

from cooptrack.domain.period import Period
from cooptrack.domain.targets import Point, Progress, progress

Y2019 = Period.parse("2019")
DEADLINE_2019 = date(2019, 12, 31)
BASELINE_H1 = Point(Period.parse("2019-H1"), Decimal("2000000000"))


def pt(period: str, value: str) -> Point:
    return Point(Period.parse(period), Decimal(value))


def fresh_wind(series: list[Point], today: date = date(2019, 9, 1), **overrides: object) -> Progress:
    """The Fresh Wind programme: trade turnover to double in 2019 over the first half of 2019."""
    kwargs: dict[str, object] = {
        "target_period": Y2019,
        "deadline": DEADLINE_2019,
        "absolute": None,
        "multiple": Decimal(2),
        "baseline": BASELINE_H1,
        "series": series,
        "stock": False,
        "today": today,
    }
    kwargs.update(overrides)
    return progress(**kwargs)  # type: ignore[arg-type]


def one_decimal(x: Fraction) -> Decimal:
    """Round an exact fraction to one decimal place, halves up, without going through floats."""
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- flows -------------------------------------------------------------------------------


def test_fresh_wind_on_track_in_september() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")])
    assert p.target_value == Decimal("4000000000")
    assert p.baseline == BASELINE_H1
    assert p.latest == pt("2019-H1", "2e9")
    assert p.percent_achieved == Decimal("50.0")
    # 2019-H1 ends on 30 June: 181 of 365 days of 2019 have passed
    assert p.expected_percent == one_decimal(Fraction(181, 365) * 100) == Decimal("49.6")
    assert p.state == "on_track"
    assert p.on_track is True
    assert p.reason == "50.0% reached by 2019-H1, 49.6% expected by then"
    assert "deadline" not in p.reason


def test_fresh_wind_after_the_deadline_is_still_judged_on_the_data_but_says_so() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")], today=date(2020, 3, 1))
    assert p.state == "on_track"
    assert (p.percent_achieved, p.expected_percent) == (Decimal("50.0"), Decimal("49.6"))
    assert p.reason == (
        "50.0% reached by 2019-H1, 49.6% expected by then; "
        "deadline 2019-12-31 passed with no figure for the whole period"
    )


def test_fresh_wind_on_the_deadline_day_does_not_mention_a_passed_deadline() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")], today=DEADLINE_2019)
    assert "passed" not in p.reason


def test_fresh_wind_full_year_below_target_is_missed() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000"), pt("2019", "3500000000")])
    assert p.latest == pt("2019", "3500000000")
    assert p.percent_achieved == Decimal("87.5")
    assert p.expected_percent == Decimal("100.0")
    assert p.state == "missed"
    assert p.on_track is False
    assert p.reason == "2019 complete at 87.5% of target"


def test_fresh_wind_full_year_at_or_above_target_is_achieved() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000"), pt("2019", "4200000000")])
    assert p.state == "achieved"
    assert p.on_track is True
    assert p.percent_achieved == Decimal("105.0")
    assert p.expected_percent is None
    assert p.reason == "target reached"
    exactly = fresh_wind([pt("2019", "4000000000")])
    assert (exactly.state, exactly.percent_achieved) == ("achieved", Decimal("100.0"))


def test_no_baseline_is_unknown() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")], baseline=None)
    assert p.state == "unknown"
    assert p.on_track is None
    assert p.target_value is None
    assert p.percent_achieved is None and p.expected_percent is None
    assert p.reason == "no baseline value: record an observation for the baseline period"


def test_absolute_target_needs_no_baseline() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")], absolute=Decimal("5000000000"), multiple=None, baseline=None)
    assert p.target_value == Decimal("5000000000")
    assert p.percent_achieved == Decimal("40.0")
    assert p.expected_percent == Decimal("49.6")
    assert p.state == "behind"
    assert p.on_track is False
    assert p.reason == "40.0% reached by 2019-H1, 49.6% expected by then"


def test_absolute_target_wins_over_multiple() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000")], absolute=Decimal("2500000000"))
    assert p.target_value == Decimal("2500000000")
    assert p.percent_achieved == Decimal("80.0")


def test_zero_target_is_unknown() -> None:
    p = fresh_wind([pt("2019-H1", "1")], absolute=Decimal("0"))
    assert (p.state, p.reason) == ("unknown", "target value is zero")


def test_flow_ignores_observations_outside_the_target_period() -> None:
    series = [pt("2018", "9000000000"), pt("2019-H1", "2000000000"), pt("2020-Q1", "5000000000")]
    p = fresh_wind(series)
    assert p.latest == pt("2019-H1", "2000000000")
    assert p.percent_achieved == Decimal("50.0")
    assert p.state == "on_track"


def test_flow_with_only_outside_observations_is_unknown() -> None:
    p = fresh_wind([pt("2020", "9000000000"), pt("2018-H2", "1")])
    assert p.state == "unknown"
    assert p.target_value == Decimal("4000000000")
    assert p.latest is None
    assert p.reason == "no observation from the start of 2019 yet"


def test_flow_behind_when_below_the_elapsed_share() -> None:
    p = fresh_wind([pt("2019-H1", "1900000000")])
    assert p.percent_achieved == Decimal("47.5")
    assert p.state == "behind"


@pytest.mark.parametrize(
    "later",
    [
        pt("2019-07", "400000000"),  # one month after the half-year figure
        pt("2019-Q4", "1800000000"),  # the last quarter alone, not the whole year
    ],
    ids=["month-after-H1", "Q4-alone"],
)
def test_flow_a_later_shorter_observation_does_not_stand_for_the_running_total(later: Point) -> None:
    """H1 alone is 50% of the 4e9 target at 49.6% elapsed. The later sub-period only adds to it: 2.4e9 = 60%
    by 31 July vs 58.1% elapsed; at least 3.8e9 = 95% for the year with Q4. Whether progress reads the
    longest-running observation (H1) or a running total, the result is at least 50% and neither 'behind' nor
    'missed'. Judging the single month (10%) or the single quarter (45%) alone against the share of the whole
    period elapsed misreads the series."""
    p = fresh_wind([pt("2019-H1", "2000000000"), later])
    assert p.percent_achieved is not None
    assert p.percent_achieved >= Decimal("50.0"), (p.latest, p.percent_achieved, p.state, p.reason)
    assert p.state not in ("behind", "missed"), p.reason


# --- stocks ------------------------------------------------------------------------------

STOCK_BASELINE = pt("2018", "100")
STOCK_DEADLINE = date(2020, 12, 31)


def stock(series: list[Point], **overrides: object) -> Progress:
    kwargs: dict[str, object] = {
        "target_period": Period.parse("2020"),
        "deadline": STOCK_DEADLINE,
        "absolute": Decimal("200"),
        "multiple": None,
        "baseline": STOCK_BASELINE,
        "series": series,
        "stock": True,
        "today": date(2020, 3, 1),
    }
    kwargs.update(overrides)
    return progress(**kwargs)  # type: ignore[arg-type]


def straight_line_percent(baseline: Fraction, target: Fraction, base_end: date, at: date, deadline: date) -> Decimal:
    """The straight-line path from the baseline (at its period end) to the target (at the deadline),
    read at ``at``, as a percent of the target."""
    share = Fraction((at - base_end).days, (deadline - base_end).days)
    return one_decimal((baseline + (target - baseline) * share) / target * 100)


def test_stock_path_dates() -> None:
    assert (date(2019, 12, 31) - date(2018, 12, 31)).days == 365
    assert (STOCK_DEADLINE - date(2018, 12, 31)).days == 731


def test_stock_behind_the_straight_line() -> None:
    p = stock([pt("2019", "140")])
    # 100 + 100 * 365/731 = 149.93... of 200 = 74.97% -> 75.0
    expected = straight_line_percent(Fraction(100), Fraction(200), date(2018, 12, 31), date(2019, 12, 31),
                                     STOCK_DEADLINE)
    assert expected == Decimal("75.0")
    assert p.target_value == Decimal("200")
    assert p.latest == pt("2019", "140")
    assert p.percent_achieved == Decimal("70.0")
    assert p.expected_percent == expected
    assert p.state == "behind"
    assert p.reason == "70.0% reached by 2019, 75.0% expected by then"


def test_stock_on_track_above_the_straight_line() -> None:
    p = stock([pt("2019", "150")])
    assert p.percent_achieved == Decimal("75.0")
    assert p.expected_percent == Decimal("75.0")
    assert p.state == "on_track"
    p = stock([pt("2019", "149")])
    assert (p.percent_achieved, p.state) == (Decimal("74.5"), "behind")


def test_stock_mid_path_quarter() -> None:
    p = stock([pt("2019", "140"), pt("2020-Q2", "170")])
    assert p.latest == pt("2020-Q2", "170")
    expected = straight_line_percent(Fraction(100), Fraction(200), date(2018, 12, 31), date(2020, 6, 30),
                                     STOCK_DEADLINE)
    assert (date(2020, 6, 30) - date(2018, 12, 31)).days == 547
    assert expected == Decimal("87.4")  # (100 + 100*547/731) / 2 = 87.41...
    assert p.expected_percent == expected
    assert p.percent_achieved == Decimal("85.0")
    assert p.state == "behind"


def test_stock_with_multiple_uses_the_baseline() -> None:
    p = stock([pt("2019", "160")], absolute=None, multiple=Decimal(2))
    assert p.target_value == Decimal("200")
    assert (p.percent_achieved, p.expected_percent, p.state) == (Decimal("80.0"), Decimal("75.0"), "on_track")


def test_stock_ignores_levels_after_the_deadline() -> None:
    p = stock([pt("2019", "140"), pt("2021", "500")])
    assert p.latest == pt("2019", "140")
    assert p.state == "behind"


def test_stock_final_level_below_target_is_missed() -> None:
    p = stock([pt("2019", "140"), pt("2020", "180")])
    assert p.latest == pt("2020", "180")
    assert p.state == "missed"
    assert p.percent_achieved == Decimal("90.0")
    assert p.expected_percent == Decimal("100.0")
    assert p.reason == "2020 complete at 90.0% of target"


def test_stock_reaching_target_early_is_achieved() -> None:
    p = stock([pt("2019", "210")])
    assert (p.state, p.percent_achieved) == ("achieved", Decimal("105.0"))


def test_stock_with_no_observation_by_the_deadline_is_unknown() -> None:
    p = stock([pt("2021", "500")])
    assert (p.state, p.latest, p.reason) == ("unknown", None, "no observation by the deadline yet")


def test_stock_with_absolute_target_but_no_baseline_is_unknown() -> None:
    p = stock([pt("2019", "140")], baseline=None)
    assert p.state == "unknown"
    assert p.percent_achieved == Decimal("70.0")
    assert p.reason == "no baseline to draw the path from"


def test_flow_running_total_chains_following_periods() -> None:
    p = fresh_wind([pt("2019-H1", "2000000000"), pt("2019-07", "400000000"), pt("2019-09", "1")])
    assert p.latest is not None
    assert p.latest.period.code == "2019-H1+2019-07"  # September does not follow July: the chain stops
    assert p.latest.value == Decimal("2400000000")
    assert p.percent_achieved == Decimal("60.0")
    assert p.expected_percent == Decimal("58.1")
    assert p.state == "on_track"


def test_flow_running_total_from_months_alone() -> None:
    months = [pt(f"2019-{m:02d}", "300000000") for m in range(1, 13)]
    p = fresh_wind(months)
    assert p.latest is not None and p.latest.value == Decimal("3600000000")
    assert (p.latest.period.start, p.latest.period.end) == (date(2019, 1, 1), date(2019, 12, 31))
    assert p.state == "missed"  # the twelve months make the whole year, at 90%
