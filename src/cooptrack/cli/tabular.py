"""Commands for the tabular formats, registered on `cooptrack.cli.exchange`'s import and export
apps: projects as CSV/XLSX (import, export, template) and the full-backup Data Package."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cooptrack.cli.common import JSON_OPTION, command, console, ok, open_store, reading, writing
from cooptrack.cli.exchange import export_app, import_app
from cooptrack.cli.report import show_report
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.formats.tabular import read_sheet, write_csv, write_xlsx
from cooptrack.services import backup
from cooptrack.services import tabular as service

template_app = typer.Typer(help="Write import templates with documented columns.", no_args_is_help=True)

FORMATS = ("csv", "xlsx")


def _format(fmt: str | None, output: Path | None) -> str:
    chosen = (fmt or (output.suffix.lstrip(".") if output and output.suffix else "csv")).lower()
    if chosen not in FORMATS:
        msg = f"--format '{chosen}' is not one of {', '.join(FORMATS)}"
        raise InvalidInput(msg, [Finding("bad_option", msg, field="--format", value=chosen)])
    return chosen


def _writable(output: Path, force: bool) -> None:
    if output.exists() and not force:
        msg = f"{output} already exists; pass --force to overwrite it"
        raise InvalidInput(msg, [Finding("file_exists", msg, value=str(output))])


FORMAT_OPTION = typer.Option("--format", "-f", help="csv or xlsx (default: from the file name, else csv).")
FORCE_OPTION = typer.Option("--force", help="Overwrite an existing file.")


@command(template_app, "projects")
def template_projects(
    output: Annotated[Path | None, typer.Argument(help="File to write (default projects-template.FORMAT).")] = None,
    fmt: Annotated[str | None, FORMAT_OPTION] = None,
    force: Annotated[bool, FORCE_OPTION] = False,
) -> None:
    """Write an empty projects template: the header row, and in .xlsx a README sheet that
    documents every column."""
    chosen = _format(fmt, output)
    path = output or Path(f"projects-template.{chosen}")
    _writable(path, force)
    header = list(service.NAMES)
    if chosen == "xlsx":
        write_xlsx(path, "projects", header, [], readme=service.template_readme(),
                   widths=[max(12, len(h) + 4) for h in header])
    else:
        with path.open("w", encoding="utf-8", newline="") as stream:
            write_csv(stream, header, [], bom=True)
    ok(f"wrote {path} ({len(header)} columns" + ("; the README sheet describes them)" if chosen == "xlsx" else
                                                 "; `cooptrack template projects --format xlsx` describes them)"))


@command(import_app, "projects")
def import_projects(
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file with one project per row.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row, write nothing.")] = False,
    max_findings: Annotated[int, typer.Option(help="Stop after this many findings.", min=1)] = 100,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding when not UTF-8, e.g. cp1251.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Workbook sheet (default: 'projects', else the first).")] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import projects from a spreadsheet: every row is checked first; any error means
    nothing is written. Rows are matched on id: new ids are created, known ones updated."""
    table = read_sheet(file, encoding=encoding, sheet=sheet)
    with writing() as ctx:
        result = service.import_projects(ctx, table, dry_run=dry_run, max_findings=max_findings)
    summary = dict(result.summary)
    if result.blank_rows:
        summary["blank rows skipped"] = result.blank_rows
    show_report(result.report, summary, as_json, title=f"Problems in {file.name}")
    if dry_run and not as_json:
        console.print("(dry run: nothing was written)")


@command(export_app, "projects")
def export_projects(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (CSV: default stdout).")] = None,
    fmt: Annotated[str | None, FORMAT_OPTION] = None,
    fields: Annotated[list[str] | None, typer.Option(
        "--fields", help="Columns to write, in order, comma-separated or repeated (default: all).")] = None,
    programme: Annotated[str | None, typer.Option(help="Only this programme's projects.")] = None,
    bom: Annotated[bool, typer.Option(help="Start a CSV file with the UTF-8 byte order mark Excel needs.")] = True,
    force: Annotated[bool, FORCE_OPTION] = False,
) -> None:
    """Export projects as CSV or XLSX, in the import template's columns. Cells starting with
    =, +, - or @ get a leading ' so spreadsheets do not run them as formulas."""
    chosen = _format(fmt, output)
    names = service.check_fields([f for item in fields or [] for f in item.split(",")])
    if output is None and chosen == "xlsx":
        msg = "an .xlsx export needs --output FILE"
        raise InvalidInput(msg, [Finding("bad_option", msg, field="--output")])
    if output is not None:
        _writable(output, force)
    with reading() as ctx:
        rows = service.export_projects(ctx, names, programme)
        if output is None:
            n = write_csv(sys.stdout, names, rows, bom=False)
            return
        if chosen == "xlsx":
            n = write_xlsx(output, "projects", names, rows)
        else:
            with output.open("w", encoding="utf-8", newline="") as stream:
                n = write_csv(stream, names, rows, bom=bom)
    ok(f"wrote {n:,} projects to {output}")


@command(export_app, "datapackage")
def export_datapackage(
    target: Annotated[Path, typer.Argument(
        help="Folder to write datapackage.json and one CSV per table into; a name ending in .zip writes one "
             "ZIP file holding them.")],
    as_zip: Annotated[bool, typer.Option("--zip", help="Write one ZIP file, whatever the name ends in.")] = False,
    force: Annotated[bool, FORCE_OPTION] = False,
) -> None:
    """Write the whole database as a Frictionless Data Package (a full backup): a folder, or a
    ZIP file holding the same files (what GET /api/v1/backup gives)."""
    store = open_store()
    try:
        if as_zip or target.suffix.lower() == ".zip":
            counts = backup.export_datapackage_zip(store, target, overwrite=force)
        else:
            counts = backup.export_datapackage(store, target, overwrite=force)
    finally:
        store.dispose()
    ok(f"wrote {sum(counts.values()):,} rows in {len(counts)} tables to {target}")


@command(import_app, "datapackage")
def import_datapackage(
    source: Annotated[Path, typer.Argument(
        help="Folder holding datapackage.json, or the .zip holding it (from `export datapackage`).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing.")] = False,
    max_findings: Annotated[int, typer.Option(help="Stop after this many findings.", min=1)] = 100,
    as_json: bool = JSON_OPTION,
) -> None:
    """Restore a Data Package backup (a folder or a ZIP file) into an empty database at the same
    migration. Users and tokens already there are replaced by the backup's."""
    store = open_store()
    try:
        report, counts = backup.restore_datapackage(store, source, max_findings=max_findings, dry_run=dry_run)
    finally:
        store.dispose()
    summary = {"rows restored": sum(counts.values()), "tables": len(counts)}
    show_report(report, summary, as_json, title=f"Problems in {source}")
    if dry_run and not as_json:
        console.print("(dry run: nothing was written)")
