"""`cooptrack target add|list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import (
    JSON_OPTION,
    as_of_date,
    command,
    compact,
    console,
    number,
    ok,
    print_json,
    reading,
    writing,
)
from cooptrack.services.overview import programme_overview
from cooptrack.services.targets import TargetSpec, define_target

app = typer.Typer(help="Targets: where an indicator should get.", no_args_is_help=True)


@command(app, "add")
def add(
    programme: Annotated[str, typer.Argument(help="Programme id.")],
    indicator: Annotated[str, typer.Option(help="Indicator, e.g. trade_turnover.")],
    reporter: Annotated[str, typer.Option(help="Reporting country.")],
    period: Annotated[str, typer.Option(help="Period the target is about, e.g. 2019.")],
    unit: Annotated[str, typer.Option(help="Currency or unit of the target.")],
    partner: Annotated[str | None, typer.Option(help="Partner country.")] = None,
    value: Annotated[str | None, typer.Option(help="Absolute target value.")] = None,
    multiple: Annotated[str | None, typer.Option(help="Target as a multiple of the baseline, e.g. 2.")] = None,
    baseline_period: Annotated[str | None, typer.Option(help="Baseline period, e.g. 2019-H1.")] = None,
    baseline_value: Annotated[str | None, typer.Option(help="Baseline value (else read from the series).")] = None,
    deadline: Annotated[str | None, typer.Option(help="YYYY-MM-DD; defaults to the end of the period.")] = None,
    hs: Annotated[str | None, typer.Option("--hs", help="HS commodity code.")] = None,
    approximate: Annotated[bool, typer.Option("--approximate", help="The target was stated loosely.")] = False,
    source: Annotated[str | None, typer.Option(help="Source id that states it.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
) -> None:
    """Define a target."""
    with writing() as ctx:
        t = define_target(ctx, TargetSpec(
            programme=programme, indicator=indicator, reporter=reporter, partner=partner, period=period, unit=unit,
            value=value, multiple=multiple, baseline_period=baseline_period, baseline_value=baseline_value,
            deadline=deadline, hs_code=hs, approximate=approximate, source=source, note=note))
        text = f"target {t.id}: {indicator} {t.reporter}-{t.partner or 'world'} {t.period}"
    ok(text)


@command(app, "list")
def list_(
    programme: Annotated[str, typer.Argument(help="Programme id.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: progress as known then.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """List a programme's targets with their progress."""
    with reading() as ctx:
        targets = programme_overview(ctx, programme, as_of_date(as_of), project_limit=0).targets
    if as_json:
        print_json(targets)
        return
    console.print(targets_table(targets))


def targets_table(targets: list[dict[str, Any]]) -> Table:
    table = Table("target", "baseline", "goal", "latest", "reached", "expected", "state", title="Targets")
    for t in targets:
        base = t["baseline"]
        latest = t["latest"]
        table.add_row(
            f"{t['indicator']} {t['reporter']}-{t['partner'] or 'world'} {t['period']}",
            f"{compact(base['value'])} ({base['period']})" if base else "-",
            (("~" if t["approximate"] else "") + compact(t["target_value"], t["unit"])
             + (f" (x{number(t['multiple'])})" if t["multiple"] is not None else "")),
            f"{compact(latest['value'])} ({latest['period']})" if latest else "-",
            f"{t['percent_achieved']}%" if t["percent_achieved"] is not None else "-",
            f"{t['expected_percent']}%" if t["expected_percent"] is not None else "-",
            t["state"].replace("_", " "),
        )
    return table
