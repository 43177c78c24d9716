"""Target progress, computed from the series, never typed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from cooptrack.domain.period import Period

State = Literal["achieved", "on_track", "behind", "missed", "unknown"]
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Point:
    period: Period
    value: Decimal


@dataclass(frozen=True, slots=True)
class Progress:
    target_value: Decimal | None
    baseline: Point | None
    latest: Point | None
    percent_achieved: Decimal | None
    expected_percent: Decimal | None
    state: State
    reason: str

    @property
    def on_track(self) -> bool | None:
        if self.state == "unknown":
            return None
        return self.state in ("achieved", "on_track")


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def running_total(series: list[Point], within: Period) -> Point | None:
    """The flow accumulated from the start of ``within``: the longest observation starting
    there, extended by the observations that follow it without gap or overlap (H1, then July,
    then August...). None when nothing starts at the beginning of the period."""
    inside = [p for p in series if within.contains(p.period)]
    by_start: dict[date, Point] = {}
    for p in inside:  # for each start, the longest observation (the latest recorded on a tie)
        held = by_start.get(p.period.start)
        if held is None or p.period.days >= held.period.days:
            by_start[p.period.start] = p
    first = by_start.get(within.start)
    if first is None:
        return None
    total, last = first.value, first
    while (step := by_start.get(last.period.next_day_after())) is not None:
        total, last = total + step.value, step
    return Point(Period.span(first.period, last.period), total)


def progress(
    *,
    target_period: Period,
    deadline: date,
    absolute: Decimal | None,
    multiple: Decimal | None,
    baseline: Point | None,
    series: list[Point],
    stock: bool,
    today: date,
) -> Progress:
    """Where a series stands against its target.

    A flow (trade, investment inflow) counts its running total from the start of the target
    period (see :func:`running_total`) against the share of the period elapsed. A stock (investment
    stock, enterprises) takes its latest level by the deadline, against a straight line from
    the baseline to the target.
    """
    if absolute is not None:
        target = absolute
    elif multiple is not None and baseline is not None:
        target = baseline.value * multiple
    else:
        return Progress(None, baseline, None, None, None, "unknown",
                        "no baseline value: record an observation for the baseline period")
    if target <= 0:
        return Progress(target, baseline, None, None, None, "unknown", "target value is zero")

    if stock:
        usable = [p for p in series if p.period.end <= deadline]
        latest = max(usable, key=lambda p: (p.period.end, p.period.days)) if usable else None
    else:
        latest = running_total(series, target_period)
    if latest is None:
        where = "by the deadline" if stock else f"from the start of {target_period.code}"
        return Progress(target, baseline, None, None, None, "unknown", f"no observation {where} yet")
    achieved = _pct(latest.value, target)
    if latest.value >= target:
        return Progress(target, baseline, latest, achieved, None, "achieved", "target reached")

    if stock:
        if baseline is None:
            return Progress(target, baseline, latest, achieved, None, "unknown",
                            "no baseline to draw the path from")
        span = (deadline - baseline.period.end).days
        share = Decimal(1) if span <= 0 else Decimal(
            max(0, min(span, (latest.period.end - baseline.period.end).days))) / span
        expected_value = baseline.value + (target - baseline.value) * share
        expected = _pct(expected_value, target)
    else:
        expected = (Decimal(str(target_period.fraction_elapsed(latest.period.end))) * 100).quantize(
            ONE_DECIMAL, rounding=ROUND_HALF_UP)

    complete = latest.period.end >= (deadline if stock else target_period.end)
    if complete:
        return Progress(target, baseline, latest, achieved, expected, "missed",
                        f"{latest.period.code} complete at {achieved}% of target")
    state: State = "on_track" if achieved >= expected else "behind"
    # Judged at the latest data point; say so when the deadline has passed without a final figure.
    reason = f"{achieved}% reached by {latest.period.code}, {expected}% expected by then"
    if today > deadline:
        reason += f"; deadline {deadline.isoformat()} passed with no figure for the whole period"
    return Progress(target, baseline, latest, achieved, expected, state, reason)
