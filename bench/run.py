"""The overview benchmark: generate a large register (unless one with the right counts is
already there), time ``programme_overview`` on it, write ``bench/RESULTS.md``.

    make bench                                   # or: .venv/bin/python bench/run.py
    COOPTRACK_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench make bench

The targets from the issue: the overview under 200 ms on SQLite (median of 5 runs) and the
generator at least 50,000 rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cooptrack.errors import CooptrackError
from cooptrack.services.context import Context
from cooptrack.services.overview import programme_overview
from cooptrack.store.db import Store
from cooptrack.store.migrate import upgrade
from cooptrack.store.models import Programme, StatusEvent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import (  # noqa: E402  (bench/ is not a package)
    BENCH_DIR,
    DEFAULT_URL,
    TABLE_ORDER,
    Options,
    add_arguments,
    count_rows,
    expected_counts,
    generate,
)

RESULTS = BENCH_DIR / "RESULTS.md"
# Generator figures of earlier runs, by database URL: read when a register is reused. The name
# matches the ``bench/*.db-*`` line of .gitignore.
RUNS_FILE = BENCH_DIR / "generator.db-runs.json"
POSTGRES_ENV = "COOPTRACK_BENCH_POSTGRES_URL"
START = "<!-- bench/run.py: overview benchmark (this section is rewritten on every run) -->"
END = "<!-- /bench/run.py: overview benchmark -->"
OVERVIEW_TARGET_MS = 200.0
GENERATOR_TARGET = 50_000


@dataclass
class Timing:
    as_of: date | None
    runs_ms: list[float]
    projects: int  # projects the overview counted

    @property
    def median(self) -> float:
        return statistics.median(self.runs_ms)


@dataclass
class Backend:
    name: str  # "SQLite" or "PostgreSQL"
    url: str
    counts: dict[str, int] = field(default_factory=dict)
    generator: dict[str, Any] | None = None  # rows, seconds, rows_per_second, at, seed
    generated_now: bool = False
    programme: str = ""
    timings: list[Timing] = field(default_factory=list)
    server_version: str | None = None
    error: str | None = None


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# -- generator runs --------------------------------------------------------------------------------


def _load_runs() -> dict[str, Any]:
    try:
        data = json.loads(RUNS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_run(url: str, record: dict[str, Any]) -> None:
    runs = _load_runs()
    runs[_redact(url)] = record
    RUNS_FILE.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _old_ids(url: str) -> bool:
    """Whether the register has project ids in upper case (generated before they were made valid)."""
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            upper = conn.exec_driver_sql("SELECT 1 FROM projects WHERE substr(code, 1, 1) = 'P' LIMIT 1").first()
            return upper is not None
    except Exception:
        return False
    finally:
        store.dispose()


def prepare(backend: Backend, opts: Options, regenerate: bool) -> None:
    """Generate the register unless one with the right counts (and seed) is there already."""
    store = Store(backend.url)
    try:
        counts = count_rows(store)
    finally:
        store.dispose()
    expected = expected_counts(opts)
    if counts and _old_ids(backend.url):
        counts = {}  # made by a generator whose project ids the services refuse to edit: rebuild it
    previous = _load_runs().get(_redact(backend.url))
    same_seed = previous is None or previous.get("seed") == opts.seed
    if (
        not regenerate
        and same_seed
        and counts
        and all(counts.get(k) == v for k, v in expected.items())
    ):
        backend.counts = counts
        backend.generator = previous
        reused = Store(backend.url)
        try:
            upgrade(reused)  # a register made by an older cooptrack gets the current migrations
        finally:
            reused.dispose()
        print(
            f"{backend.name}: reusing the register in {_redact(backend.url)} "
            "(pass --regenerate to rebuild)"
        )
        return
    print(f"{backend.name}: generating into {_redact(backend.url)} ...", flush=True)
    result = generate(
        Options(
            url=backend.url,
            seed=opts.seed,
            programmes=opts.programmes,
            projects=opts.projects,
            observations=opts.observations,
            quiet=opts.quiet,
        )
    )
    backend.counts = result.counts
    backend.generated_now = True
    backend.generator = {
        "rows": result.rows,
        "seconds": round(result.seconds, 2),
        "rows_per_second": round(result.rows_per_second),
        "seed": opts.seed,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    _save_run(backend.url, backend.generator)
    print(
        f"{backend.name}: {result.rows:,} rows in {result.seconds:.1f} s = "
        f"{result.rows_per_second:,.0f} rows/s"
    )


# -- timing ----------------------------------------------------------------------------------------


def history_midpoint(store: Store) -> date:
    """The day halfway between the first and the last status event of the register."""
    with store.read() as session:
        first, last = session.execute(
            select(func.min(StatusEvent.effective_start), func.max(StatusEvent.effective_start))
        ).one()
    if first is None or last is None:
        return date.today()
    return first + timedelta(days=(last - first).days // 2)


def time_overview(store: Store, code: str, as_of: date | None, runs: int) -> Timing:
    """One warm-up, then ``runs`` timed calls, each in its own read transaction."""

    def once() -> tuple[float, int]:
        with store.read() as session:
            ctx = Context(session, actor="bench")
            started = time.perf_counter()
            overview = programme_overview(ctx, code, as_of)
            elapsed = time.perf_counter() - started
        return elapsed * 1000, overview.projects_total

    once()
    results = [once() for _ in range(runs)]
    return Timing(as_of, [ms for ms, _ in results], results[-1][1])


def measure(backend: Backend, programme: str | None, as_of: date | None, runs: int) -> None:
    store = Store(backend.url)
    try:
        if store.dialect == "postgresql":
            with store.engine.connect() as conn:
                backend.server_version = str(conn.execute(text("SHOW server_version")).scalar_one())
        with store.read() as session:
            code = (
                programme
                or session.scalars(select(Programme.code).order_by(Programme.id).limit(1)).first()
            )
        if code is None:
            raise CooptrackError("the register has no programmes")
        backend.programme = code
        day = as_of or history_midpoint(store)
        for when in (None, day):
            timing = time_overview(store, code, when, runs)
            backend.timings.append(timing)
            print(
                f"{backend.name}: overview {code} as_of={when or '-'}: "
                f"median {timing.median:.1f} ms "
                f"(min {min(timing.runs_ms):.1f}, max {max(timing.runs_ms):.1f}; "
                f"{timing.projects:,} projects)",
                flush=True,
            )
    finally:
        store.dispose()


# -- report ----------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown CPU"
    ram = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        cpu = platform.processor() or cpu
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count() or "?"),
        "ram": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _generator_cell(b: Backend) -> str:
    g = b.generator
    if not g:
        return "not measured (register reused; run with --regenerate)"
    cell = f"{g['rows_per_second']:,} rows/s ({g['rows']:,} rows in {g['seconds']:.1f} s)"
    return (
        cell
        if b.generated_now
        else f"{cell}, measured {g.get('at', '?')} when the register was built"
    )


def report(backends: list[Backend], opts: Options, runs: int, started: datetime) -> str:
    m = machine()
    pg = next((b for b in backends if b.name == "PostgreSQL" and b.server_version), None)
    done = [b for b in backends if not b.error]
    lines = [
        START,
        "## Programme overview on a large register",
        "",
        f"- Date: {started.isoformat(timespec='seconds')}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; Python {m['python']}; "
        f"SQLite {m['sqlite']}" + (f"; PostgreSQL {pg.server_version}" if pg else ""),
        f"- Register: `bench/generate.py --seed {opts.seed} --programmes {opts.programmes} "
        f"--projects {opts.projects} --observations {opts.observations}`",
        f"- Timing: `programme_overview(ctx, code)` and `programme_overview(ctx, code, as_of)`, "
        f"each in a fresh read transaction; {runs} runs after one warm-up.",
        "- Planner statistics: none on SQLite (cooptrack never runs ANALYZE, so neither does "
        "the generator); ANALYZE after the load on PostgreSQL, as autovacuum would.",
        "",
        "### Rows",
        "",
        "| table | " + " | ".join(b.name for b in done) + " |",
        "|---|" + "---:|" * len(done),
    ]
    for table in TABLE_ORDER:
        lines.append(
            f"| {table} | " + " | ".join(f"{b.counts.get(table, 0):,}" for b in done) + " |"
        )
    lines.append("| **total** | " + " | ".join(f"{sum(b.counts.values()):,}" for b in done) + " |")
    lines += ["", "### Generator", "", "| database | rows written / wall second |", "|---|---|"]
    lines += [f"| {b.name} | {_generator_cell(b)} |" for b in done]
    lines += [
        "",
        "### Overview",
        "",
        "| database | programme | as_of | projects | median ms | min ms | max ms |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for b in done:
        for t in b.timings:
            lines.append(
                f"| {b.name} | `{b.programme}` | {t.as_of or '(none)'} | {t.projects:,} | "
                f"{t.median:.1f} | {min(t.runs_ms):.1f} | {max(t.runs_ms):.1f} |"
            )
    for b in backends:
        if b.error:
            lines += ["", f"{b.name} ({_redact(b.url)}) was not measured: {b.error}"]

    lines += ["", "### Targets", "", "| target | measured | |", "|---|---|---|"]
    sqlite_b = next((b for b in done if b.name == "SQLite"), None)
    if sqlite_b and sqlite_b.timings:
        medians = ", ".join(
            f"{t.median:.1f} ms " + (f"with as_of {t.as_of}" if t.as_of else "without as_of")
            for t in sqlite_b.timings
        )
        ok = all(t.median < OVERVIEW_TARGET_MS for t in sqlite_b.timings)
        lines.append(
            f"| overview under 200 ms on SQLite (median of {runs}) | {medians} | {_mark(ok)} |"
        )
    else:
        lines.append(
            f"| overview under 200 ms on SQLite (median of {runs}) | not measured | **not met** |"
        )
    if sqlite_b and sqlite_b.generator:
        rate = sqlite_b.generator["rows_per_second"]
        lines.append(
            f"| generator at least 50,000 rows/s | {rate:,} rows/s on SQLite | "
            f"{_mark(rate >= GENERATOR_TARGET)} |"
        )
    else:
        lines.append(
            "| generator at least 50,000 rows/s | not measured (register reused) | not known |"
        )
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(section: str, path: Path = RESULTS, start: str = START, end: str = END) -> None:
    """Replace a benchmark's section of RESULTS.md, between its ``start`` and ``end`` markers (or
    add it), keeping everything else."""
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = (
            "# Benchmark results\n\nWritten by the scripts in `bench/`; see `bench/README.md`.\n"
        )
    if start in current and end in current:
        before, rest = current.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = before + section + ("\n" + after if after else "")
    else:
        new = current.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


# -- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time programme_overview on a large generated register."
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="rebuild the register(s) even if present"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="SQLite register (default: %(default)s)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(POSTGRES_ENV),
        help=f"PostgreSQL register, also timed (default: ${POSTGRES_ENV}, if set)",
    )
    add_arguments(parser)
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs after the warm-up (default: %(default)s)"
    )
    parser.add_argument("--programme", help="programme code to time (default: the first one)")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="as_of date (default: the middle of the generated status history)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="results file (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no generator progress lines")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    opts = Options(
        seed=args.seed,
        programmes=args.programmes,
        projects=args.projects,
        observations=args.observations,
        quiet=args.quiet,
    )
    started = datetime.now(UTC)

    backends = [Backend("SQLite", args.url)]
    if args.postgres_url:
        backends.append(Backend("PostgreSQL", args.postgres_url))
    failed = False
    for backend in backends:
        try:
            prepare(backend, opts, args.regenerate)
            measure(backend, args.programme, args.as_of, args.runs)
        except (SQLAlchemyError, CooptrackError) as exc:
            backend.error = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
            print(f"{backend.name}: failed: {backend.error}", file=sys.stderr)
            failed = True

    section = report(backends, opts, args.runs, started)
    write_results(section, args.results)
    print()
    print(section.replace(START + "\n", "").replace(END + "\n", ""), end="")
    print(f"\n(written to {args.results})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
