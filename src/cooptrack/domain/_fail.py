from __future__ import annotations

from typing import NoReturn

from cooptrack.errors import InvalidInput
from cooptrack.findings import Finding


def invalid(code: str, message: str, field: str | None = None, value: object = None) -> NoReturn:
    """Raise InvalidInput carrying a single finding."""
    shown = None if value is None else str(value)
    raise InvalidInput(message, [Finding(code=code, message=message, field=field, value=shown)])
