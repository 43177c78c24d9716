"""Commands for the trade formats, registered on `cooptrack.cli.exchange`'s import and export apps:
`cooptrack import trade FILE`, and `cooptrack trade mirror REPORTER PARTNER --period P`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cooptrack.cli.common import JSON_OPTION, command, compact, console, err_console, print_json, reading, writing
from cooptrack.cli.exchange import import_app
from cooptrack.cli.report import progress, show_report
from cooptrack.services import trade

trade_app = typer.Typer(help="Trade figures: mirror statistics (what each side reported).", no_args_is_help=True)


@command(import_app, "trade")
def import_trade(
    file: Annotated[Path, typer.Argument(help="A UN Comtrade file: Comtrade+ CSV or JSON, or a legacy bulk CSV.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and count; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Leave rows with errors out (each reported) instead of refusing the file.")] = False,
    max_findings: Annotated[int, typer.Option(help="Show at most this many findings.")] = trade.MAX_FINDINGS,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import UN Comtrade trade figures as observations citing the file as their source."""
    with writing() as ctx:
        result = trade.import_trade_file(
            ctx, file, dry_run=dry_run, skip_invalid=skip_invalid, max_findings=max_findings,
            progress=lambda total: progress(f"Importing {file.name}", total, enabled=not as_json))
    if not as_json and result.format:
        if result.summary.get("unchanged"):
            line = f"already imported as source {result.source_id}; nothing to do"
        else:
            line = f"{result.format}, {result.encoding}, {result.rows:,} row{'s' if result.rows != 1 else ''}"
            if dry_run:
                line += " (dry run: nothing was written)"
            elif result.source_id:
                line += f", stored as source {result.source_id}"
        (console if result.report.valid else err_console).print(f"{result.file}: {line}", soft_wrap=True)
    show_report(result.report, result.summary, as_json, title=f"Findings in {result.file}")


@command(trade_app, "mirror")
def mirror(
    reporter: Annotated[str, typer.Argument(help="Reporting country (name or code).")],
    partner: Annotated[str, typer.Argument(help="Partner country (name or code).")],
    period: Annotated[str, typer.Option(help="The period: 2019 or 2019-07.")],
    hs: Annotated[str | None, typer.Option("--hs", help="HS commodity code; all commodities if left out.")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Mirror statistics: what each side reported for the same flow, and the gap.

    For each flow, REPORTER's figure (its exports to PARTNER...) beside PARTNER's figure for the
    mirror flow (its imports from REPORTER...), and the gap in percent of REPORTER's figure."""
    with reading() as ctx:
        result = trade.mirror(ctx, reporter, partner, period, hs)
    if as_json:
        print_json(_as_dict(result))
        return
    a, b = result.reporter, result.partner
    title = f"{a} and {b}, {result.period}, {('HS ' + result.hs_code) if result.hs_code else 'all commodities'}"
    if not result.flows:
        console.print(f"{title}: no trade observations; import Comtrade files with `cooptrack import trade FILE`")
        return
    table = Table("flow", f"{a} reported", f"{b} reported", "basis", "gap", f"gap % of {a}", "sources", title=title)
    for f in result.flows:
        table.add_row(f"{f.flow.replace('_', '-')} {a}→{b}" if f.flow in ("exports", "re_exports")
                      else f"{f.flow.replace('_', '-')} {a}←{b}",
                      _shown(f.reporter, f.reporter_value), _shown(f.partner, f.partner_value), f.basis or "-",
                      compact(f.gap) if f.gap is not None else "-",
                      f"{f.gap_percent:+}" if f.gap_percent is not None else "-",
                      "; ".join(_source(x) for x in (f.reporter, f.partner) if x))
    console.print(table)
    console.print(f"gap = {b}'s figure minus {a}'s; in percent of {a}'s. FOB is compared with FOB and CIF with "
                  "CIF where both sides give them, else the primary values.")


def _shown(figure: trade.Figure | None, value: Decimal | None) -> str:
    if figure is None:
        return "-"
    return compact(value if value is not None else figure.value, figure.unit)


def _source(figure: trade.Figure) -> str:
    more = f" (+{figure.others} more)" if figure.others else ""
    return f"{figure.country}: {figure.source or 'no source'}{more}"


def _figure(figure: trade.Figure | None) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {"country": figure.country, "indicator": figure.indicator, "value": figure.value,
            "cif_value": figure.cif_value, "fob_value": figure.fob_value, "unit": figure.unit, "flags": figure.flags,
            "observation": figure.observation_id, "source": {"id": figure.source_id, "title": figure.source},
            "other_figures": figure.others}


def _as_dict(result: trade.Mirror) -> dict[str, Any]:
    return {
        "reporter": result.reporter, "partner": result.partner, "period": result.period, "hs_code": result.hs_code,
        "gap_relative_to": result.gap_relative_to,
        "flows": [{"flow": f.flow, "mirror_flow": f.mirror_flow, "basis": f.basis,
                   "reporter_value": f.reporter_value, "partner_value": f.partner_value, "gap": f.gap,
                   "gap_percent": f.gap_percent, "reporter": _figure(f.reporter), "partner": _figure(f.partner)}
                  for f in result.flows],
    }
