"""`cooptrack observation add|list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import (
    JSON_OPTION,
    command,
    console,
    number,
    ok,
    print_json,
    reading,
    writing,
)
from cooptrack.services.observations import ObservationSpec, add_observation, list_observations

app = typer.Typer(help="Indicator observations: trade, investment, enterprises.", no_args_is_help=True)


@command(app, "add")
def add(
    indicator: Annotated[str, typer.Argument(help="trade_turnover, exports, imports, fdi_stock, enterprises, ...")],
    reporter: Annotated[str, typer.Option(help="Reporting country (name or code).")],
    period: Annotated[str, typer.Option(help="2019, 2019-H1, 2019-Q3, 2019-07 or 2019-07-15.")],
    value: Annotated[str, typer.Option(help="The figure, e.g. 2500000000.")],
    unit: Annotated[str, typer.Option(help="Currency for money indicators (USD), else a unit (enterprise).")],
    partner: Annotated[str | None, typer.Option(help="Partner country.")] = None,
    hs: Annotated[str | None, typer.Option("--hs", help="HS 2022 commodity code (2, 4 or 6 digits).")] = None,
    flag: Annotated[list[str] | None, typer.Option(
        "--flag", help="approximate, lower_bound, estimated, preliminary, mirror, forecast; repeat.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id that states it.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record one observation."""
    with writing() as ctx:
        o = add_observation(ctx, ObservationSpec(
            indicator=indicator, reporter=reporter, partner=partner, period=period, value=value, unit=unit,
            hs_code=hs, flags=flag or [], source=source, note=note))
        result: dict[str, Any] = {"id": o.id, "indicator": indicator, "reporter": o.reporter, "partner": o.partner,
                  "period": o.period, "value": o.value, "unit": o.unit}
    if as_json:
        print_json(result)
    else:
        ok(f"observation {result['id']}: {indicator} {o.reporter}-{o.partner or 'world'} {o.period} = "
           f"{number(o.value)} {o.unit}")


@command(app, "list")
def list_(
    indicator: Annotated[str | None, typer.Option(help="Only this indicator.")] = None,
    reporter: Annotated[str | None, typer.Option(help="Only this reporter.")] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    as_json: bool = JSON_OPTION,
) -> None:
    """List observations, oldest period first."""
    with reading() as ctx:
        rows: list[dict[str, Any]] = [
                {"id": o.id, "indicator": o.indicator.code, "reporter": o.reporter, "partner": o.partner,
                 "hs_code": o.hs_code, "period": o.period, "value": o.value, "unit": o.unit,
                 "flags": [f for f in o.flags.split(",") if f],
                 "source": (o.source.code or str(o.source.id)) if o.source else None, "note": o.note}
                for o in list_observations(ctx, indicator, reporter, partner, limit)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "indicator", "reporter", "partner", "HS", "period", "value", "unit", "flags", "source",
                  title="Observations")
    for r in rows:
        table.add_row(str(r["id"]), r["indicator"], r["reporter"], r["partner"] or "", r["hs_code"] or "",
                      r["period"], number(r["value"]), r["unit"], ", ".join(r["flags"]), r["source"] or "")
    console.print(table)
