"""`cooptrack report PROGRAMME --format html|xlsx|pdf [--as-of DATE] [--lang en|ru] -o FILE`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cooptrack.cli.common import as_of_date, ok, reading
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.reports import ReportData, collect


class ReportFormat(StrEnum):
    html = "html"
    xlsx = "xlsx"
    pdf = "pdf"


class Language(StrEnum):
    en = "en"
    ru = "ru"


SUFFIXES = {".html": ReportFormat.html, ".htm": ReportFormat.html, ".xlsx": ReportFormat.xlsx,
            ".pdf": ReportFormat.pdf}


def report(
    programme: Annotated[str, typer.Argument(help="Programme id, e.g. fresh-wind.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (replaced if it exists).")],
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", "-f", help="html, xlsx or pdf; by default from the output file's extension.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: the state known on that date.")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="Language of the report's labels: en or ru.")] = Language.en,
) -> None:
    """A programme report as of a date: self-contained HTML, an Excel workbook or a PDF."""
    if output.is_dir():
        raise InvalidInput(f"--output: '{output}' is a folder; give a file name, e.g. {output / 'report.html'}",
                           [Finding("output_is_folder", "the output is a folder", field="--output",
                                    value=str(output))])
    chosen = fmt or SUFFIXES.get(output.suffix.lower())
    if chosen is None:
        raise typer.BadParameter(f"cannot tell the format from '{output.name}'; give --format html, xlsx or pdf",
                                 param_hint="'--format'")
    day = as_of_date(as_of)
    _check_folder(output)
    with reading() as ctx:
        data = collect(ctx, programme, day)
    _write_atomically(output, data, chosen, lang.value)
    ok(f"wrote the {chosen.value} report of {programme}"
       + (f" as of {day.isoformat()}" if day else "") + f" to {output}")


def _check_folder(output: Path) -> None:
    folder = output.parent
    if not folder.is_dir():
        raise InvalidInput(f"--output: folder '{folder}' does not exist; create it first or write elsewhere",
                           [Finding("missing_folder", "the output folder does not exist", field="--output",
                                    value=str(output))])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_atomically(output: Path, data: ReportData, fmt: ReportFormat, lang: str) -> None:
    """Written to a temporary file beside the target, then renamed over it: a failure leaves no
    half-written report and an existing one untouched."""
    handle, name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
    os.close(handle)
    temp = Path(name)
    try:
        if fmt is ReportFormat.html:
            from cooptrack.reports.html import render_html

            temp.write_text(render_html(data, lang), encoding="utf-8")
        elif fmt is ReportFormat.xlsx:
            from cooptrack.reports.xlsx import write_xlsx

            write_xlsx(data, lang, temp)
        else:
            from cooptrack.reports.pdf import write_pdf

            write_pdf(data, lang, temp)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; a report is an ordinary file
        os.replace(temp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
