"""`cooptrack target add|edit|list`."""

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
    nothing_to_edit,
    number,
    ok,
    print_json,
    reading,
    writing,
)
from cooptrack.services.overview import programme_overview
from cooptrack.services.targets import TargetSpec, define_target, get_target, target_view, update_target

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


# The options of `target edit` that change a field, as the refusal of an edit with none names them.
EDIT_OPTIONS = ("--indicator", "--reporter", "--period", "--unit", "--partner", "--value", "--multiple",
                "--baseline-period", "--baseline-value", "--deadline", "--hs", "--approximate/--exact", "--source",
                "--note")


@command(app, "edit")
def edit(
    ctx_: typer.Context,
    target_id: Annotated[int, typer.Argument(metavar="ID", help="Target id (`target list PROGRAMME --json`).")],
    indicator: Annotated[str | None, typer.Option(help="Indicator, e.g. trade_turnover.")] = None,
    reporter: Annotated[str | None, typer.Option(help="Reporting country.")] = None,
    period: Annotated[str | None, typer.Option(
        help="Period the target is about, e.g. 2019 (a deadline at the old period's end moves with it).")] = None,
    unit: Annotated[str | None, typer.Option(help="Currency or unit of the target.")] = None,
    partner: Annotated[str | None, typer.Option(help="Partner country; '' for the world.")] = None,
    value: Annotated[str | None, typer.Option(
        help="Absolute target value; '' removes it (then give --multiple).")] = None,
    multiple: Annotated[str | None, typer.Option(
        help="Target as a multiple of the baseline, e.g. 2; '' removes it (then give --value).")] = None,
    baseline_period: Annotated[str | None, typer.Option(help="Baseline period, e.g. 2019-H1; '' removes it.")] = None,
    baseline_value: Annotated[str | None, typer.Option(
        help="Baseline value; '' to read it from the series.")] = None,
    deadline: Annotated[str | None, typer.Option(help="YYYY-MM-DD; '' for the end of the period.")] = None,
    hs: Annotated[str | None, typer.Option("--hs", help="HS commodity code; '' removes it.")] = None,
    approximate: Annotated[bool | None, typer.Option(
        "--approximate/--exact", help="The target was stated loosely, or not.")] = None,
    source: Annotated[str | None, typer.Option(help="Source id that states it; '' removes it.")] = None,
    note: Annotated[str | None, typer.Option(help="Free text; '' removes it.")] = None,
    if_version: Annotated[int | None, typer.Option(
        help="Refuse unless the target is at this version (each edit prints the new one).")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a target's fields; those not given stay as they are (the programme stays too)."""
    changes: dict[str, Any] = {} if approximate is None else {"approximate": approximate}
    for key, given in (("indicator", indicator), ("reporter", reporter), ("period", period), ("unit", unit),
                       ("partner", partner), ("value", value), ("multiple", multiple),
                       ("baseline_period", baseline_period), ("baseline_value", baseline_value),
                       ("deadline", deadline), ("hs_code", hs), ("source", source), ("note", note)):
        if given is not None:
            changes[key] = given if given.strip() else None
    if not changes:
        nothing_to_edit(ctx_, ', '.join(EDIT_OPTIONS))
    with writing() as ctx:
        was = get_target(ctx, target_id).version
        t = update_target(ctx, target_id, changes, was if if_version is None else if_version)
        ctx.session.flush()
        view = target_view(ctx, t)
    if as_json:
        print_json(view)
        return
    what = f"{view['indicator']} {view['reporter']}-{view['partner'] or 'world'} {view['period']}"
    if view["version"] == was:
        ok(f"target {target_id} unchanged (version {was}): it has these values already")
    else:
        ok(f"target {target_id} edited: {what} (version {view['version']})")


@command(app, "show")
def show(target_id: Annotated[int, typer.Argument(help="Target id (`target list` shows them).")],
         as_json: bool = JSON_OPTION) -> None:
    """Show a target's definition and version (what `target edit` changes)."""
    with reading() as ctx:
        view = target_view(ctx, get_target(ctx, target_id))
    if as_json:
        print_json(view)
        return
    for key, value in view.items():
        if value is not None:
            console.print(f"{key}: {value}", markup=False)


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
