"""Programme reports "as of" a date: a self-contained HTML file, an Excel workbook and a PDF,
all rendered from the programme dashboard the web page and the API show."""

from __future__ import annotations

from cooptrack.reports.data import ReportData, collect

FORMATS = ("html", "xlsx", "pdf")

__all__ = ["FORMATS", "ReportData", "collect"]
