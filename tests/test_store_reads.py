"""Store.read: one transaction, or (``transaction=False``, the web's short reads) on PostgreSQL
each statement on its own, without the round trips of BEGIN and COMMIT."""

from __future__ import annotations

from sqlalchemy import event, text

from cooptrack.services.context import Context
from cooptrack.services.programmes import ProgrammeSpec, register_programme


def test_short_reads_send_no_begin_or_commit_on_postgresql(store, write):
    with write() as ctx:
        register_programme(ctx, ProgrammeSpec(code="kk", name="Kazakhstan-Korea", parties=["KAZ", "KOR"]))
    sent: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda conn, cur, sql, *rest: sent.append(sql))
    for transaction in (True, False):
        with store.read(transaction=transaction) as session:
            assert session.execute(text("SELECT code FROM programmes")).scalar_one() == "kk"
            raw = session.connection().connection.dbapi_connection
            if store.dialect == "postgresql":
                # psycopg: INTRANS (2) inside a transaction, IDLE (0) when each statement commits itself
                assert raw.info.transaction_status == (2 if transaction else 0)
            else:  # SQLite keeps its transaction either way (one snapshot for the whole read)
                assert raw.in_transaction
            Context(session, "tester")  # a service context over it reads as before
        assert session.in_transaction() is False
    if store.dialect == "sqlite":
        assert sent.count("BEGIN") == 2
    # a read that fails leaves nothing behind either way
    for transaction in (True, False):
        try:
            with store.read(transaction=transaction) as session:
                session.execute(text("SELECT no_such_column FROM programmes"))
        except Exception as exc:  # noqa: BLE001 - the database's own error, whatever its class
            assert "no_such_column" in str(exc)
        else:
            raise AssertionError("a bad statement did not fail")
        with store.read(transaction=transaction) as session:
            assert session.execute(text("SELECT count(*) FROM programmes")).scalar_one() == 1
