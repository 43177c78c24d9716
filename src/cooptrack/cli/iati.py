"""Commands for the iati formats, registered on `cooptrack.cli.exchange`'s import and export apps:
`cooptrack import iati FILE...` and `cooptrack export iati`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cooptrack.cli.common import JSON_OPTION, command, err_console, ok, reading, writing
from cooptrack.cli.exchange import export_app, import_app
from cooptrack.cli.report import progress, show_report
from cooptrack.findings import Report
from cooptrack.formats.iati_read import IatiFile, load_schema
from cooptrack.formats.iati_write import write_activities
from cooptrack.formats.xmlsafe import XmlRefused
from cooptrack.services.iati import ImportOptions, ReportingOrg, export_activities, import_iati
from cooptrack.store.types import utcnow

XSD_HELP = "Validate against the official IATI 2.03 schema in this folder (iati-activities-schema.xsd) first."


@command(import_app, "iati")
def import_iati_command(
    files: Annotated[list[Path], typer.Argument(help="IATI activity XML files (version 2.0x).")],
    programme: Annotated[str | None, typer.Option("--programme", help="File the projects under this "
                                                  "programme.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Import the valid activities and report "
                                               "the others (default: any error refuses everything).")] = False,
    xsd: Annotated[Path | None, typer.Option("--xsd", help=XSD_HELP, file_okay=False)] = None,
    max_findings: Annotated[int, typer.Option("--max-findings", help="Show at most this many warnings "
                                              "(errors are always all shown).")] = 1000,
    as_json: bool = JSON_OPTION,
) -> None:
    """Import IATI activities as projects: upserted by iati-identifier, with status events, money,
    sectors, participants, locations and documents. All or nothing unless --skip-invalid."""
    options = ImportOptions(programme, dry_run, skip_invalid, xsd, max_findings)
    total = sum(p.stat().st_size for p in files if p.is_file())
    with progress("Importing IATI", total, enabled=not as_json) as advance, writing() as ctx:
        result = import_iati(ctx, files, options, advance)
    if dry_run and not as_json:
        err_console.print("dry run: checked only, nothing was written")
    show_report(result.report, result.summary, as_json, title="IATI import")


@command(export_app, "iati")
def export_iati_command(
    programme: Annotated[str | None, typer.Option("--programme", help="Only this programme's projects.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here (default: standard "
                                                "output).", dir_okay=False)] = None,
    reporting_org_ref: Annotated[str | None, typer.Option("--reporting-org-ref", help="IATI organisation "
                                                          "identifier of the publisher, for projects that have "
                                                          "no reporting-org of their own.")] = None,
    reporting_org_name: Annotated[str | None, typer.Option("--reporting-org-name", help="Its name.")] = None,
    reporting_org_type: Annotated[str | None, typer.Option("--reporting-org-type", help="Its IATI "
                                                           "OrganisationType code (10 government...).")] = None,
    xsd: Annotated[Path | None, typer.Option("--xsd", help="Validate the output against the schema in this "
                                             "folder before keeping it.", file_okay=False)] = None,
    as_json: bool = JSON_OPTION,
) -> None:
    """Write the register's projects as IATI 2.03 activity XML. Nothing is written when a project
    cannot be exported (the findings say which and why)."""
    report = Report()
    folder = output.parent if output is not None else None
    fd, name = tempfile.mkstemp(prefix=".iati-export-", suffix=".xml", dir=folder)
    part = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle, reading() as ctx:
            org = ReportingOrg(reporting_org_ref, reporting_org_name, reporting_org_type)
            count = write_activities(handle, export_activities(ctx, report, programme, org), utcnow())
        if xsd is not None and report.valid:
            _validate(part, xsd, report)
        if report.valid:
            if output is None:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, sys.stdout.buffer)
                sys.stdout.flush()
            else:
                part.replace(output)
    finally:
        part.unlink(missing_ok=True)
    summary = {"activities": count, "warnings": len(report.findings) - len(report.errors)}
    if output is None and report.valid:
        for finding in report.findings:
            err_console.print(f"warning: {finding.message}", soft_wrap=True)
        return
    if report.valid and not as_json:
        ok(f"wrote {count} activities to {output}")
    show_report(report, summary, as_json, title="IATI export")


def _validate(path: Path, xsd: Path, report: Report) -> None:
    try:
        schema = load_schema(xsd)
    except XmlRefused as exc:
        from cooptrack.errors import InvalidInput
        from cooptrack.findings import Finding

        raise InvalidInput(exc.message, [Finding(exc.code, exc.message, field="--xsd")]) from None
    exported = IatiFile(path, schema, name="export")
    for activity in exported:  # the schema's errors; the importer's warnings are not the export's business
        report.extend([f for f in activity.findings if f.severity == "error"])
    report.extend([f for f in exported.findings if f.severity == "error"])
