"""One error envelope for every error the API returns, built by one function, and the mapping
from cooptrack's exception tree (and the framework's own errors) to HTTP status codes.

    {"error": {"status": 400, "code": "bad_parameter", "message": "...", "parameter": "page",
               "findings": [{"code": ..., "message": ..., "field": ..., "value": ...}]},
     "request_id": "..."}
"""

from __future__ import annotations

from typing import Any

from cooptrack.errors import CooptrackError, InvalidInput
from cooptrack.findings import Finding

# A service refusing a query parameter says so with this finding code: a 400, not a 422.
BAD_PARAMETER = "bad_parameter"


def error_body(status: int, code: str, message: str, findings: list[Finding] | None = None,
               parameter: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    error["findings"] = [f.as_dict() for f in findings or []]
    return {"error": error, "request_id": request_id}


def from_exception(exc: CooptrackError, request_id: str | None = None) -> tuple[int, dict[str, Any]]:
    findings: list[Finding] = list(getattr(exc, "findings", []) or [])
    status = exc.http_status
    parameter = None
    code = exc.code
    if isinstance(exc, InvalidInput) and findings and all(f.code == BAD_PARAMETER for f in findings):
        status, code, parameter = 400, BAD_PARAMETER, findings[0].field
    body = error_body(status, code, exc.message, findings, parameter, request_id)
    current = getattr(exc, "current", None)
    if current is not None:  # a stale update: the record as it is now, to merge with
        body["error"]["current"] = current
    return status, body
