"""What every service call needs: the open transaction, who acts, and a way to collect
findings before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from sqlalchemy.orm import Session

from cooptrack.errors import InvalidInput, NotFound
from cooptrack.findings import Finding
from cooptrack.store.types import utcnow

T = TypeVar("T")


@dataclass
class Context:
    session: Session
    actor: str
    request_id: str | None = None
    now: datetime = field(default_factory=utcnow)
    # The data's change tokens by aspect (store/changes.py), read in this transaction before its
    # other reads, when the caller has them (the web's read requests): tables kept across
    # transactions (the rates) are then looked up by them instead of by a query of their own.
    tokens: Callable[[], dict[str, int] | None] | None = None


class Checks:
    """Run every field check, keep every finding, then raise them together (or not)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def run(self, check: Callable[..., T], *args: Any, **kw: Any) -> T | None:
        try:
            return check(*args, **kw)
        except InvalidInput as exc:
            self.findings.extend(exc.findings or [Finding("invalid", exc.message)])
            return None
        except NotFound as exc:
            self.findings.append(Finding("not_found", exc.message))
            return None

    def fail(self, code: str, message: str, field: str | None = None, value: object = None) -> None:
        shown = None if value is None else str(value)
        self.findings.append(Finding(code, message, field=field, value=shown))

    def done(self) -> None:
        if self.findings:
            raise InvalidInput.from_findings(self.findings)


def refuse(code: str, message: str, field: str | None = None, value: object = None) -> NoReturn:
    shown = None if value is None else str(value)
    raise InvalidInput(message, [Finding(code, message, field=field, value=shown)])
