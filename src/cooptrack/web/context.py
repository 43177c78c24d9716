"""Per-request plumbing: the store, a read transaction, the request id, query parsing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from fastapi import Request

from cooptrack.domain.period import parse_date
from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding
from cooptrack.services.context import Context
from cooptrack.store import Store


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def read_context(request: Request) -> Iterator[Context]:
    """A dependency: one read transaction for the request."""
    with store_of(request).read() as session:
        yield Context(session, actor="web", request_id=getattr(request.state, "request_id", None))


def as_of_param(text: str | None, name: str = "as_of") -> date | None:
    if text is None or text.strip() == "":
        return None
    try:
        return parse_date(text, name)
    except InvalidInput:
        message = f"{name} '{text}' is not a date; write YYYY-MM-DD"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=text)]) from None


def int_param(text: str | None, name: str, default: int) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        return int(text)
    except ValueError:
        message = f"{name} '{text}' is not a whole number"
        raise InvalidInput(message, [Finding("bad_parameter", message, field=name, value=text)]) from None
