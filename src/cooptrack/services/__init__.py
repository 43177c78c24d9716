"""Use cases: the only place where rules live. The CLI, the API and the pages call these.

``Context`` is exported on first use: a process that needs one service module alone (the
Comtrade importer's reading process) does not load the ORM through this package."""

from typing import Any

__all__ = ["Context"]


def __getattr__(name: str) -> Any:
    if name == "Context":
        from cooptrack.services.context import Context

        return Context
    raise AttributeError(f"module 'cooptrack.services' has no attribute {name!r}")
