"""Commands for the trade formats, registered on `cooptrack.cli.exchange`'s import and export apps."""

from __future__ import annotations
