"""Project lifecycle: seven statuses, their IATI ActivityStatus codes, allowed transitions."""

from __future__ import annotations

from enum import StrEnum

from cooptrack.errors import InvalidInput, TransitionNotAllowed
from cooptrack.findings import Finding


class Status(StrEnum):
    PIPELINE = "pipeline"
    AGREED = "agreed"
    IN_EXECUTION = "in_execution"
    IMPLEMENTED = "implemented"
    CLOSED = "closed"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"

    @property
    def iati_code(self) -> int:
        return IATI_CODE[self]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def parse(cls, text: str, field: str = "status") -> Status:
        key = text.strip().lower().replace(" ", "_").replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            msg = f"{field} '{text}' is not a status; use one of {allowed}"
            raise InvalidInput(msg, [Finding("unknown_status", msg, field=field, value=text)]) from None

    @classmethod
    def from_iati(cls, code: int | str, field: str = "activity-status") -> Status:
        try:
            return FROM_IATI[int(code)]
        except (KeyError, ValueError):
            msg = f"{field} '{code}' is not an IATI ActivityStatus code; use 1 to 6"
            raise InvalidInput(msg, [Finding("unknown_status", msg, field=field, value=str(code))]) from None


IATI_CODE: dict[Status, int] = {
    Status.PIPELINE: 1,
    Status.AGREED: 1,
    Status.IN_EXECUTION: 2,
    Status.IMPLEMENTED: 3,
    Status.CLOSED: 4,
    Status.CANCELLED: 5,
    Status.SUSPENDED: 6,
}
# IATI 1 (Pipeline/identification) reads back as pipeline: "agreed" has no code of its own.
FROM_IATI: dict[int, Status] = {
    1: Status.PIPELINE,
    2: Status.IN_EXECUTION,
    3: Status.IMPLEMENTED,
    4: Status.CLOSED,
    5: Status.CANCELLED,
    6: Status.SUSPENDED,
}

TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED})

# A later source often reports a step we never saw, so forward jumps are allowed; going back
# is not, except out of suspension. Restating the same status (another source confirms it)
# is always allowed.
ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PIPELINE: frozenset(
        {Status.AGREED, Status.IN_EXECUTION, Status.IMPLEMENTED, Status.CLOSED, Status.SUSPENDED, Status.CANCELLED}
    ),
    Status.AGREED: frozenset(
        {Status.IN_EXECUTION, Status.IMPLEMENTED, Status.CLOSED, Status.SUSPENDED, Status.CANCELLED}
    ),
    Status.IN_EXECUTION: frozenset({Status.IMPLEMENTED, Status.CLOSED, Status.SUSPENDED, Status.CANCELLED}),
    Status.SUSPENDED: frozenset(
        {Status.PIPELINE, Status.AGREED, Status.IN_EXECUTION, Status.IMPLEMENTED, Status.CANCELLED}
    ),
    Status.IMPLEMENTED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def transition_allowed(before: Status | None, after: Status, reopen: bool = False) -> bool:
    if before is None or before == after:
        return True
    if before in TERMINAL:
        return reopen
    return after in ALLOWED[before]


def check_transition(before: Status | None, after: Status, reopen: bool = False) -> None:
    if transition_allowed(before, after, reopen):
        return
    assert before is not None
    if before in TERMINAL:
        how = f"a {before.value} project can only change with --reopen"
    else:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[before])) or "nothing"
        how = f"from {before.value} a project can move to {allowed}"
    msg = f"status cannot go from {before.value} to {after.value}: {how}"
    raise TransitionNotAllowed(
        msg, [Finding("transition_not_allowed", msg, field="status", value=after.value)]
    )
