"""The exception tree for fatal errors, translated to exit codes (CLI) or HTTP status (API)
in one place each.

    CooptrackError
     +-- InvalidInput        bad input; carries findings; nothing was written   (exit 1, HTTP 422)
     |    +-- TransitionNotAllowed   a status change the lifecycle forbids
     +-- NotFound            an id that does not exist                          (exit 1, HTTP 404)
     +-- AlreadyExists       a duplicate id                                     (exit 1, HTTP 409)
     +-- StaleVersion        an update based on an outdated version             (exit 1, HTTP 412)
     +-- StoreUnavailable    the database cannot be reached or is not set up    (exit 1, HTTP 503)
     +-- NotAuthenticated    no credentials, or ones that do not sign in        (exit 1, HTTP 401)
     +-- Forbidden           signed in, but the role does not allow it          (exit 1, HTTP 403)
     +-- PreconditionRequired  an update without If-Match                       (exit 1, HTTP 428)
     +-- TooLarge            an upload over the size limit                      (exit 1, HTTP 413)
     +-- WrongType           an upload whose content is not what it claims      (exit 1, HTTP 415)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cooptrack.findings import Finding


class CooptrackError(Exception):
    """Base of every error cooptrack reports to a user."""

    exit_code = 1
    http_status = 500
    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CooptrackError):
    http_status = 422
    code = "invalid_input"

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = list(findings or [])

    @classmethod
    def from_findings(cls, findings: list[Finding]) -> InvalidInput:
        first = findings[0].message if findings else "invalid input"
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        return cls(first + more, findings)


class TransitionNotAllowed(InvalidInput):
    code = "transition_not_allowed"


class NotFound(CooptrackError):
    http_status = 404
    code = "not_found"


class AlreadyExists(CooptrackError):
    http_status = 409
    code = "already_exists"


class StaleVersion(CooptrackError):
    http_status = 412
    code = "stale_version"

    def __init__(self, message: str, current: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.current = current  # the record as it is now, for the one who must merge


class StoreUnavailable(CooptrackError):
    http_status = 503
    code = "store_unavailable"


class NotAuthenticated(CooptrackError):
    http_status = 401
    code = "not_authenticated"


class Forbidden(CooptrackError):
    http_status = 403
    code = "forbidden"


class PreconditionRequired(CooptrackError):
    http_status = 428
    code = "precondition_required"


class TooLarge(CooptrackError):
    http_status = 413
    code = "too_large"


class WrongType(CooptrackError):
    http_status = 415
    code = "wrong_type"
