"""Exchange rates the user records, with their sources."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from cooptrack.domain.money import Rate, RateTable, check_currency
from cooptrack.errors import AlreadyExists
from cooptrack.services import audit, validate
from cooptrack.services.context import Checks, Context
from cooptrack.store.changes import token_of, wrote
from cooptrack.store.models import ExchangeRate


@dataclass
class RateSpec:
    currency: str
    period: str
    per_usd: str | int | Decimal
    source: str


def add_rate(ctx: Context, spec: RateSpec, replace: bool = False) -> ExchangeRate:
    checks = Checks()
    currency = checks.run(check_currency, spec.currency.strip().upper() if spec.currency else spec.currency)
    if currency == "USD":
        checks.fail("usd_rate", "USD needs no rate; add rates for other currencies", "currency", "USD")
    period = checks.run(validate.period, spec.period, "period")
    value = checks.run(validate.amount, spec.per_usd, "rate")
    if value is not None and value == 0:
        checks.fail("bad_rate", "rate must be greater than zero", "rate", value)
    checks.run(validate.text, spec.source, "source")
    checks.done()
    assert currency and period and value is not None
    Rate(currency, period, value, spec.source)  # the domain's own checks

    row = ctx.session.scalar(
        select(ExchangeRate).where(ExchangeRate.currency == currency, ExchangeRate.period == period.code)
    )
    if row is not None and not replace:
        raise AlreadyExists(
            f"a {currency} rate for {period.code} already exists ({row.per_usd} per USD, {row.source}); "
            "pass --replace to change it"
        )
    before = audit.snapshot(row) if row else None
    if row is None:
        row = ExchangeRate(currency=currency, period=period.code, per_usd=value, source=spec.source.strip())
        ctx.session.add(row)
    else:
        row.per_usd, row.source = value, spec.source.strip()
    ctx.session.flush()
    audit.record(ctx, "update" if before else "create", "exchange_rate", f"{currency}/{period.code}",
                 before, audit.snapshot(row))
    return row


def list_rates(ctx: Context, currency: str | None = None) -> list[ExchangeRate]:
    query = select(ExchangeRate).order_by(ExchangeRate.currency, ExchangeRate.period)
    if currency:
        query = query.where(ExchangeRate.currency == currency.upper())
    return list(ctx.session.scalars(query))


_TABLES: dict[tuple[Any, ...], RateTable] = {}
_RATES_KEY = select(func.count(ExchangeRate.id), func.max(ExchangeRate.id), func.sum(ExchangeRate.version),
                    func.max(ExchangeRate.updated_at))
_TABLES_LOCK = threading.Lock()


def rate_table(ctx: Context) -> RateTable:
    """Every recorded rate. A transaction reuses the table built for the same rates: known by the
    exchange_rates aspect's change token when the caller read the tokens (``ctx.tokens``; any
    insert, edit or removal through cooptrack renews it), else by their count, highest id, sum of
    versions and last change (one query); a write transaction that has changed rates (not
    committed yet) builds its own."""
    bind = ctx.session.get_bind()
    if not isinstance(bind, Engine):
        ctx.session.flush()  # rates added in this transaction are then seen as written
        if not isinstance(bind, Connection) or wrote(bind, "exchange_rates"):
            return _build(ctx)
        bind = bind.engine
    tokens = ctx.tokens() if ctx.tokens is not None else None
    changed_token = token_of(tokens, "exchange_rates") if tokens is not None else 0
    if changed_token:  # read before the rates are: a table built now holds them or newer ones
        key: tuple[Any, ...] = (str(bind.url), "changes", changed_token)
    else:  # no tokens at hand, or none written yet in this database
        # the last change's time too: a database emptied and refilled may repeat the counts
        count, top, versions, changed = ctx.session.connection().execute(_RATES_KEY).one()
        key = (str(bind.url), count, top, versions, changed)
    with _TABLES_LOCK:
        found = _TABLES.get(key)
    if found is None:
        found = _build(ctx)
        with _TABLES_LOCK:
            if len(_TABLES) > 16:
                _TABLES.clear()
            _TABLES[key] = found
    return found


def _build(ctx: Context) -> RateTable:
    return RateTable(
        Rate(r.currency, validate.period(r.period, "period"), r.per_usd, r.source) for r in list_rates(ctx)
    )
