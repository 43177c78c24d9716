"""The team benchmark: ``cooptrack serve --workers 4`` on PostgreSQL under a mixed load of reads
and edits, on the 100,000-project register, in one bounded run on loopback.

    .venv/bin/python bench/team/run.py           # see bench/team/README.md

1. Makes sure the register is in the PostgreSQL database (``prepare`` from bench/run.py: generates
   it unless present; creates the database when missing) and at the current migration
   (``cooptrack db upgrade``).
2. Makes an editor user (once) and a fresh token for this run (revoked at the end).
3. Starts ``cooptrack serve --workers 4`` on a free loopback port, waits until it answers.
4. Drives the load with an asyncio client (httpx, HTTP/1.1 keep-alive, a fixed number of
   concurrent workers): open loop at a target rate of HTTP requests per second (or closed loop
   with ``--rate 0``), a warm-up, then a measured window. 90% of the HTTP requests are reads
   spread over project list pages, project details, programme overviews and observation pages;
   10% are edits (PATCH with If-Match), each preceded by the GET that gives its ETag.
5. Writes its section of bench/RESULTS.md (between ``<!-- team:start -->`` and
   ``<!-- team:end -->``) with the target marked met / not met.

Target (issue 6): at least 300 requests/s with p99 under 250 ms and zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TEAM_DIR = Path(__file__).resolve().parent
BENCH_DIR = TEAM_DIR.parent
ROOT = BENCH_DIR.parent
BIN = Path(sys.executable).parent  # the venv's bin/: cooptrack lives next to python
START, END = "<!-- team:start -->", "<!-- team:end -->"
HOST = "127.0.0.1"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
USER = "team-bench"
TOKEN_NAME = "team-bench"
RATE_TARGET = 300.0
P99_TARGET_MS = 250.0
OTHER_BENCHES = ("bench/web/run.py",)  # they load the same machine, and write bench/RESULTS.md too

# The read mix, as shares of the read *operations* (the GET before each edit is a read too, see
# READ_KINDS below). Weighted towards what a team opens most: project lists and project pages.
READ_MIX = {"projects list": 0.35, "project detail": 0.35, "observations list": 0.20, "programme overview": 0.10}
# The edits, as shares of the edit operations.
WRITE_MIX = {"edit project description": 0.7, "edit observation note": 0.3}


def _load_overview_bench() -> types.ModuleType:
    """bench/run.py (not a package; and this file is also called run.py), under its own name."""
    spec = importlib.util.spec_from_file_location("cooptrack_bench_overview", BENCH_DIR / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


overview_bench = _load_overview_bench()


def write_results(section: str, path: Path) -> None:
    """This benchmark's section of bench/RESULTS.md, between its own markers."""
    overview_bench.write_results(section, path, start=START, end=END)


def others_running() -> list[str]:
    """Command lines of other benchmarks running now (not this process)."""
    found = []
    for pattern in OTHER_BENCHES:
        done = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False)
        for line in done.stdout.splitlines():
            pid, _, cmd = line.partition(" ")
            if int(pid) != os.getpid():
                found.append(cmd)
    return found


def wait_for_others(what: str, limit: float) -> float:
    """Wait (up to ``limit`` seconds) until no other benchmark runs; the seconds waited."""
    t0 = time.monotonic()
    shown = False
    while (running := others_running()) and time.monotonic() - t0 < limit:
        if not shown:
            print(f"waiting for {running[0]!r} to finish before {what} ...", flush=True)
            shown = True
        time.sleep(5)
    if running:
        print(f"still running after {limit:.0f} s: {running[0]!r}; going on", flush=True)
    return time.monotonic() - t0


# -- the database ------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """CREATE DATABASE when it does not exist (through the server's ``postgres`` database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"--postgres-url must be a PostgreSQL URL, not {parsed.render_as_string()}")
    name = parsed.database
    if not name or name in ("test", "postgres", "template0", "template1"):
        raise SystemExit(f"refusing database {name!r}: use a dedicated one, e.g. bench")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                print(f"creating database {name}", flush=True)
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


def cli(url: str, *args: str) -> str:
    """Run ``cooptrack ARGS`` on the database at ``url``; its standard output."""
    done = subprocess.run([str(BIN / "cooptrack"), *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "COOPTRACK_DATABASE_URL": url})
    if done.returncode != 0:
        raise RuntimeError(f"cooptrack {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def editor_token(url: str) -> tuple[int, str]:
    """The bench's editor user (made once) and a new token for this run: (token id, token).
    Tokens left active by an earlier, interrupted run are revoked first."""
    users = json.loads(cli(url, "user", "list", "--json"))
    if not any(u["name"] == USER for u in users):
        cli(url, "user", "add", USER, "--role", "editor", "--no-password")
    for t in json.loads(cli(url, "token", "list", "--user", USER, "--json")):
        if t["name"] == TOKEN_NAME and not t.get("revoked_at"):
            cli(url, "token", "revoke", str(t["id"]))
    made = json.loads(cli(url, "token", "create", USER, "--name", TOKEN_NAME, "--json"))
    return int(made["id"]), str(made["token"])


@dataclass
class Register:
    """What the load picks from: every project code, the observation id range, and filter values
    that exist in the register."""

    programmes: list[str]
    projects: list[str]
    observation_ids: tuple[int, int]
    statuses: list[str]
    sectors: list[str]
    countries: list[str]
    indicators: list[str]
    pairs: list[tuple[str, str]]  # (reporter, partner) of the observations
    counts: dict[str, int]
    server_version: str
    revision: str


def load_register(url: str) -> Register:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            def column(sql: str) -> list[Any]:
                return list(c.execute(text(sql)).scalars())

            lo, hi = c.execute(text("SELECT min(id), max(id) FROM observations")).one()
            counts = {t: int(c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                      for t in ("programmes", "projects", "status_events", "observations", "audit_events")}
            return Register(
                programmes=column("SELECT code FROM programmes ORDER BY code"),
                projects=column("SELECT code FROM projects ORDER BY id"),
                observation_ids=(int(lo), int(hi)),
                statuses=column("SELECT DISTINCT status FROM projects WHERE status IS NOT NULL ORDER BY 1"),
                sectors=column("SELECT DISTINCT dac_code FROM project_sectors ORDER BY 1"),
                countries=column("SELECT DISTINCT host_country FROM projects WHERE host_country IS NOT NULL "
                                 "ORDER BY 1"),
                indicators=column("SELECT DISTINCT i.code FROM indicators i JOIN observations o "
                                  "ON o.indicator_id = i.id ORDER BY 1"),
                pairs=[(str(a), str(b)) for a, b in c.execute(text(
                    "SELECT DISTINCT reporter, partner FROM observations WHERE partner IS NOT NULL "
                    "ORDER BY 1, 2")).tuples()],
                counts=counts,
                server_version=str(c.execute(text("SHOW server_version")).scalar_one()),
                revision=str(c.execute(text("SELECT version_num FROM alembic_version")).scalar_one()),
            )
    finally:
        engine.dispose()


# -- the server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(x) for x in (task / "children").read_text().split()]
    return found


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU time of these processes so far.

    With ``reaped``, the CPU of their children that have exited and been waited for is added
    (``cutime`` + ``cstime``): PostgreSQL's backends that end during a phase pass their time to
    the postmaster that way, so the sum cannot go down between two readings.
    """
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if reaped:
            total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return total


def connections_per_process(port: int, pids: list[int]) -> dict[int, int]:
    """Established TCP connections to ``port`` held by each of ``pids`` (from /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                    inodes.add(cols[9])
    found = {}
    for pid in pids:
        n = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    n += target.startswith("socket:[") and target[8:-1] in inodes
        found[pid] = n
    return found


def worker_pids(pids: list[int]) -> list[int]:
    """The uvicorn worker processes among ``pids`` (the first pid alone when there are none)."""
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found or pids[:1]


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes (postmaster and backends), by their command name."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() in ("postgres", "postmaster"):
                found.append(int(stat.parent.name))
        except OSError:
            pass
    return found


@dataclass
class Server:
    argv: list[str]
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Any = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> str:
        return " ".join(["cooptrack", *self.argv[1:]])

    def start(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env={**os.environ, **self.env},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)

    def log_tail(self, chars: int = 3000) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-chars:]

    def pids(self) -> list[int]:
        """The uvicorn supervisor and its worker processes (and theirs)."""
        assert self.proc is not None
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += _children(pid)
        return found

    def wait_ready(self, token: str, workers: int, timeout: float = 120.0) -> None:
        """Until the API answers 200 to the token on as many connections as there are workers
        (each worker checks the token's scrypt hash once: done here, not in the measured run)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base + "/api/v1/programmes", headers=headers, timeout=10).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")
        for _ in range(4 * workers):  # new connections land on the workers in turn, more or less
            with httpx.Client(headers=headers, timeout=30) as client:
                client.get(self.base + "/api/v1/programmes")

    def warm_dashboards(self, token: str, programmes: list[str]) -> tuple[int, int, float]:
        """GET every programme's overview once, as a server that has been running has them:
        computed once and kept in the shared cache for every worker (or found there already,
        from an earlier run on the same data). (overviews, computed now, seconds)."""
        t0, computed = time.monotonic(), 0
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
            for code in programmes:
                answer = client.get(f"{self.base}/api/v1/programmes/{quote(code, safe='')}/overview")
                answer.raise_for_status()
                computed += answer.headers.get("x-cache") == "miss"
        return len(programmes), computed, time.monotonic() - t0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


# -- the load -----------------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    status: int  # 0: a socket error or timeout
    sent: float  # perf_counter when the request went out
    done: float  # perf_counter when the answer was read
    scheduled: float  # when its operation was due (open loop), else == start of its operation
    cache: str = ""  # X-Cache: hit / miss / "" (not cacheable)
    retry: bool = False  # the second attempt of an edit after a 412


@dataclass
class Edit:
    kind: str
    scheduled: float
    done: float
    outcome: str  # ok, ok after 412, 412 twice, error


@dataclass
class LoadResult:
    mode: str
    rate: float  # target HTTP requests/s (0: closed loop)
    concurrency: int
    warmup: float
    duration: float
    samples: list[Sample] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)
    dropped: int = 0  # operations due in the window that never started (open loop, queue not drained in time)
    unfinished: int = 0  # operations cut off at the drain deadline
    client_cpu: float = 0.0  # seconds of CPU used by this process during warm-up + window
    server_cpu: float = 0.0  # the server's processes, same span
    postgres_cpu: float = 0.0
    wall: float = 0.0
    tool: str = "raw"
    connections: list[int] = field(default_factory=list)  # client connections held by each server process
    exceptions: Counter[str] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)


class Picker:
    """Random operations over the register (seeded)."""

    def __init__(self, reg: Register, seed: int, write_share: float, read_mix: dict[str, float],
                 write_mix: dict[str, float]) -> None:
        self.reg = reg
        self.rng = random.Random(seed)
        # Each edit is two requests (GET then PATCH), each read one: edits as a share of the
        # operations such that PATCHes are ``write_share`` of the requests (q / (1 + q) = w).
        self.edit_share = write_share / (1 - write_share)
        self.read_kinds, self.read_weights = list(read_mix), list(read_mix.values())
        self.write_kinds, self.write_weights = list(write_mix), list(write_mix.values())

    def operation(self) -> tuple[str, str]:
        """(kind, path): a read, or an edit (path: the record to GET first)."""
        r = self.rng
        if r.random() < self.edit_share:
            kind = r.choices(self.write_kinds, self.write_weights)[0]
            if kind == "edit project description":
                return kind, f"/api/v1/projects/{quote(r.choice(self.reg.projects), safe='')}"
            return kind, f"/api/v1/observations/{r.randint(*self.reg.observation_ids)}"
        kind = r.choices(self.read_kinds, self.read_weights)[0]
        if kind == "project detail":
            return kind, f"/api/v1/projects/{quote(r.choice(self.reg.projects), safe='')}"
        if kind == "programme overview":
            return kind, f"/api/v1/programmes/{quote(r.choice(self.reg.programmes), safe='')}/overview"
        if kind == "observations list":
            reporter, partner = r.choice(self.reg.pairs)
            q: dict[str, Any] = {"reporter": reporter, "partner": partner}
            if r.random() < 0.7:
                q["indicator"] = r.choice(self.reg.indicators)
            q["page"] = r.randint(1, 5)
            return kind, "/api/v1/observations?" + urlencode(q)
        # a project list: a programme, often with a status, sometimes a sector or a country
        # instead, or a sort; one of the first pages
        q = {}
        shape = r.random()
        if shape < 0.6:
            q["programme"] = r.choice(self.reg.programmes)
            if r.random() < 0.5:
                q["status"] = r.choice(self.reg.statuses)
        elif shape < 0.8:
            q["sector"] = r.choice(self.reg.sectors)
        else:
            q["country"] = r.choice(self.reg.countries)
            q["status"] = r.choice(self.reg.statuses)
        if r.random() < 0.3:
            q["sort"] = r.choice(["-value", "title", "-status_date"])
        q["page"] = r.choice([1, 1, 1, 2, 2, 3, 4, 5, 10])
        return kind, "/api/v1/projects?" + urlencode(q)


# -- the clients ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RawClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: a pool of connections to one
    server, at most one request on each at a time. It does a fraction of httpx's work per request,
    so that the load generator, on the same cores as the server, takes less of them."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()

    async def request(self, method: str, path: str, json: Any = None,
                      headers: dict[str, str] | None = None) -> Answer:
        body = b"" if json is None else _json_dumps(json)
        head = f"{method} {path} HTTP/1.1\r\n{self.fixed}"
        if headers:
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if json is not None:
            head += "Content-Type: application/json\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        message = head.encode("latin-1") + b"\r\n" + body
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout)
        try:
            answer, keep = await asyncio.wait_for(self._exchange(conn, message), self.timeout)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            conn[1].close()
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            # The server closed an idle keep-alive connection before we wrote: once more on a new one.
            conn = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
            answer, keep = await asyncio.wait_for(self._exchange(conn, message), self.timeout)
        except BaseException:
            conn[1].close()
            raise
        if keep:
            self.idle.append(conn)
        else:
            conn[1].close()
        return answer

    @staticmethod
    async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        message: bytes) -> tuple[Answer, bool]:
        reader, writer = conn
        writer.write(message)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:
            body = await reader.read()
            return Answer(status, headers, body), False
        return Answer(status, headers, body), headers.get("connection", "").lower() != "close"


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


class HttpxClient:
    """httpx.AsyncClient behind the same small interface."""

    def __init__(self, base: str, headers: dict[str, str], concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30)

    async def __aenter__(self) -> HttpxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def request(self, method: str, path: str, json: Any = None,
                      headers: dict[str, str] | None = None) -> Answer:
        response = await self.client.request(method, path, json=json, headers=headers)
        body = await response.aread()
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)


CLIENT_ERRORS = (httpx.HTTPError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                 ValueError)


async def run_load(base: str, token: str, reg: Register, rate: float, concurrency: int, warmup: float,
                   duration: float, write_share: float, read_mix: dict[str, float], write_mix: dict[str, float],
                   seed: int, server_pids: list[int], port: int, tool: str = "raw", drain: float = 10.0) -> LoadResult:
    mode = "open loop" if rate > 0 else "closed loop"
    result = LoadResult(mode, rate, concurrency, warmup, duration)
    picker = Picker(reg, seed, write_share, read_mix, write_mix)
    headers = {"Authorization": f"Bearer {token}"}
    result.tool = tool
    run_tag = uuid.uuid4().hex[:8]
    edits_made = 0

    async def request(client: RawClient | HttpxClient, kind: str, method: str, path: str, scheduled: float,
                      retry: bool = False, **kw: Any) -> Answer | None:
        t0 = time.perf_counter()
        try:
            response = await client.request(method, path, **kw)
        except CLIENT_ERRORS as exc:
            result.samples.append(Sample(kind, 0, t0, time.perf_counter(), scheduled, retry=retry))
            result.exceptions[type(exc).__name__] += 1
            if len(result.error_examples) < 5:
                result.error_examples.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            return None
        result.samples.append(Sample(kind, response.status_code, t0, time.perf_counter(), scheduled,
                                     response.headers.get("x-cache", ""), retry))
        if not 200 <= response.status_code < 300 and response.status_code != 412 \
                and len(result.error_examples) < 5:
            result.error_examples.append(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response

    async def edit(client: RawClient | HttpxClient, kind: str, path: str, scheduled: float) -> str:
        nonlocal edits_made
        edits_made += 1
        stamp = f"team bench {run_tag} edit {edits_made} at {datetime.now(UTC).isoformat(timespec='milliseconds')}"
        body = {"description": stamp} if kind == "edit project description" else {"note": stamp}
        read_kind = "project detail (before an edit)" if "project" in kind else "observation (before an edit)"
        patch_kind = "PATCH project" if "project" in kind else "PATCH observation"
        for attempt in (1, 2):
            got = await request(client, read_kind, "GET", path, scheduled, retry=attempt == 2)
            if got is None or got.status_code != 200:
                return "error"
            etag = got.headers.get("etag")
            if not etag:
                return "error"
            done = await request(client, patch_kind, "PATCH", path, scheduled, retry=attempt == 2,
                                 json=body, headers={"If-Match": etag})
            if done is None:
                return "error"
            if 200 <= done.status_code < 300:
                return "ok" if attempt == 1 else "ok after 412"
            if done.status_code != 412:
                return "error"
        return "412 twice"

    async def operation(client: RawClient | HttpxClient, kind: str, path: str, scheduled: float) -> None:
        if kind.startswith("edit "):
            outcome = await edit(client, kind, path, scheduled)
            result.edits.append(Edit(kind, scheduled, time.perf_counter(), outcome))
        else:
            await request(client, kind, "GET", path, scheduled)

    rusage0 = resource.getrusage(resource.RUSAGE_SELF)
    server0, pg0 = cpu_seconds(server_pids), cpu_seconds(postgres_pids(), reaped=True)
    client: RawClient | HttpxClient = (RawClient(HOST, port, headers) if tool == "raw"
                                       else HttpxClient(base, headers, concurrency))
    async with client:
        started = time.perf_counter()
        measure_from = started + warmup
        stop_at = measure_from + duration
        result.window = (measure_from, stop_at)

        if rate > 0:
            # Open loop: operations are due at fixed intervals, whether or not earlier ones are
            # answered; latency counts from when an operation was due (waiting for a free worker
            # included), so a server falling behind shows in the percentiles.
            op_rate = rate / (1 + picker.edit_share)  # an edit is two requests
            queue: asyncio.Queue[tuple[float, str, str] | None] = asyncio.Queue()

            async def scheduler() -> None:
                i = 0
                while True:
                    due = started + i / op_rate
                    if due >= stop_at:
                        break
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    kind, path = picker.operation()
                    queue.put_nowait((due, kind, path))
                    i += 1
                for _ in range(concurrency):
                    queue.put_nowait(None)

            async def worker() -> None:
                while (item := await queue.get()) is not None:
                    due, kind, path = item
                    if time.perf_counter() > stop_at + drain:
                        result.dropped += due >= measure_from
                        result.samples.append(Sample(kind, -1, due, float("inf"), due))
                        continue
                    await operation(client, kind, path, due)

            tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
            schedule: asyncio.Task[None] | None = asyncio.create_task(scheduler())
        else:
            async def looper(i: int) -> None:
                # The workers start one after another over the first seconds of the warm-up, as a
                # team's clients connect at different moments: 32 connections opened in the same
                # millisecond would all be accepted by whichever server worker wakes first.
                await asyncio.sleep(i * min(2.0, warmup / 2) / concurrency)
                while (now := time.perf_counter()) < stop_at:
                    kind, path = picker.operation()
                    await operation(client, kind, path, now)

            tasks = [asyncio.create_task(looper(i)) for i in range(concurrency)]
            schedule = None
        await asyncio.sleep(max(0.0, measure_from + 1 - time.perf_counter()))
        counts = connections_per_process(port, worker_pids(server_pids))
        result.connections = sorted(counts.values(), reverse=True)
        if schedule is not None:
            await schedule
        finished, pending = await asyncio.wait(tasks, timeout=max(0.0, stop_at + drain - time.perf_counter()) + 5)
        for task in pending:
            task.cancel()
        result.unfinished = len(pending)
        for task in finished:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        result.wall = time.perf_counter() - started
    rusage1 = resource.getrusage(resource.RUSAGE_SELF)
    result.client_cpu = (rusage1.ru_utime - rusage0.ru_utime) + (rusage1.ru_stime - rusage0.ru_stime)
    result.server_cpu = cpu_seconds(server_pids) - server0
    result.postgres_cpu = cpu_seconds(postgres_pids(), reaped=True) - pg0
    return result


# -- figures ------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass
class Row:
    label: str
    requests: int
    rps: float
    p50: float | None  # None: no request of this kind to time
    p95: float | None
    p99: float | None
    max: float | None
    errors: int
    hits: int

    def cells(self) -> str:
        return (f"| {self.label} | {self.requests:,} | {self.rps:,.1f} | {ms_cell(self.p50)} | {ms_cell(self.p95)} | "
                f"{ms_cell(self.p99)} | {ms_cell(self.max)} | {self.errors:,} | {self.hits:,} |")


def is_error(s: Sample) -> bool:
    """A socket error or timeout (0), an operation never sent (-1), or an answer other than 2xx
    (a 412 is not one: it is retried and reported on its own)."""
    return s.status <= 0 or (not 200 <= s.status < 300 and s.status != 412)


def ms_cell(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if value == float("inf") else f"{value:.1f}"


def summarize(r: LoadResult, label: str, samples: list[Sample], from_due: bool) -> Row:
    """Throughput: the requests answered inside the measured window, per second. Latency, errors
    and cache hits: the requests of the operations due (open loop) or started (closed loop) inside
    the window, from when their operation was due (``from_due``) or from when they were sent; an
    operation never sent (the client's queue was not drained in time) counts as never answered."""
    lo, hi = r.window
    answered = sum(1 for s in samples if lo <= s.done < hi and s.status != -1)
    timed = [s for s in samples if lo <= s.scheduled < hi]
    ms = [float("inf") if s.status == -1 else ((s.done - s.scheduled) if from_due else (s.done - s.sent)) * 1000
          for s in timed]
    if not ms:
        return Row(label, answered, answered / (hi - lo), None, None, None, None, 0, 0)
    return Row(label, answered, answered / (hi - lo), pct(ms, 50), pct(ms, 95), pct(ms, 99),
               max(ms), sum(is_error(s) for s in timed), sum(s.cache == "hit" for s in timed))


READ_KINDS = ("projects list", "project detail", "observations list", "programme overview",
              "project detail (before an edit)", "observation (before an edit)")
WRITE_KINDS = ("PATCH project", "PATCH observation")


def tables(r: LoadResult, from_due: bool) -> list[Row]:
    rows = [summarize(r, "all requests", r.samples, from_due),
            summarize(r, "reads (GET)", [s for s in r.samples if s.kind in READ_KINDS], from_due),
            summarize(r, "writes (PATCH)", [s for s in r.samples if s.kind in WRITE_KINDS], from_due)]
    for kind in (*READ_KINDS, *WRITE_KINDS):
        chosen = [s for s in r.samples if s.kind == kind]
        if chosen:
            rows.append(summarize(r, f"· {kind}", chosen, from_due))
    never = [s for s in r.samples if s.status == -1]
    if never:
        rows.append(summarize(r, "· operations never sent", never, from_due))
    return rows


# -- report -------------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def versions(reg: Register) -> dict[str, str]:
    found = {n: _version(n) for n in ("cooptrack", "fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg",
                                      "httpx")}
    found["PostgreSQL"] = reg.server_version
    found["Python"] = platform.python_version()
    return found


def _loadavg(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


@dataclass
class Run:
    started: datetime
    url: str
    reg: Register
    workers: int
    command: str
    versions: dict[str, str]
    load_before: tuple[float, float, float]
    write_share: float
    read_mix: dict[str, float]
    write_mix: dict[str, float]
    seed: int
    waited: float
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    results: list[LoadResult] = field(default_factory=list)  # the verdict's run first
    generated: bool = False
    warmed: tuple[int, int, float] = (0, 0, 0.0)  # overviews asked before the load, computed then, seconds


def verdict(r: LoadResult) -> tuple[bool, str]:
    total = tables(r, r.mode == "open loop")[0]
    edit_errors = sum(e.outcome == "412 twice" for e in r.edits if r.window[0] <= e.scheduled < r.window[1])
    errors = total.errors + r.unfinished + edit_errors
    ok = total.rps >= RATE_TARGET and total.p99 is not None and total.p99 < P99_TARGET_MS and errors == 0
    cell = (f"{total.rps:,.1f} requests/s, p99 {ms_cell(total.p99)} ms, {errors:,} errors"
            + (f" ({r.dropped:,} operations due in the window never sent)" if r.dropped else ""))
    return ok, cell


def describe(r: LoadResult) -> str:
    if r.mode == "open loop":
        return (f"open loop at {r.rate:g} HTTP requests/s (operations due at fixed intervals whatever the server "
                "does; latency from when each was due, waiting for a free client worker included)")
    return ("closed loop (each client worker sends its next operation as soon as its last is answered: the "
            "throughput the server sustains; latency from sending)")


def phase_lines(run: Run, r: LoadResult) -> list[str]:
    lo, hi = r.window
    open_loop = r.mode == "open loop"
    cores = os.cpu_count() or 2
    lines = [
        f"### {r.mode.capitalize()}" + (f" at {r.rate:g} requests/s" if open_loop else "") + ": "
        f"{r.concurrency} client workers, {r.warmup:g} s warm-up, {r.duration:g} s measured",
        "",
        f"Load: {describe(r)}.",
        "",
        "| requests | answered in the window | per second | p50 ms | p95 ms | p99 ms | max ms | errors | cache hits |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [row.cells() for row in tables(r, open_loop)]
    if open_loop:
        service = summarize(r, "all", [s for s in r.samples if s.status != -1], False)
        if service.p50 is not None:
            lines += ["", f"Service time alone (from sending each request to its answer), the requests due in the "
                      f"window and sent: p50 {ms_cell(service.p50)} ms, p95 {ms_cell(service.p95)} ms, p99 "
                      f"{ms_cell(service.p99)} ms, max {ms_cell(service.max)} ms."]
    if r.connections:
        lines += ["", "Client connections held by each server worker process during the window: "
                  + " / ".join(str(n) for n in r.connections) + " (uvicorn's workers share one listening socket; "
                  "whichever accepts a keep-alive connection serves all its requests)."]
    if r.dropped:
        lines += ["", f"The server fell behind: {r.dropped:,} operations due in the window were still queued in the "
                  "client when the run ended and were never sent (counted as errors, latency *never*)."]
    edits = [e for e in r.edits if lo <= e.scheduled < hi]
    outcomes = Counter(e.outcome for e in edits)
    n412 = sum(1 for s in r.samples if s.status == 412 and lo <= s.scheduled < hi)
    edit_ms = [(e.done - e.scheduled) * 1000 for e in edits if e.outcome in ("ok", "ok after 412")]
    lines += ["", f"Edit operations due in the window and sent: {len(edits):,}"
              + (" (" + ", ".join(f"{n:,} {k}" for k, n in sorted(outcomes.items())) + ")" if edits else "")
              + f"; 412 answers: {n412} (each retried once with a fresh GET)"
              + (f"; end to end (GET + PATCH{', from when due' if open_loop else ''}) of the successful ones: "
                 f"p50 {pct(edit_ms, 50):.1f} ms, p99 {pct(edit_ms, 99):.1f} ms" if edit_ms else "") + "."]
    warm = sum(1 for s in r.samples if s.scheduled < lo and is_error(s))
    if warm:
        lines.append(f"Errors during the warm-up (not in the figures above): {warm:,}.")
    if r.exceptions:
        lines.append("Socket errors and timeouts: " + ", ".join(f"{n} {k}" for k, n in r.exceptions.items()) + ".")
    if r.error_examples:
        lines += ["", "First errors:", ""] + [f"- `{x[:260]}`" for x in r.error_examples]
    lines += ["", f"CPU over this phase ({r.wall:.1f} s of warm-up, window and drain; {cores} cores = "
              f"{r.wall * cores:.0f} core-seconds): the server's processes {r.server_cpu:.1f} s "
              f"({1000 * r.server_cpu / max(1, sum(s.status != -1 for s in r.samples)):.1f} ms per request sent), "
              f"PostgreSQL {r.postgres_cpu:.1f} s, the load generator {r.client_cpu:.1f} s "
              f"({1000 * r.client_cpu / max(1, sum(s.status != -1 for s in r.samples)):.2f} ms per request).", ""]
    return lines


def report(run: Run) -> str:
    m = overview_bench.machine()
    v = run.versions
    main_run = run.results[0]
    ok, cell = verdict(main_run)
    lines = [
        START,
        "## Team: 4 workers on PostgreSQL under a mixed load of reads and edits",
        "",
        f"- Date: {run.started.isoformat(timespec='seconds')}; written by `bench/team/run.py` "
        "(see `bench/team/README.md`)",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; load average (1 / 5 / 15 min) "
        f"{_loadavg(run.load_before)} before, {_loadavg(run.load_after)} after"
        + (f"; waited {run.waited:.0f} s for another benchmark to finish first" if run.waited >= 1 else ""),
        f"- Versions: cooptrack {v['cooptrack']}, FastAPI {v['fastapi']}, Starlette {v['starlette']}, "
        f"uvicorn {v['uvicorn']}, SQLAlchemy {v['sqlalchemy']}, psycopg {v['psycopg']}, httpx {v['httpx']}, "
        f"PostgreSQL {v['PostgreSQL']}, Python {v['Python']}",
        f"- Register: `{overview_bench._redact(run.url)}` (migration `{run.reg.revision}`"
        + (", generated by this run" if run.generated else "") + "): "
        + ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in run.reg.counts.items()),
        f"- Server: `{run.command}` (`COOPTRACK_DATABASE_URL` set to the register), every request with an "
        "editor's bearer token; the response cache is on, as served: a cached answer is used while the "
        "parts of the data it was computed from are unchanged (each write marks the parts it touched, "
        "see `src/cooptrack/store/changes.py`); programme dashboards are also shared between the workers "
        "through the database. Before the load, every programme's overview was asked once "
        f"({run.warmed[0]} asked, {run.warmed[1]} computed then, the rest found in the shared cache; "
        f"{run.warmed[2]:.1f} s), as on a server that has been running.",
        "- Client: " + ("a minimal asyncio HTTP/1.1 client (`RawClient` in the script: asyncio streams, a "
                        "pool of keep-alive connections; much less CPU per request than httpx)"
                        if run.results[0].tool == "raw" else "httpx.AsyncClient")
        + " in one process on the same cores, HTTP/1.1 keep-alive, at most one connection per client worker. "
        "Requests are counted when their answer arrives inside the measured window; latencies are those of the "
        "operations due (open loop) or started (closed loop) inside it.",
        f"- Mix: {100 * run.write_share:g}% of the HTTP requests are edits (PATCH with If-Match), the rest "
        "reads. Each edit is an operation of two requests: the GET of the record (for its ETag; counted "
        "as a **read**, shown as *before an edit*), then the PATCH (a write); edits are drawn as "
        f"{100 * picker_edit_ops(run.write_share):.1f}% of the operations so that PATCHes are "
        f"{100 * run.write_share:g}% of the requests. Edits: "
        + ", ".join(f"{100 * w:g}% {k}" for k, w in run.write_mix.items())
        + " (random records across the register, a new text each time). Other reads: "
        + ", ".join(f"{100 * w:.3g}% {k}" for k, w in run.read_mix.items() if w)
        + " (random programmes, filters, sorts, pages and project codes; seed "
        f"{run.seed}).",
        "- Errors: any answer other than 2xx (a 412 excepted: an edit that gets 412 is retried once with a "
        "fresh GET, and both are reported, not counted as successes; 412 twice is an error), socket errors "
        "and timeouts, operations due in the window never sent.",
        "",
    ]
    for r in run.results:
        lines += phase_lines(run, r)
    lines += [
        "### Target",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| 4 workers on PostgreSQL, 90% reads / 10% writes: at least 300 requests/s, p99 under 250 ms, zero "
        f"errors ({main_run.mode}{f' at {main_run.rate:g} requests/s' if main_run.rate else ''}) | {cell} | "
        f"{'**met**' if ok else '**not met**'} |",
    ]
    if run.load_before[0] > int(m["cores"]) * 0.5:
        lines += ["", f"Note: the machine was busy before the run (load average {_loadavg(run.load_before)}): "
                  "the figures are noisier than on an idle machine."]
    lines.append(END)
    return "\n".join(lines) + "\n"


def picker_edit_ops(write_share: float) -> float:
    return write_share / (1 - write_share)


def settle(pids: list[int], limit: float = 60.0) -> None:
    """Until the server has finished what the last phase left in flight: under 5% of a core over
    half a second."""
    deadline = time.monotonic() + limit
    before = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pids)
        if now - before < 0.025:
            return
        before = now


# -- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cooptrack serve --workers 4 on PostgreSQL under mixed load.")
    parser.add_argument("--postgres-url", default=os.environ.get(overview_bench.POSTGRES_ENV) or DEFAULT_URL,
                        help="the PostgreSQL register (default: $COOPTRACK_BENCH_POSTGRES_URL or %(default)s)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the register even if present")
    overview_bench.add_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no generator progress lines")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes (default: %(default)s)")
    parser.add_argument("--rate", type=float, default=350.0,
                        help="target HTTP requests/s, open loop; 0: closed loop (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=32, help="client workers (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds (default: %(default)s)")
    parser.add_argument("--write-share", type=float, default=0.10,
                        help="share of the HTTP requests that are PATCHes (default: %(default)s)")
    parser.add_argument("--edits", choices=("both", "project", "observation"), default="both",
                        help="what the edits change: project descriptions and observation notes (70/30), or one "
                        "of them (default: %(default)s)")
    parser.add_argument("--overview-share", type=float, default=READ_MIX["programme overview"],
                        help="share of the other reads that are programme overviews; the rest keep their "
                        "proportions (default: %(default)s)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator: a minimal asyncio HTTP/1.1 client, or httpx.AsyncClient "
                        "(default: %(default)s)")
    parser.add_argument("--no-closed-loop", action="store_true",
                        help="after the open loop, do not also measure a closed loop (the throughput the server "
                        "sustains)")
    parser.add_argument("--load-seed", type=int, default=6, help="seed of the operations drawn (default: %(default)s)")
    parser.add_argument("--wait-limit", type=float, default=1800.0,
                        help="seconds to wait for another benchmark to finish before loading (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave bench/RESULTS.md alone")
    parser.add_argument("--results", type=Path, default=overview_bench.RESULTS,
                        help="results file (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.concurrency < 1 or args.duration <= 0 or not 0 <= args.write_share < 0.5 \
            or not 0 <= args.overview_share <= 1:
        parser.error("--workers, --concurrency and --duration must be positive, --write-share in [0, 0.5), "
                     "--overview-share in [0, 1]")
    if shutil.which("pgrep") is None:
        raise SystemExit("pgrep is needed (procps) to wait for other benchmarks")

    write_mix = WRITE_MIX if args.edits == "both" else {f"edit {args.edits} "
                                                        + ("description" if args.edits == "project" else "note"): 1.0}
    others = {k: w for k, w in READ_MIX.items() if k != "programme overview"}
    read_mix = {k: w / sum(others.values()) * (1 - args.overview_share) for k, w in others.items()}
    read_mix["programme overview"] = args.overview_share
    started = datetime.now(UTC)
    url = args.postgres_url
    ensure_database(url)
    opts = overview_bench.Options(seed=args.seed, programmes=args.programmes, projects=args.projects,
                                  observations=args.observations, quiet=args.quiet)
    backend = overview_bench.Backend("PostgreSQL", url)
    overview_bench.prepare(backend, opts, args.regenerate)
    cli(url, "db", "upgrade")
    token_id, token = editor_token(url)
    reg = load_register(url)
    print(f"register: {reg.counts['projects']:,} projects, {reg.counts['observations']:,} observations, "
          f"migration {reg.revision}", flush=True)

    server = Server([str(BIN / "cooptrack"), "serve", "--workers", str(args.workers), "--host", HOST, "--port",
                     str(free_port()), "--log-level", "warning"], 0, {"COOPTRACK_DATABASE_URL": url})
    server.port = int(server.argv[server.argv.index("--port") + 1])
    waited = wait_for_others("loading the machine", args.wait_limit)
    run = Run(started, url, reg, args.workers, server.command().replace(f"--port {server.port}", "--port PORT"),
              versions(reg), os.getloadavg(), args.write_share, read_mix, write_mix, args.load_seed, waited,
              generated=backend.generated_now)
    print(f"load average before: {_loadavg(run.load_before)}", flush=True)
    try:
        server.start()
        server.wait_ready(token, args.workers)
        run.warmed = server.warm_dashboards(token, reg.programmes)
        print("dashboards: {} overviews asked, {} computed now, in {:.1f} s".format(*run.warmed), flush=True)
        pids = server.pids()
        print(f"server up on {server.base} ({len(pids)} processes); load for {args.warmup:g} + {args.duration:g} s "
              f"({f'open loop at {args.rate:g} req/s' if args.rate > 0 else 'closed loop'}, "
              f"{args.concurrency} workers) ...", flush=True)
        rates = [args.rate] + ([0.0] if args.rate > 0 and not args.no_closed_loop else [])
        for rate in rates:
            if rate != rates[0]:
                settle(pids)
                print(f"closed loop, {args.concurrency} workers, {args.warmup:g} + {args.duration:g} s ...", flush=True)
            result = asyncio.run(run_load(server.base, token, reg, rate, args.concurrency, args.warmup,
                                          args.duration, args.write_share, read_mix, write_mix, args.load_seed,
                                          pids, server.port, args.client))
            run.results.append(result)
            total = tables(result, rate > 0)[0]
            print(f"  {result.mode}: {total.rps:,.1f} requests/s answered, p99 {ms_cell(total.p99)} ms, "
                  f"{total.errors:,} errors", flush=True)
        if server.proc is not None and server.proc.poll() is not None:
            raise RuntimeError(f"the server died during the run:\n{server.log_tail()}")
        tail = server.log_tail(1500).strip()
        if tail:
            print(f"server log (tail):\n{tail}", flush=True)
    finally:
        server.stop()
        try:
            cli(url, "token", "revoke", str(token_id))
        except RuntimeError as exc:
            print(f"could not revoke the bench token {token_id}: {exc}", file=sys.stderr)
    run.load_after = os.getloadavg()
    section = report(run)
    if not args.no_write:
        waited_more = wait_for_others(f"writing {args.results}", args.wait_limit)
        if waited_more >= 1:
            print(f"(waited {waited_more:.0f} s before writing)", flush=True)
        write_results(section, args.results)
    print()
    print(section.replace(START + "\n", "").replace(END + "\n", ""), end="")
    if not args.no_write:
        print(f"\n(written to {args.results})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
