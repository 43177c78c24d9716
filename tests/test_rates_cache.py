"""The rate table a read transaction reuses changes with the rates: added, replaced or another
database."""

from __future__ import annotations

from datetime import date

from cooptrack.services.rates import RateSpec, add_rate, rate_table


def test_reused_rate_table_follows_every_change(write, read):
    with write() as ctx:
        add_rate(ctx, RateSpec("KZT", "2019", "382.75", "National Bank of Kazakhstan"))
    with read() as ctx:
        first = rate_table(ctx)
        assert rate_table(ctx) is first  # reused while nothing changed
        assert first.find("KZT", date(2019, 6, 30)).per_usd == 382.75
    with write() as ctx:
        add_rate(ctx, RateSpec("KZT", "2019", "380", "revised"), replace=True)
        assert rate_table(ctx).find("KZT", date(2019, 6, 30)).per_usd == 380  # a writer builds its own
    with read() as ctx:
        assert rate_table(ctx).find("KZT", date(2019, 6, 30)).per_usd == 380
    with write() as ctx:
        add_rate(ctx, RateSpec("KRW", "2019", "1165.36", "Bank of Korea"))
    with read() as ctx:
        assert rate_table(ctx).find("KRW", date(2019, 1, 1)) is not None
