"""Commands for the tabular formats, registered on `cooptrack.cli.exchange`'s import and export apps."""

from __future__ import annotations
