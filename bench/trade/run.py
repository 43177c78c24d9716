"""UN Comtrade import speed: rows per second of `import_trade_file` on a large generated
Comtrade+ CSV into a fresh SQLite database, beside a bare `csv` module pass over the same file
(the peer), in the same run. See bench/trade/README.md.

    .venv/bin/python bench/trade/run.py                 # 500,000 rows, 3 runs, writes bench/RESULTS.md
    .venv/bin/python bench/trade/run.py --rows 100000 --runs 1 --no-write
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import platform
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cooptrack.services.context import Context
from cooptrack.services.trade import import_trade_file
from cooptrack.store.db import Store
from cooptrack.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared" / "data" / "comtrade" / "comtradeplus-api-csv" / \
    "THA_imports_HS8542_by_partner_2014-2024.csv"
RESULTS = REPO / "bench" / "RESULTS.md"
START, END = "<!-- trade:start -->", "<!-- trade:end -->"
TARGET = 100_000  # rows per second, from the issue

# Variations of the sample's 1,178 rows that keep every figure distinct: the years shifted by
# 11 (the sample spans 11 years), the four flows, fifteen HS 2022 headings.
COMMODITIES = (b"8542", b"8541", b"8471", b"8473", b"8517", b"8703", b"2709", b"7108", b"3004", b"8708", b"8443",
               b"9013", b"8504", b"8536", b"8544")
FLOWS = ((b"M", b"Import"), (b"X", b"Export"), (b"RM", b"Re-import"), (b"RX", b"Re-export"))


def generate(path: Path, rows: int) -> int:
    """Write a Comtrade+ CSV of ``rows`` data rows made from the real sample (Latin-1, quoted,
    trailing commas, as the sample is). Returns the number of rows written."""
    lines = SAMPLE.read_bytes().split(b"\n")
    header, body = lines[0], [line for line in lines[1:] if line.strip()]
    written = 0
    with path.open("wb") as out:
        out.write(header + b"\n")
        for shift, (flow, label), commodity in itertools.product(range(100), FLOWS, COMMODITIES):
            for line in body:
                if written >= rows:
                    return written
                cells = line.split(b'","')  # cells[0] is '"C'
                year = str(int(cells[3]) + 11 * shift).encode()
                cells[2], cells[3], cells[5] = year + b"0101", year, year
                cells[9], cells[10], cells[20] = flow, label, commodity
                out.write(b'","'.join(cells) + b"\n")
                written += 1
    return written


def peer(path: Path) -> int:
    """The bare csv module over the same file: the least any CSV import in Python can cost."""
    n = 0
    with path.open(encoding="latin-1", newline="") as fh:
        for _ in csv.reader(fh):
            n += 1
    return n - 1


def children_cpu() -> float:
    """CPU seconds of the ended child processes (the import's reading process) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_once(path: Path, folder: Path, dry_run: bool) -> tuple[dict[str, int], float, float, float]:
    """One import into a fresh, migrated SQLite file: the counts, wall seconds, and CPU seconds of
    this process and of the reading process (0 when the file was read here); the migration
    before it not counted."""
    db = folder / "bench-trade.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    upgrade(store)
    try:
        started, cpu, reader = time.perf_counter(), time.process_time(), children_cpu()
        with store.write() as session:
            result = import_trade_file(Context(session, "bench"), path, dry_run=dry_run)
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu  # the commit included
        reading = children_cpu() - reader
    finally:
        store.dispose()
    assert result.report.valid, result.report.as_dict()["findings"][:3]
    return result.summary, elapsed, used, reading


def insert_alone(path: Path, folder: Path) -> tuple[int, float]:
    """The insert by itself: the rows the import would write (taken from a dry run), written with
    the import's own INSERT into a fresh database, commit included. The floor under the import."""
    from cooptrack.services import trade, trade_checks
    from cooptrack.store.models import Source

    rows: list[tuple[Any, ...]] = []
    original = trade_checks.Checker.flush
    trade_checks.Checker.flush = lambda self, batch: rows.extend(batch)  # type: ignore[method-assign]
    try:
        import_once(path, folder, dry_run=True)
    finally:
        trade_checks.Checker.flush = original  # type: ignore[method-assign]
    db = folder / "bench-trade.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    upgrade(store)
    try:
        started = time.perf_counter()
        with store.write() as session:
            ctx = Context(session, "bench")
            source = Source(title="bench", kind="dataset")
            session.add(source)
            session.flush()
            conn = session.connection()
            conn.exec_driver_sql(f"PRAGMA cache_size=-{trade.SQLITE_CACHE_KIB}")
            sql = trade._insert_sql(conn, source.id, ctx)
            for first in range(0, len(rows), 2_000):
                conn.exec_driver_sql(sql, rows[first:first + 2_000])
        elapsed = time.perf_counter() - started
    finally:
        store.dispose()
    return len(rows), elapsed


def timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = action()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="data rows in the generated file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each measurement")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite the trade section of {RESULTS}")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cooptrack-bench-trade-") as tmp:
        folder = Path(tmp)
        path = folder / "comtradeplus-large.csv"
        rows = generate(path, args.rows)
        size = path.stat().st_size
        load = os.getloadavg()[0]
        times: dict[str, list[float]] = {"peer": [], "dry": [], "insert": [], "import": []}
        cpu: dict[str, list[float]] = {"peer": [], "dry": [], "import": [], "writer": [], "reader": []}
        summary: dict[str, int] = {}
        for run in range(args.runs):
            counted, wall, used = timed(lambda: peer(path))
            assert counted == rows
            times["peer"].append(wall)
            cpu["peer"].append(used)
            _, wall, used, _ = import_once(path, folder, dry_run=True)
            times["dry"].append(wall)
            cpu["dry"].append(used)
            written, seconds = insert_alone(path, folder)
            times["insert"].append(seconds)
            summary, wall, used, reading = import_once(path, folder, dry_run=False)
            assert summary["created"] == written
            times["import"].append(wall)
            cpu["import"].append(used + reading)
            cpu["writer"].append(used)
            cpu["reader"].append(reading)
            print(f"run {run + 1}: peer {times['peer'][-1]:.2f} s, checks only {times['dry'][-1]:.2f} s, insert "
                  f"alone {times['insert'][-1]:.2f} s, import {times['import'][-1]:.2f} s "
                  f"(CPU {cpu['writer'][-1]:.2f} s importing process, {cpu['reader'][-1]:.2f} s reading process) "
                  f"({summary})", flush=True)
        load_after = os.getloadavg()[0]

    def rate(seconds: float) -> str:
        return f"{rows / seconds:,.0f}"

    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    met = rows / best["import"] >= TARGET
    lines = [
        START,
        "## UN Comtrade import",
        "",
        f"`python bench/trade/run.py --rows {args.rows} --runs {args.runs}` on "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}; {machine()}.",
        f"Load average {load:.1f} before the runs and {load_after:.1f} after (other processes shared the machine).",
        "",
        f"File: a Comtrade+ CSV of {rows:,} data rows ({size / 2**20:.0f} MiB, Latin-1, every value quoted, a "
        "trailing comma on each row) made in a temporary folder from the real Thai sample with shifted years, "
        "four flows and fifteen HS headings; "
        f"{summary.get('created', 0):,} observations created, {summary.get('skipped', 0):,} rows left out with "
        "a warning (areas without an ISO code, the reporter as its own partner). Fresh migrated SQLite file "
        "for every run.",
        "",
        "| measured | best s | median s | rows/s (best) | rows/s (median) | CPU s (median) |",
        "|---|---:|---:|---:|---:|---:|",
        f"| peer: bare `csv.reader` pass | {best['peer']:.2f} | {median['peer']:.2f} | {rate(best['peer'])} | "
        f"{rate(median['peer'])} | {statistics.median(cpu['peer']):.2f} |",
        f"| checks only (`--dry-run`: hash, encoding, parse, validate) | {best['dry']:.2f} | {median['dry']:.2f} | "
        f"{rate(best['dry'])} | {rate(median['dry'])} | {statistics.median(cpu['dry']):.2f} |",
        f"| insert alone: the same rows, the import's INSERT, executemany, commit | {best['insert']:.2f} | "
        f"{median['insert']:.2f} | {rate(best['insert'])} | {rate(median['insert'])} | |",
        f"| **import** (all of it, commit included) | {best['import']:.2f} | {median['import']:.2f} | "
        f"**{rate(best['import'])}** | {rate(median['import'])} | {statistics.median(cpu['import']):.2f} |",
        "",
        "rows/s counts the file's rows; the import's CPU is both processes' when a second one reads the file "
        f"(medians: {statistics.median(cpu['writer']):.2f} s importing, {statistics.median(cpu['reader']):.2f} s "
        "reading). The import takes "
        f"{median['import'] / median['peer']:.1f} times as long as the bare csv pass (medians). In one process the "
        "bare csv pass plus the insert alone, with no checking at all, would come to "
        f"{rate(median['peer'] + median['insert'])} rows/s; a file this size is read and checked by a second "
        "process while the first writes, so the insert alone is the floor (`bench/trade/README.md`). "
        f"Target: at least {TARGET:,} rows/s for the import: **{'met' if met else 'not met'}** "
        f"({rate(best['import'])} rows/s at best).",
        END,
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
        if START in text and END in text:
            head, rest = text.split(START, 1)
            text = head + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
