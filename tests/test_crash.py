"""Kill the server (SIGKILL) in the middle of a large import: afterwards the database holds all
of that import or none of it, the job is reported as interrupted, and the server starts again
cleanly."""

from __future__ import annotations

import os
import signal
import time

import httpx
from server_support import running_server
from sqlalchemy import func, select

from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.services.users import add_user, create_token
from cooptrack.store.models import ImportJob, Project

HEADER = "id,title,programme,host_country,partner_country,value,currency,value_date,sectors,status,status_date\n"
ROWS = 150_000


def big_file() -> bytes:
    lines = [HEADER] + [f"crash-{i:06d},Crash test project {i},fresh-wind,KAZ,KOR,{1000 + i},USD,2019-06-30,"
                        f"21020:100,agreed,2019\n" for i in range(ROWS)]
    return "".join(lines).encode()


def test_sigkill_mid_import_leaves_all_or_nothing(store, write, read, db_url):
    with write() as ctx:
        load_dataset(ctx, read_dataset(demo_path()), "fresh_wind.yaml", base=demo_path().parent)
        add_user(ctx, "editor", "editor")
        token = create_token(ctx, "editor").token
    headers = {"Authorization": f"Bearer {token}"}
    with running_server(db_url) as (base, process):
        started = httpx.post(f"{base}/api/v1/imports", params={"kind": "projects", "filename": "big.csv"},
                             content=big_file(), headers=headers, timeout=120)
        assert started.status_code == 202, started.text
        location = base + started.headers["location"]
        for _ in range(600):
            state = httpx.get(location, headers=headers, timeout=30).json()["state"]
            if state != "queued":
                break
            time.sleep(0.05)
        assert state == "running"
        time.sleep(0.5)  # well into the import
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    with read() as ctx:
        written = ctx.session.scalar(select(func.count(Project.id)).where(Project.code.like("crash-%")))
    # Killed half a second into a import of 150,000 rows in one transaction: none of it is there
    # (all of it would mean the kill came after the commit, and the test would not test a crash).
    assert written == 0

    with running_server(db_url) as (base, _process):  # starts again cleanly
        assert httpx.get(f"{base}/api/v1/programmes", headers=headers, timeout=30).status_code == 200
        job = httpx.get(location.replace(location.split("/api/")[0], base), headers=headers, timeout=30).json()
    assert job["state"] == "interrupted" and "nothing of it was written" in job["error"]
    with read() as ctx:
        assert ctx.session.scalar(select(func.count(ImportJob.id)).where(ImportJob.state == "running")) == 0
