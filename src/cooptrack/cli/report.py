"""One findings report for every importer: a table for people, JSON for scripts, exit code 1
when it holds errors; a Rich progress bar for imports that take a while."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from cooptrack.cli.common import console, err_console
from cooptrack.findings import Report
from cooptrack.services.audit import jsonable


def show_report(report: Report, summary: dict[str, int], as_json: bool, title: str = "Findings") -> None:
    """Print the findings and the summary (created, updated, unchanged, refused...), then exit 1
    if any finding is an error."""
    if as_json:
        sys.stdout.write(json.dumps(jsonable({**report.as_dict(), "summary": summary}), ensure_ascii=False,
                                    indent=2) + "\n")
    else:
        if report.findings:
            table = Table("file", "row", "field", "value", "code", "message",
                          title=f"{title} ({len(report.errors)} errors, "
                                f"{len(report.findings) - len(report.errors)} warnings)")
            for f in report.findings:
                table.add_row(f.source or "", str(f.row) if f.row is not None else "", f.field or "",
                              (f.value or "")[:40], f.code, f.message,
                              style="red" if f.severity == "error" else "yellow")
            (err_console if not report.valid else console).print(table)
            if report.truncated:
                err_console.print(f"(stopped after {len(report.findings)} findings: raise --max-findings to see more)")
        line = ", ".join(f"{v:,} {k}" for k, v in summary.items())
        (console if report.valid else err_console).print(
            ("" if report.valid else "[bold red]nothing was written:[/bold red] ") + (line or "nothing to do"))
    if not report.valid:
        raise typer.Exit(1)


@contextmanager
def progress(description: str, total: int | None, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr; ``advance(n)`` moves it. Quiet when not a terminal."""
    if not enabled or not err_console.is_terminal:
        yield lambda n=1: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
