"""No lost updates under load: 8 clients edit the same records through a real server (several
worker processes on PostgreSQL, one on SQLite) for a bounded time. Each edit reads the record,
adds one to its value and writes it back with If-Match; a 412 means someone else won, and the
client reads again. The final values must equal the starting values plus the acknowledged
edits, and no request may get a 5xx."""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import httpx
from server_support import running_server

from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.users import add_user, create_token

CLIENTS = 8
SECONDS = float(os.environ.get("COOPTRACK_CONCURRENCY_SECONDS", "30"))
RECORDS = 3


def test_eight_clients_lose_no_update(store, write, read, db_url):
    with write() as ctx:
        add_user(ctx, "editor", "editor")
        token = create_token(ctx, "editor").token
        ids = [add_observation(ctx, ObservationSpec("exports", "KAZ", str(2000 + i), "1000", "USD", partner="KOR")).id
               for i in range(RECORDS)]
    workers = 1 if store.dialect == "sqlite" else 4
    acknowledged = [0] * RECORDS
    lock = threading.Lock()
    statuses: dict[int, int] = {}
    errors: list[str] = []

    def client(n: int, base: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + SECONDS
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            i = n
            while time.monotonic() < deadline:
                record = i % RECORDS
                i += 1
                try:
                    got = http.get(f"/api/v1/observations/{ids[record]}")
                    if got.status_code != 200:
                        with lock:
                            statuses[got.status_code] = statuses.get(got.status_code, 0) + 1
                        continue
                    value = Decimal(got.json()["value"]) + 1
                    put = http.patch(f"/api/v1/observations/{ids[record]}", json={"value": str(value)},
                                     headers={"If-Match": got.headers["etag"]})
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    statuses[put.status_code] = statuses.get(put.status_code, 0) + 1
                    if put.status_code == 200:
                        acknowledged[record] += 1

    with running_server(db_url, workers=workers) as (base, _process):
        threads = [threading.Thread(target=client, args=(n, base)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) <= {200, 412}, statuses
    assert sum(acknowledged) > 0 and statuses.get(412, 0) > 0  # the clients did collide
    with read() as ctx:
        from cooptrack.store.models import Observation

        final = [ctx.session.get(Observation, i).value for i in ids]
    assert final == [Decimal(1000 + n) for n in acknowledged]
