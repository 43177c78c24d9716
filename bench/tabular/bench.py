"""Spreadsheet import speed: a generated CSV of project rows imported into a fresh SQLite
database by `cooptrack import projects`' service, next to a bare `csv` read of the same file
(the peer), in the same run. See bench/tabular/README.md."""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import os
import platform
import random
import re
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cooptrack.formats.tabular import read_sheet
from cooptrack.services.context import Context
from cooptrack.services.programmes import IndustrySpec, ProgrammeSpec, register_programme
from cooptrack.services.tabular import import_projects
from cooptrack.services.tabular_store import _literal_of
from cooptrack.store import Store
from cooptrack.store.migrate import upgrade

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
START, END = "<!-- tabular:start -->", "<!-- tabular:end -->"
HEADER = ["id", "title", "programme", "host_country", "partner_country", "value", "currency", "value_date",
          "sectors", "participants", "planned_start", "planned_end", "status", "status_date"]
INDUSTRIES = [("Infrastructure", ["21020", "21030"]), ("Energy", ["23210", "23630"]), ("Health", ["12191"]),
              ("Mining", ["32210", "32220"]), ("Education", ["11330"])]
PAIRS = [("KAZ", "KOR"), ("UZB", "KOR"), ("KAZ", "CHN"), ("KGZ", "TUR"), ("TJK", "CHN")]
STATUSES = ["pipeline", "agreed", "in_execution", "implemented"]


def generate(path: Path, rows: int, seed: int, programme_column: bool) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for i in range(rows):
            p = i % len(PAIRS)
            host, partner = PAIRS[p]
            name, codes = INDUSTRIES[i % len(INDUSTRIES)]
            sectors = f"{codes[0]}:100" if len(codes) == 1 or i % 3 else f"{codes[0]}:60; {codes[1]}:40"
            start = date(2015, 1, 1) + timedelta(days=rnd.randrange(3000))
            value = f"{rnd.randrange(1, 5000) * 100_000:,}" if i % 4 == 0 else str(rnd.randrange(1, 10**9))
            w.writerow([
                f"bench-{i:06d}", f"Project {i} in {host}", f"bench-{p}" if programme_column else "", host, partner,
                value, rnd.choice(["USD", "KZT", "KRW", "EUR"]), start.strftime("%d.%m.%Y") if i % 2 else
                start.isoformat(), sectors, f"Company {i % 500} (contractor, {partner}); Agency {p} (funding)",
                start.isoformat(), (start + timedelta(days=365 * 3)).isoformat(), STATUSES[i % 4],
                str(start.year)])


def prepare(url: str) -> Store:
    store = Store(url)
    upgrade(store)
    with store.write() as session:
        ctx = Context(session, "bench")
        for p, (a, b) in enumerate(PAIRS):
            register_programme(ctx, ProgrammeSpec(f"bench-{p}", f"Bench {a}-{b}", [a, b], industries=[
                IndustrySpec(n, c) for n, c in INDUSTRIES]))
    return store


def bare_read(path: Path) -> float:
    t = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        n = sum(1 for _ in csv.reader(f)) - 1
    return n / (time.perf_counter() - t)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed_import(path: Path, store: Store) -> tuple[float, float, float, dict[str, int]]:
    """Wall-clock seconds, this process's CPU seconds and those of the process reading the file
    (services/tabular_pipeline.py, for a large file naming mostly new projects; 0 without it).
    The CPU figures show what the import costs when other work shares the machine."""
    gc.collect()
    t, cpu, reader = time.perf_counter(), time.process_time(), _children_cpu()
    with store.write() as session:
        result = import_projects(Context(session, "bench"), read_sheet(path), max_findings=100)
    elapsed, cpu, reader = time.perf_counter() - t, time.process_time() - cpu, _children_cpu() - reader
    if not result.report.valid:
        raise SystemExit(f"bench import refused: {result.report.findings[:3]}")
    return elapsed, cpu, reader, result.summary


def _cpu(cpu: float, reader: float) -> str:
    return f"CPU {cpu:.1f} s" + (f" + {reader:.1f} s reading" if reader >= 0.05 else "")


# What an import of new projects writes, table by table (as create_many inserts them).
TABLES = ("organisations", "projects", "project_sectors", "project_participants", "status_events", "audit_events")


def insert_floor(imported: Path, fresh: Path) -> tuple[float, float]:
    """The floor under the first import: the rows it wrote (read back from ``imported``, every
    value as the driver received it) inserted into ``fresh`` (migrated, the same programmes) with
    nothing else: executemany through the raw sqlite3 driver, 5,000 rows at a time, a column with
    one value in all of them written into the statement as the import writes it, with the store's
    pragmas; and the commit. Wall-clock and CPU seconds."""
    source = sqlite3.connect(imported)
    target = sqlite3.connect(fresh, isolation_level=None)
    data = []
    for table in TABLES:
        columns = [f'"{row[1]}"' for row in source.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
        there = target.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        rows = source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()[there:]
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            literals = [_literal_of(column) if len(chunk) > 1 else None for column in zip(*chunk, strict=True)]
            varying = [i for i, literal in enumerate(literals) if literal is None]
            values = ", ".join("?" if literal is None else literal for literal in literals)
            data.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})",
                         [tuple(row[i] for i in varying) for row in chunk]))
    source.close()
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        target.execute(f"PRAGMA {pragma}")
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    target.execute("BEGIN IMMEDIATE")
    for sql, rows in data:
        target.executemany(sql, rows)
    target.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    target.close()
    return elapsed, cpu


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1) if found else cpu
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    lines = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for label, programme_column in (("with programme", True), ("without programme", False)):
            csv_path = Path(tmp) / f"projects-{programme_column}.csv"
            generate(csv_path, args.rows, args.seed, programme_column)
            peer = max(bare_read(csv_path) for _ in range(3))
            store = prepare(f"sqlite:///{tmp}/bench-{programme_column}.db")
            elapsed, cpu, reader, summary = timed_import(csv_path, store)
            # The same file again: every row found unchanged (validation and comparison, no writes).
            again, cpu2, reader2, summary2 = timed_import(csv_path, store)
            store.dispose()
            prepare(f"sqlite:///{tmp}/floor-{programme_column}.db").dispose()
            floor, cpu3 = insert_floor(Path(tmp) / f"bench-{programme_column}.db",
                                       Path(tmp) / f"floor-{programme_column}.db")
            size = csv_path.stat().st_size / 1e6
            lines.append(f"| {label} | {args.rows:,} ({size:.1f} MB) | {args.rows / elapsed:,.0f} rows/s "
                         f"({elapsed:.1f} s, {_cpu(cpu, reader)}; {summary['created']:,} created) | "
                         f"{args.rows / again:,.0f} rows/s ({again:.1f} s, {_cpu(cpu2, reader2)}; "
                         f"{summary2['unchanged']:,} unchanged) | {args.rows / floor:,.0f} rows/s ({floor:.1f} s, "
                         f"CPU {cpu3:.1f} s) | {peer:,.0f} rows/s |")
            print(lines[-1], flush=True)
    load_after = os.getloadavg()
    best = max(float(line.split("|")[3].split()[0].replace(",", "")) for line in lines)
    section = "\n".join([
        START,
        "## Spreadsheet import (CSV)",
        "",
        f"`python bench/tabular/bench.py --rows {args.rows}` on {datetime.now(UTC).date().isoformat()}; {machine()}; "
        f"load average (1 min) {load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end (the machine is "
        "shared: a load above the core count means the figures are lower than on an idle machine).",
        "",
        "A generated CSV of project rows (14 columns: id, title, programme, countries, value with and without "
        "thousands separators, currency, value date ISO or day.month.year, one or two sectors, two participants, "
        "planned dates, status and status date) imported into a fresh SQLite database with the programmes "
        "registered: `import_projects` end to end (read, `check_project` on every row, write projects, sectors, "
        "organisations, participants, status events and audit events, commit); a file this large naming new "
        "projects is read and checked by a second process while the importing one writes (its CPU is given as "
        "\"reading\"). The same file again finds every row unchanged: load the registered projects, check and "
        "compare every row, write nothing (in one process: the file names registered projects only). The inserts "
        "alone are the floor under the first import: the rows it wrote, inserted into a fresh database with nothing "
        "else (raw sqlite3 executemany per table, 5,000 rows at a time, columns alike in all of them written into "
        "the statement as the import does; commit included). The peer is a bare `csv.reader` pass over the same "
        "file (best of 3), measured in the same run.",
        "",
        "| file | rows | first import (all created) | same file again (all unchanged) | inserts alone (floor) | "
        "peer: bare csv read |",
        "|---|---:|---:|---:|---:|---:|",
        *lines,
        "",
        f"Target: at least 50,000 rows/s: **{'met' if best >= 50_000 else 'not met'}** "
        f"(best {best:,.0f} rows/s).",
        END,
    ])
    if not args.no_write:
        text = args.results.read_text(encoding="utf-8") if args.results.exists() else "# Benchmark results\n"
        if START in text and END in text:
            text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        args.results.write_text(text, encoding="utf-8")
    print(f"best {best:,.0f} rows/s", file=sys.stderr)


if __name__ == "__main__":
    main()
