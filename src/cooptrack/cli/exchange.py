"""`cooptrack import ...` and `cooptrack export ...`: the field's formats in and out. The
commands of each format live in their own module (iati, trade, tabular) and register here."""

from __future__ import annotations

import typer

import_app = typer.Typer(help="Import IATI XML, Comtrade, spreadsheets or a data package.", no_args_is_help=True)
export_app = typer.Typer(help="Export IATI XML, spreadsheets or a data package.", no_args_is_help=True)
