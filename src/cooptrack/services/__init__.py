"""Use cases: the only place where rules live. The CLI, the API and the pages call these."""

from cooptrack.services.context import Context

__all__ = ["Context"]
