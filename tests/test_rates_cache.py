"""The rate table a read transaction reuses changes with the rates: added, replaced or another
database."""

from __future__ import annotations

from datetime import date

import pytest

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


def test_a_writer_reuses_the_table_unless_it_changed_rates(write, read, store):
    from cooptrack.services.projects import ProjectSpec, register_project

    with write() as ctx:
        add_rate(ctx, RateSpec("KZT", "2019", "382.75", "National Bank of Kazakhstan"))
    with read() as ctx:
        shared = rate_table(ctx)
    with write() as ctx:  # writes, but no rates: the committed table holds
        register_project(ctx, ProjectSpec(code="road", title="Road"))
        assert rate_table(ctx) is shared
    with pytest.raises(RuntimeError, match="roll back"), write() as ctx:
        # a rate not committed yet: this transaction's own table, not kept
        add_rate(ctx, RateSpec("KRW", "2019", "1165.36", "Bank of Korea"))
        own = rate_table(ctx)
        assert own is not shared and own.find("KRW", date(2019, 1, 1)) is not None
        raise RuntimeError("roll back")
    with read() as ctx:
        again = rate_table(ctx)
        assert again is shared and again.find("KRW", date(2019, 1, 1)) is None
