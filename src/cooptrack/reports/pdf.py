"""The PDF report: the HTML report printed by WeasyPrint (its print stylesheet sets A4 pages,
page numbers and table headers repeated on each page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cooptrack.reports.data import ReportData
from cooptrack.reports.html import render_html


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report is self-contained: WeasyPrint is never to fetch anything (no network, no files)."""
    raise ValueError(f"the report refers to {url}; reports are self-contained and fetch nothing")


def write_pdf(data: ReportData, lang: str, path: Path) -> None:
    import weasyprint  # slow to import: only when a PDF is asked for

    html = render_html(data, lang)
    weasyprint.HTML(string=html, url_fetcher=_no_fetching).write_pdf(str(path))
