"""Persistence: tables, migrations, engines and transactions."""

from cooptrack.store.db import Store, redact

__all__ = ["Store", "redact"]
