"""Findings are data: one record per problem, collected into a report before anything is
written, rendered as a table, as JSON or in the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    field: str | None = None
    value: str | None = None
    row: int | None = None
    source: str | None = None
    severity: Severity = "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    limit: int | None = None
    truncated: bool = False
    dropped_errors: int = 0  # errors past the limit: not listed, still counted

    def add(self, finding: Finding) -> None:
        if self.limit is not None and len(self.findings) >= self.limit:
            self.truncated = True
            self.dropped_errors += finding.severity == "error"
            return
        self.findings.append(finding)

    def extend(self, findings: list[Finding]) -> None:
        for f in findings:
            self.add(f)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def valid(self) -> bool:
        return not self.errors and not self.dropped_errors

    def flatten(self, *keys: str) -> list[list[Any]]:
        """Compact view for tests: ``report.flatten("row", "field", "code")``."""
        return [[getattr(f, k) for k in keys] for f in self.findings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": len(self.errors) + self.dropped_errors,
            "warnings": len(self.findings) - len(self.errors),
            "truncated": self.truncated,
            "findings": [f.as_dict() for f in self.findings],
        }
