"""The web benchmark: cooptrack's read API and dashboard against Datasette, side by side, in one
run, on the same SQLite register (the 100,000-project one from ``bench/generate.py``).

    .venv/bin/python bench/web/run.py            # make bench runs it

1. Makes sure the register exists (``prepare`` from bench/run.py: generates it unless present).
2. Starts cooptrack (``create_app`` under uvicorn, one process) and Datasette (``datasette serve
   -i FILE``, immutable) on that file, each in its own subprocess on loopback.
3. Checks that both return the same 50 project codes in the same order, and that the aggregate
   SQL given to Datasette counts what cooptrack's overview counts; then loads each server with
   wrk (or, without wrk, an httpx.AsyncClient) for a fixed time after a warm-up and times the
   dashboard page with sequential requests.
4. Writes its section of bench/RESULTS.md (between ``<!-- web:start -->`` and
   ``<!-- web:end -->``) with the targets marked met / not met.

Targets (issue 5): the projects list at least 10x Datasette's requests per second for the
equivalent filtered table JSON; the programme overview at least 2x Datasette running the
equivalent aggregate SQL; the dashboard page under 150 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from sqlalchemy.engine import make_url

WEB_DIR = Path(__file__).resolve().parent
BENCH_DIR = WEB_DIR.parent
ROOT = BENCH_DIR.parent
BIN = Path(sys.executable).parent  # the venv's bin/: uvicorn and datasette live next to python
WRK_SCRIPT = WEB_DIR / "wrk_report.lua"
START, END = "<!-- web:start -->", "<!-- web:end -->"
PROJECTS_RATIO_TARGET = 10.0
OVERVIEW_RATIO_TARGET = 2.0
DASHBOARD_P95_TARGET_MS = 150.0
HOST = "127.0.0.1"
MIN_ROUNDS = 5  # a measured run should see each connection complete at least this many requests
FULL = "Datasette, full SQL"  # the overview's Datasette run with OVERVIEW_SQL + FULL_EXTRA_SQL
# cooptrack with its response cache off (COOPTRACK_RESPONSE_CACHE=off): every request computes its answer
UNCACHED = "cooptrack, cache off"


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


# -- the SQL Datasette runs for the overview ------------------------------------------------------

# What cooptrack's overview computes from the database, as one statement: projects by status and by
# industry with their count and the sum of their values per currency, and the latest value of each
# whole-relationship indicator series between the programme's parties (the same window function as
# services/overview.py). cooptrack's overview does more on top (USD conversion with the rate table,
# targets' progress, the status timeline, trade series and HS sections), which this leaves out.
OVERVIEW_SQL = """
WITH prog AS (SELECT id FROM programmes WHERE code = :programme),
parties AS (SELECT country FROM programme_parties WHERE programme_id = (SELECT id FROM prog)),
ranked AS (
  SELECT o.indicator_id, o.reporter, o.partner, o.unit, o.period, o.value,
         row_number() OVER (PARTITION BY o.indicator_id, o.reporter, o.partner, o.unit
                            ORDER BY o.period_end DESC, o.period_start ASC, o.id DESC) AS rank
  FROM observations o
  WHERE o.reporter IN (SELECT country FROM parties) AND o.partner IN (SELECT country FROM parties)
    AND o.hs_code IS NULL
)
SELECT 'status' AS kind, coalesce(p.status, 'unrecorded') AS key, p.value_currency AS currency,
       count(*) AS projects, sum(CAST(p.value_amount AS REAL)) AS amount, NULL AS detail
FROM projects p WHERE p.programme_id = (SELECT id FROM prog) GROUP BY 2, 3
UNION ALL
SELECT 'industry', coalesce(i.name, '(no industry)'), p.value_currency, count(*),
       sum(CAST(p.value_amount AS REAL)), NULL
FROM projects p LEFT JOIN programme_industries i ON i.id = p.industry_id
WHERE p.programme_id = (SELECT id FROM prog) GROUP BY 2, 3
UNION ALL
SELECT 'latest', ind.code, r.unit, NULL, CAST(r.value AS REAL),
       r.period || ' ' || r.reporter || '>' || coalesce(r.partner, '')
FROM ranked r JOIN indicators ind ON ind.id = r.indicator_id WHERE r.rank = 1
"""


# The same, plus what else the overview endpoint returns, each part as one row holding a JSON array
# built by SQLite (so Datasette renders a few rows, not thousands): the 200 latest status events
# with their project and source, the whole-relationship series points of the dashboard's
# indicators, and exports and imports summed by HS section over the chapters, each chapter at the
# coarsest level reported (the chapter -> section CASE is generated from cooptrack's HS table).
FULL_EXTRA_SQL = """
UNION ALL
SELECT 'timeline', NULL, NULL, count(*), NULL,
       json_group_array(json_array(e.effective, e.status, e.reopen, e.code, e.title, e.source, e.source_title))
FROM (SELECT se.effective, se.status, se.reopen, pr.code, pr.title, s.code AS source, s.title AS source_title
      FROM status_events se JOIN projects pr ON pr.id = se.project_id
      LEFT JOIN sources s ON s.id = se.source_id
      WHERE pr.programme_id = (SELECT id FROM prog)
      ORDER BY se.effective_start DESC, se.id DESC LIMIT 200) e
UNION ALL
SELECT 'series', NULL, NULL, count(*), NULL,
       json_group_array(json_array(x.code, x.reporter, x.partner, x.unit, x.period, x.period_start, x.period_end,
                                   x.value, x.flags))
FROM (SELECT ind.code, o.reporter, o.partner, o.unit, o.period, o.period_start, o.period_end, o.value, o.flags
      FROM observations o JOIN indicators ind ON ind.id = o.indicator_id
      WHERE ind.code IN ('trade_turnover', 'exports', 'imports', 'fdi_inflow', 'fdi_stock', 'enterprises',
                         'joint_ventures')
        AND o.reporter IN (SELECT country FROM parties) AND o.partner IN (SELECT country FROM parties)
        AND o.hs_code IS NULL
      ORDER BY o.period_start, o.period_end, o.id) x
UNION ALL
SELECT 'trade', NULL, NULL, count(*), NULL,
       json_group_array(json_array(t.flow, t.reporter, t.partner, t.unit, t.section, t.period, t.total))
FROM (SELECT flow, reporter, partner, unit, ({section}) AS section, period, sum(total) AS total
      FROM (SELECT *, row_number() OVER (PARTITION BY flow, reporter, partner, unit, period, chapter
                                         ORDER BY level) AS coarsest
            FROM (SELECT ind.code AS flow, o.reporter, o.partner, o.unit, o.period,
                         substr(o.hs_code, 1, 2) AS chapter, length(o.hs_code) AS level,
                         sum(CAST(o.value AS REAL)) AS total
                  FROM observations o JOIN indicators ind ON ind.id = o.indicator_id
                  WHERE ind.code IN ('exports', 'imports', 're_exports', 're_imports')
                    AND o.reporter IN (SELECT country FROM parties) AND o.partner IN (SELECT country FROM parties)
                    AND o.hs_code IS NOT NULL
                  GROUP BY 1, 2, 3, 4, 5, 6, 7))
      WHERE coarsest = 1
      GROUP BY 1, 2, 3, 4, 5, 6
      ORDER BY 1, 2, 3, 4, 5, 6) t
"""


def section_case() -> str:
    """HS chapter -> section, as a CASE over ``chapter`` (from cooptrack's HS code table)."""
    from cooptrack import codes

    bounds: list[tuple[str, str, str]] = []  # (first chapter, last chapter, section)
    for n in range(1, 100):
        chapter = f"{n:02d}"
        found = codes.hs_section(chapter)
        section = found[0] if found else "?"
        if bounds and bounds[-1][2] == section and int(bounds[-1][1]) == n - 1:
            bounds[-1] = (bounds[-1][0], chapter, section)
        else:
            bounds.append((chapter, chapter, section))
    whens = " ".join(f"WHEN chapter BETWEEN '{a}' AND '{b}' THEN '{sec}'" for a, b, sec in bounds if sec != "?")
    return f"CASE {whens} ELSE '?' END"


def overview_sql(full: bool = False) -> str:
    sql = OVERVIEW_SQL + (FULL_EXTRA_SQL.replace("{section}", section_case()) if full else "")
    return " ".join(sql.split())


# -- servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    ready_path: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Any = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def command(self) -> str:
        shown = [str(Path(a).relative_to(ROOT)) if a.startswith(str(ROOT)) else a for a in self.argv]
        prefix = " ".join(f"{k}=…" for k in self.env)
        return (prefix + " " if prefix else "") + " ".join(shown)

    def start(self) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env={**os.environ, **self.env},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)

    def log_tail(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-2000:]

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.base + self.ready_path, timeout=10).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process (all its threads) so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


def cooptrack_server(db_url: str, port: int, cache: bool = True) -> Server:
    return Server(
        "cooptrack" if cache else UNCACHED,
        [str(BIN / "uvicorn"), "cooptrack_asgi:app", "--factory", "--app-dir", str(WEB_DIR), "--host", HOST,
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
        port, "/api/v1/programmes",
        {"COOPTRACK_BENCH_URL": db_url, "COOPTRACK_RESPONSE_CACHE": "on" if cache else "off"})


def datasette_server(path: Path, port: int) -> Server:
    # Immutable: the data is read-only here. suggest_facets off: no suggestion queries on table pages.
    # `datasette serve` runs uvicorn at log level info with its access log on; there is no switch for it.
    return Server(
        "Datasette",
        [str(BIN / "datasette"), "serve", "-i", str(path), "--host", HOST, "--port", str(port),
         "--setting", "sql_time_limit_ms", "10000", "--setting", "suggest_facets", "off"],
        port, "/-/databases.json")


# -- load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    endpoint: str  # "projects" or "overview"
    server: str
    url: str
    tool: str
    requests: int
    seconds: float
    errors: int  # non-2xx responses
    socket_errors: int  # connect/read/write errors and timeouts
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms_per_request: float  # server process CPU time per request
    load1: float  # 1-minute load average when the run started

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class LoadSettings:
    tool: str  # "wrk" or "httpx"
    connections: int
    threads: int
    warmup: float
    duration: float
    max_duration: float  # a run that completes under MIN_ROUNDS * connections requests is redone this long


def find_wrk(install: bool) -> str | None:
    """wrk on PATH; without it, ``apt-get install -y wrk`` (as root, when allowed); else None."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("wrk is not installed: trying `apt-get install -y wrk` (pass --no-install to skip) ...", flush=True)
        done = subprocess.run(["apt-get", "install", "-y", "wrk"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode == 0 and shutil.which("wrk"):
            return shutil.which("wrk")
        print(f"apt-get could not install wrk ({done.stderr.strip().splitlines()[-1:] or '?'}); "
              "falling back to the httpx load generator", flush=True)
    else:
        print("wrk is not installed and cannot be installed here (apt-get install -y wrk needs root); "
              "falling back to the httpx load generator", flush=True)
    return None


def run_wrk(wrk: str, url: str, s: LoadSettings, seconds: float) -> dict[str, Any]:
    argv = [wrk, "-t", str(s.threads), "-c", str(s.connections), "-d", f"{max(1, round(seconds))}s",
            "--timeout", "30s", "-s", str(WRK_SCRIPT), url]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
            return result
    raise RuntimeError(f"wrk gave no result for {url}:\n{done.stdout[-1000:]}\n{done.stderr[-1000:]}")


async def _httpx_load(url: str, s: LoadSettings, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=s.connections, max_keepalive_connections=s.connections)
    latencies: list[float] = []
    errors = socket_errors = 0
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        measure_from = started + s.warmup
        stop_at = measure_from + seconds

        async def worker() -> None:
            nonlocal errors, socket_errors
            while (t0 := time.perf_counter()) < stop_at:
                try:
                    response = await client.get(url)
                    await response.aread()
                    failed = not 200 <= response.status_code < 300
                except httpx.HTTPError:
                    failed, response = True, None
                t1 = time.perf_counter()
                if t0 >= measure_from and t1 <= stop_at:
                    latencies.append(t1 - t0)
                    if response is None:
                        socket_errors += 1
                    elif failed:
                        errors += 1

        await asyncio.gather(*(worker() for _ in range(s.connections)))
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6 if latencies else 0.0

    return {"requests": len(latencies), "duration_us": seconds * 1e6, "status_errors": errors,
            "connect": 0, "read": socket_errors, "write": 0, "timeout": 0, "p50": pct(50), "p95": pct(95),
            "p99": pct(99), "max": latencies[-1] * 1e6 if latencies else 0.0}


def settle(server: Server, limit: float = 60.0) -> None:
    """Wait until the server has finished what an earlier run left in flight (wrk stops waiting for
    answers when its time is up, the server does not stop working on them): until it uses under
    5% of a core over half a second."""
    deadline = time.monotonic() + limit
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.cpu_seconds()
        if now - before < 0.025:
            return
        before = now


def load(endpoint: str, server: Server, label: str, url: str, s: LoadSettings, wrk: str | None) -> Load:
    load1 = os.getloadavg()[0]

    def measure(seconds: float) -> tuple[dict[str, Any], float]:
        """A warm-up then a measured run of ``seconds``; the result and the server's CPU seconds."""
        settle(server)
        if wrk:
            run_wrk(wrk, url, s, s.warmup)  # discarded
            settle(server)
            cpu0 = server.cpu_seconds()
            result = run_wrk(wrk, url, s, seconds)
        else:
            # The warm-up is inside the same client run: CPU time over both, per measured request
            # (a little high).
            cpu0 = server.cpu_seconds()
            result = asyncio.run(_httpx_load(url, s, seconds))
        return result, server.cpu_seconds() - cpu0

    r, cpu = measure(s.duration)
    if r["requests"] < MIN_ROUNDS * s.connections and s.max_duration > s.duration:
        # Slow answers: with every connection waiting on one, a short run sees a handful of
        # requests complete, or none; measure again for longer.
        print(f"  ({endpoint}, {label}: {r['requests']} requests in {s.duration:g} s; measuring again "
              f"for {s.max_duration:g} s)", flush=True)
        r, cpu = measure(s.max_duration)
    requests = int(r["requests"])
    result = Load(
        endpoint, label, url, "wrk" if wrk else "httpx", requests, r["duration_us"] / 1e6,
        int(r["status_errors"]), int(r["connect"] + r["read"] + r["write"] + r["timeout"]),
        r["p50"] / 1000, r["p95"] / 1000, r["p99"] / 1000, r["max"] / 1000,
        cpu * 1000 / requests if requests else 0.0, load1)
    print(f"  {endpoint:9} {label:19} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
          f"p95 {result.p95_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  errors {result.errors + result.socket_errors}"
          f"  server CPU {result.cpu_ms_per_request:.2f} ms/req  (load {load1:.2f})", flush=True)
    return result


# -- the dashboard page ----------------------------------------------------------------------------


@dataclass
class PageTiming:
    url: str
    runs_ms: list[float] = field(default_factory=list)
    errors: int = 0
    skipped: str | None = None  # why it was not measured

    def pct(self, p: float) -> float:
        ordered = sorted(self.runs_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def time_page(base: str, path: str, requests: int, seconds: float, warmup: int = 3) -> PageTiming:
    """Sequential GETs of an HTML page over one keep-alive connection, timed from the client:
    ``requests`` of them, or as many as fit in ``seconds`` (at least 20)."""
    timing = PageTiming(path)
    with httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"}) as client:
        first = client.get(path)
        kind = first.headers.get("content-type", "")
        if first.status_code != 200 or "text/html" not in kind:
            timing.skipped = f"{path} answered {first.status_code} {kind or '(no content type)'}"
            return timing
        for _ in range(warmup):
            client.get(path)
        stop_at = time.monotonic() + seconds
        for i in range(requests):
            if i >= 20 and time.monotonic() > stop_at:
                break
            t0 = time.perf_counter()
            response = client.get(path)
            timing.runs_ms.append((time.perf_counter() - t0) * 1000)
            timing.errors += response.status_code != 200
    print(f"  dashboard {path}: p50 {timing.pct(50):.1f} ms  p95 {timing.pct(95):.1f} ms  "
          f"max {max(timing.runs_ms):.1f} ms ({len(timing.runs_ms)} requests, {timing.errors} errors)", flush=True)
    return timing


# -- checks before loading -------------------------------------------------------------------------


def check_same_projects(coop: dict[str, Any], ds: dict[str, Any]) -> tuple[int, list[str]]:
    coop_codes = [item["code"] for item in coop["items"]]
    column = ds["columns"].index("code")
    ds_codes = [row[column] for row in ds["rows"]]
    if coop_codes != ds_codes:
        raise SystemExit(f"cooptrack and Datasette list different projects:\n  {coop_codes}\n  {ds_codes}")
    if coop["total"] != ds["filtered_table_rows_count"]:
        raise SystemExit(f"cooptrack counts {coop['total']} projects, Datasette {ds['filtered_table_rows_count']}")
    if len(coop_codes) != 50:
        raise SystemExit(f"expected a full page of 50 projects, got {len(coop_codes)}")
    return int(coop["total"]), coop_codes


def check_same_overview(coop: dict[str, Any], rows: list[dict[str, Any]], full: bool = False) -> None:
    """Datasette's per-status counts and per-currency sums equal cooptrack's buckets; as many
    latest indicator values on both sides; with ``full``, as many timeline events, series points
    and HS section figures too."""
    counts: dict[str, int] = {}
    sums: dict[tuple[str, str], float] = {}
    for r in rows:
        if r["kind"] == "status":
            counts[r["key"]] = counts.get(r["key"], 0) + r["projects"]
            if r["currency"] is not None:
                sums[(r["key"], r["currency"])] = r["amount"]
    theirs = {b["key"]: b["count"] for b in coop["by_status"]}
    if counts != theirs:
        raise SystemExit(f"status counts differ: cooptrack {theirs}, Datasette SQL {counts}")
    for b in coop["by_status"]:
        for currency, amount in b["values"].items():
            other = sums.get((b["key"], currency))
            exact = Decimal(str(amount))
            if other is None or abs(Decimal(str(other)) - exact) > abs(exact) * Decimal("1e-9") + 1:
                raise SystemExit(f"{b['key']} {currency}: cooptrack {amount}, Datasette SQL {other}")
    latest = sum(1 for r in rows if r["kind"] == "latest")
    if latest != len(coop["indicators"]):
        raise SystemExit(f"latest indicator values: cooptrack {len(coop['indicators'])}, Datasette SQL {latest}")
    if full:
        parts = {r["kind"]: r["projects"] for r in rows if r["kind"] in ("timeline", "series", "trade")}
        ours = {"timeline": len(coop["timeline"]),
                "series": sum(len(x["points"]) for x in coop["series"]),
                "trade": sum(1 for b in coop["trade_sections"] for sec in b["sections"] for v in sec["values"]
                             if v is not None)}
        if parts != ours:
            raise SystemExit(f"timeline events, series points, HS section figures: cooptrack {ours}, "
                             f"Datasette full SQL {parts}")


# -- report ----------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def versions(wrk: str | None) -> dict[str, str]:
    found = {name: _version(name) for name in ("cooptrack", "datasette", "uvicorn", "fastapi", "starlette",
                                               "sqlalchemy", "httpx")}
    found["SQLite"] = sqlite3.sqlite_version
    found["Python"] = platform.python_version()
    if wrk:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        words = (out.stdout or out.stderr).split()
        found["wrk"] = words[1] if len(words) > 1 else "?"
    return found


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _loadavg(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def mean_rps(loads: list[Load], endpoint: str, server: str) -> float:
    chosen = [x.rps for x in loads if x.endpoint == endpoint and x.server == server]
    return statistics.mean(chosen) if chosen else 0.0


@dataclass
class Run:
    started: datetime
    url: str
    programme: str
    programme_id: int
    projects: int
    implemented: int
    as_of: date
    settings: LoadSettings
    rounds: int
    page_requests: int
    commands: list[str]
    database_name: str
    versions: dict[str, str]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    urls: dict[str, str] = field(default_factory=dict)
    loads: list[Load] = field(default_factory=list)
    pages: list[PageTiming] = field(default_factory=list)
    cold_pages: list[PageTiming] = field(default_factory=list)


def report(run: Run) -> str:
    m = overview_bench.machine()
    v = run.versions
    s = run.settings
    tool = (f"wrk {v.get('wrk', '?')} (`-t{s.threads} -c{s.connections} --timeout 30s`, only a `done()` "
            "Lua reporter)" if s.tool == "wrk" else f"httpx.AsyncClient ({s.connections} workers, keep-alive)")
    order = "cooptrack then Datasette" + (", the order alternating by round" if run.rounds > 1 else "")
    lines = [
        START,
        "## Web: cooptrack's API and dashboard against Datasette, same register, same run",
        "",
        f"- Date: {run.started.isoformat(timespec='seconds')}; written by `bench/web/run.py` "
        "(see `bench/web/README.md`)",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; load average (1 / 5 / 15 min) "
        f"{_loadavg(run.load_before)} before, {_loadavg(run.load_after)} after",
        f"- Versions: cooptrack {v['cooptrack']}, Datasette {v['datasette']}, uvicorn {v['uvicorn']}, "
        f"FastAPI {v['fastapi']}, Starlette {v['starlette']}, SQLAlchemy {v['sqlalchemy']}, SQLite {v['SQLite']}, "
        f"Python {v['Python']}",
        f"- Register: `{overview_bench._redact(run.url)}` ({run.database_name!r} in Datasette's URLs), "
        f"programme `{run.programme}` (id {run.programme_id}): {run.projects:,} projects, "
        f"{run.implemented:,} implemented",
        f"- Load: {tool}, each server alone on loopback, {s.warmup:g} s warm-up then {s.duration:g} s measured "
        f"(redone for {s.max_duration:g} s when under {MIN_ROUNDS} requests per connection completed), "
        f"{run.rounds} round(s), {order}; before each warm-up and each measured run the server is left to finish "
        "what is still in flight. Both servers are single processes on the same 2 cores as the load "
        "generator. Errors: non-2xx responses plus socket errors and timeouts.",
        f"- cooptrack: `{run.commands[0]}`",
        f"- Datasette: `{run.commands[1]}` (immutable; `suggest_facets` off server-wide, so the table "
        "page runs no facet-suggestion queries: in Datasette 0.65 `?_facet_size=0` only trims facet "
        "lists and would not stop them; the filtered row count is still computed, as cooptrack "
        "computes its total; Datasette keeps its uvicorn access log, which it has no switch for)",
        "",
        "### Throughput",
        "",
        "| endpoint | server | req/s | requests in s | p50 ms | p95 ms | p99 ms | max ms | errors "
        "| server CPU ms/req | load 1 min |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in run.loads:
        lines.append(f"| {x.endpoint} | {x.server} | {x.rps:,.1f} | {x.requests:,} in {x.seconds:.1f} | "
                     f"{x.p50_ms:.1f} | {x.p95_ms:.1f} | {x.p99_ms:.1f} | {x.max_ms:.1f} | "
                     f"{x.errors + x.socket_errors} | {x.cpu_ms_per_request:.2f} | {x.load1:.2f} |")
    lines += ["", "URLs:", ""]
    for key, url in run.urls.items():
        lines.append(f"- {key}: `{url}`")
    lines += ["", "### Dashboard page (sequential requests over one keep-alive connection, timed from the client)", ""]
    if any(p.runs_ms for p in run.pages):
        lines += ["| URL | requests | p50 ms | p95 ms | p99 ms | max ms | errors |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
    for p in run.pages:
        if p.skipped:
            lines.append(f"- `{p.url}`: not measured ({p.skipped})")
        else:
            lines.append(f"| `{p.url}` | {len(p.runs_ms)} | {p.pct(50):.1f} | {p.pct(95):.1f} | {p.pct(99):.1f} | "
                         f"{max(p.runs_ms):.1f} | {p.errors} |")
    for p in run.cold_pages:
        if p.runs_ms:
            lines.append(f"| `{p.url}`, cache off (every request computes the dashboard and renders it) | "
                         f"{len(p.runs_ms)} | {p.pct(50):.1f} | {p.pct(95):.1f} | {p.pct(99):.1f} | "
                         f"{max(p.runs_ms):.1f} | {p.errors} |")
    lines += ["", "How cooptrack answers: read API responses are kept in a response cache and the dashboard's "
              "data in a memo, each valid while the parts of the data it was computed from are unchanged (every "
              "write marks the parts it touched in `data_changes`, read on every request; see "
              "`src/cooptrack/store/changes.py`); the page itself is rendered on every request. The rows marked "
              "*cache off* (`COOPTRACK_RESPONSE_CACHE=off`) show what every request costs when the answer must be "
              "computed, as after a change to the data it depends on."]

    projects = (mean_rps(run.loads, "projects", "cooptrack"), mean_rps(run.loads, "projects", "Datasette"))
    overview = (mean_rps(run.loads, "overview", "cooptrack"), mean_rps(run.loads, "overview", "Datasette"))
    overview_full = (overview[0], mean_rps(run.loads, "overview", FULL))
    lines += ["", "### Targets", "", "| target | measured | |", "|---|---|---|"]
    for endpoint, label, (ours, theirs), goal in (
            ("projects", "projects list at least 10x Datasette's req/s", projects, PROJECTS_RATIO_TARGET),
            ("overview", "programme overview at least 2x Datasette's req/s (the SQL below)", overview,
             OVERVIEW_RATIO_TARGET),
            ("overview", "programme overview at least 2x Datasette's req/s (the full SQL below: also timeline, "
             "series and HS sections, as the endpoint returns)", overview_full, OVERVIEW_RATIO_TARGET)):
        ratio = ours / theirs if theirs else 0.0
        errors = sum(x.errors + x.socket_errors for x in run.loads if x.endpoint == endpoint)
        ok = bool(theirs) and ratio >= goal and errors == 0
        lines.append(f"| {label} | {ours:,.1f} vs {theirs:,.1f} req/s = **{ratio:.2f}x** | {_mark(ok)} |")
    measured = [p for p in run.pages if p.runs_ms]
    if measured and len(measured) == len(run.pages):
        worst = max(p.pct(95) for p in measured)
        cell = ", ".join(f"{p.pct(95):.1f} ms" + (" with as_of" if "as_of" in p.url else "") for p in measured)
        ok = worst < DASHBOARD_P95_TARGET_MS and not any(p.errors for p in measured)
        lines.append(f"| dashboard page p95 under 150 ms | {cell} | {_mark(ok)} |")
    else:
        why = "; ".join(p.skipped for p in run.pages if p.skipped) or "not run"
        lines.append(f"| dashboard page p95 under 150 ms | not measured ({why}) | **not met** |")
    high = max(run.load_before[0], run.load_after[0]) > (os.cpu_count() or 2) * 0.5
    if high:
        lines += ["", f"Note: the machine was busy (load average {_loadavg(run.load_before)} before, "
                  f"{_loadavg(run.load_after)} after): the figures are noisier than on an idle machine."]
    lines += ["", "### The aggregate SQL given to Datasette (`:programme` from the query string)", "", "```sql",
              OVERVIEW_SQL.strip(), "```", "", "The full SQL appends:", "", "```sql",
              FULL_EXTRA_SQL.strip().replace("{section}", "CASE WHEN chapter BETWEEN '01' AND '05' THEN 'I' ... "
                                             "ELSE '?' END"),
              "```", END]
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise SystemExit(f"--url must be a SQLite file (sqlite:///path), not {url}")
    return Path(parsed.database).resolve()


def checkpoint(path: Path) -> None:
    """Datasette's immutable mode reads the main file only: fold any write-ahead log into it."""
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def register_facts(path: Path, programme: str | None) -> tuple[str, int, int, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        row = (conn.execute("SELECT code, id FROM programmes WHERE code = ?", (programme,)).fetchone() if programme
               else conn.execute("SELECT code, id FROM programmes ORDER BY id LIMIT 1").fetchone())
        if row is None:
            raise SystemExit(f"programme {programme or '(any)'} is not in the register")
        code, pid = row
        total, implemented = conn.execute(
            "SELECT count(*), sum(status = 'implemented') FROM projects WHERE programme_id = ?", (pid,)).fetchone()
    return str(code), int(pid), int(total), int(implemented or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cooptrack's web API and dashboard against Datasette.")
    parser.add_argument("--url", default=overview_bench.DEFAULT_URL, help="SQLite register (default: %(default)s)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the register even if present")
    overview_bench.add_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no generator progress lines")
    parser.add_argument("--programme", help="programme code (default: the first one)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="dashboard as_of (default: history midpoint)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (default: %(default)s)")
    parser.add_argument("--max-duration", type=float, default=60.0,
                        help=f"measured seconds of a run redone because it completed under {MIN_ROUNDS} requests "
                        "per connection (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="load rounds per server (default: %(default)s)")
    parser.add_argument("--page-requests", type=int, default=200,
                        help="sequential dashboard requests (default: %(default)s)")
    parser.add_argument("--page-seconds", type=float, default=90.0,
                        help="stop the dashboard requests after this long, past 20 (default: %(default)s)")
    parser.add_argument("--tool", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator (default: wrk if available, else httpx)")
    parser.add_argument("--no-install", action="store_true", help="do not try `apt-get install -y wrk`")
    parser.add_argument("--results", type=Path, default=overview_bench.RESULTS,
                        help="results file (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.connections < 1 or args.duration <= 0 or args.page_requests < 1:
        parser.error("--rounds, --connections, --duration and --page-requests must be positive")

    started = datetime.now(UTC)
    path = sqlite_path(args.url)
    opts = overview_bench.Options(seed=args.seed, programmes=args.programmes, projects=args.projects,
                                  observations=args.observations, quiet=args.quiet)
    overview_bench.prepare(overview_bench.Backend("SQLite", args.url), opts, args.regenerate)
    checkpoint(path)
    code, pid, total, implemented = register_facts(path, args.programme)
    store = overview_bench.Store(args.url)
    try:
        as_of = args.as_of or overview_bench.history_midpoint(store)
    finally:
        store.dispose()

    wrk = None
    if args.tool in ("auto", "wrk"):
        wrk = find_wrk(install=not args.no_install)
        if wrk is None and args.tool == "wrk":
            raise SystemExit("wrk is not available (apt-get install -y wrk)")
    settings = LoadSettings("wrk" if wrk else "httpx", args.connections, args.threads, args.warmup, args.duration,
                            args.max_duration)

    coop = cooptrack_server(f"sqlite:///{path}", free_port())
    cold = cooptrack_server(f"sqlite:///{path}", free_port(), cache=False)
    ds = datasette_server(path, free_port())
    run = Run(started, args.url, code, pid, total, implemented, as_of, settings, args.rounds, args.page_requests,
              [coop.command(), cold.command(), ds.command()], path.stem, versions(wrk), os.getloadavg())
    print(f"load average before: {_loadavg(run.load_before)}", flush=True)
    try:
        for server in (coop, cold, ds):
            server.start()
        for server in (coop, cold, ds):
            server.wait_ready()
        names = [d["name"] for d in httpx.get(ds.base + "/-/databases.json", timeout=30).json()]
        if path.stem not in names:
            raise SystemExit(f"Datasette serves {names}, not {path.stem!r}")
        db = path.stem
        paths = {
            ("projects", "cooptrack"): "/api/v1/projects?" + urlencode(
                {"programme": code, "status": "implemented", "page_size": 50}),
            ("projects", UNCACHED): "/api/v1/projects?" + urlencode(
                {"programme": code, "status": "implemented", "page_size": 50}),
            ("overview", UNCACHED): f"/api/v1/programmes/{quote(code, safe='')}/overview",
            ("projects", "Datasette"): f"/{db}/projects.json?" + urlencode(
                {"programme_id": pid, "status": "implemented", "_size": 50, "_sort": "code"}),
            ("overview", "cooptrack"): f"/api/v1/programmes/{quote(code, safe='')}/overview",
            ("overview", "Datasette"): f"/{db}.json?" + urlencode(
                {"sql": overview_sql(), "programme": code, "_shape": "array"}, quote_via=quote),
            ("overview", FULL): f"/{db}.json?" + urlencode(
                {"sql": overview_sql(full=True), "programme": code, "_shape": "array"}, quote_via=quote),
        }
        base = {"cooptrack": coop.base, UNCACHED: cold.base, "Datasette": ds.base, FULL: ds.base}
        servers = {"cooptrack": coop, UNCACHED: cold, "Datasette": ds, FULL: ds}
        got = {}
        for (endpoint, name), p in paths.items():
            response = httpx.get(base[name] + p, timeout=60)
            if response.status_code != 200:
                raise SystemExit(f"{name} {p} answered {response.status_code}: {response.text[:500]}")
            got[(endpoint, name)] = response.json()
            run.urls[f"{endpoint}, {name}"] = base[name] + p
        check_same_projects(got[("projects", "cooptrack")], got[("projects", "Datasette")])
        check_same_overview(got[("overview", "cooptrack")], got[("overview", "Datasette")])
        check_same_overview(got[("overview", "cooptrack")], got[("overview", FULL)], full=True)
        print(f"checked: the same 50 implemented projects of {code} in the same order, and the same per-status "
              "counts and sums (and, in the full SQL, as many timeline events, series points and HS section "
              "figures) on both servers", flush=True)

        plan: list[tuple[str, list[str]]] = [("projects", ["cooptrack", UNCACHED, "Datasette"]),
                                             ("overview", ["cooptrack", UNCACHED, "Datasette", FULL])]
        for endpoint, labels in plan:
            for i in range(args.rounds):
                for name in labels if i % 2 == 0 else labels[::-1]:
                    run.loads.append(load(endpoint, servers[name], name, base[name] + paths[(endpoint, name)],
                                          settings, wrk))
        page = f"/programmes/{quote(code, safe='')}"
        for p in (page, f"{page}?as_of={as_of.isoformat()}"):
            run.pages.append(time_page(coop.base, p, args.page_requests, args.page_seconds))
            if run.pages[-1].skipped:
                print(f"  dashboard: not measured: {run.pages[-1].skipped}", flush=True)
        for p in (page, f"{page}?as_of={as_of.isoformat()}"):  # every request computes and renders
            run.cold_pages.append(time_page(cold.base, p, max(20, args.page_requests // 10), args.page_seconds))
    finally:
        for server in (coop, cold, ds):
            server.stop()
    run.load_after = os.getloadavg()
    section = report(run)
    write_results(section, args.results)
    print()
    print(section.replace(START + "\n", "").replace(END + "\n", ""), end="")
    print(f"\n(written to {args.results})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
