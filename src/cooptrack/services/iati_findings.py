"""IATI import: the options, the run's counts and its findings (every error, warnings up to a
limit; with ``skip_invalid`` the errors that refused an activity are kept as warnings)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding, Report
from cooptrack.services.context import Context
from cooptrack.services.iati_mapping import Prepared, Tag

# The register's field names in upsert_project's findings, as the IATI elements they come from.
_FIELDS = {"title": "title/narrative", "planned start": "activity-date[@type=1]/@iso-date",
           "actual start": "activity-date[@type=2]/@iso-date", "planned end": "activity-date[@type=3]/@iso-date",
           "actual end": "activity-date[@type=4]/@iso-date", "host country": "recipient-country/@code",
           "partner country": "reporting-org/@ref", "sectors": "sector", "value": "transaction/value",
           "currency": "transaction/value/@currency", "value date": "transaction/value/@value-date"}
SUMMARY_KEYS = ("files", "activities", "created", "updated", "unchanged", "refused", "status_events",
                "finance_records", "documents", "value_not_set")


@dataclass
class ImportOptions:
    programme: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    xsd: Path | None = None
    max_warnings: int = 1000
    bulk: bool = True  # new projects through batched Core inserts; False: one upsert_project each


@dataclass
class ImportRun:
    ctx: Context
    options: ImportOptions
    report: Report
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    seen: dict[str, str] = field(default_factory=dict)  # identifier -> where first seen
    org_names: dict[str, str | None] = field(default_factory=dict)  # IATI ref -> registered name
    sources: dict[str, int] = field(default_factory=dict)  # url -> source id
    org_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # ("name"|"ref", value) -> id
    warnings_dropped: int = 0

    warnings: int = 0

    def add(self, finding: Finding) -> None:
        """Keep a finding: every error, warnings up to ``max_warnings``. With ``skip_invalid`` the
        errors that refused an activity or a file are kept as warnings: the import went on."""
        if finding.severity == "error" and self.options.skip_invalid:
            finding = replace(finding, severity="warning")
        elif finding.severity == "warning":
            if self.warnings >= self.options.max_warnings:
                self.warnings_dropped += 1
                self.report.truncated = True
                return
            self.warnings += 1
        self.report.findings.append(finding)


class Item:
    """An activity in the import: what was prepared of it (``iati_mapping``), its findings so far
    (the reader's, then the import's) and, once mapped (``iati_store.project_spec``), its tags."""

    __slots__ = ("p", "findings", "tags")

    def __init__(self, p: Prepared) -> None:
        self.p = p
        self.findings = [Finding(*f) for f in p.findings]
        self.tags: list[Tag] = []

    @property
    def valid(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def noted(self) -> None:
        """The findings of ``iati_mapping.prepare``."""
        self.findings += [Finding(*f) for f in self.p.notes]


def warn(item: Item, where: str, code: str, message: str, value: object = None) -> None:
    item.findings.append(Finding(code, message, field=where, value=None if value is None else str(value),
                                 row=item.p.line, source=item.p.source, severity="warning"))


def refusal(item: Item, exc: InvalidInput) -> None:
    """The register's findings about an activity, with its line and the IATI element for the field."""
    for f in exc.findings or [Finding("invalid", exc.message)]:
        where = _FIELDS.get(f.field or "", f.field)
        item.findings.append(Finding(f.code, f.message, field=where, value=f.value, row=item.p.line,
                                     source=item.p.source))
