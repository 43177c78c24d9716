"""The IATI import benchmark: import rate against a bare lxml iterparse pass over the same file,
peak memory of the import, and the memory of refusing a 1 GB text node. Writes its section of
bench/RESULTS.md (between the iati markers). See bench/iati/README.md.

    .venv/bin/python bench/iati/run.py                     # 50 MB rate, 200 MB memory, 1 GB text node
    .venv/bin/python bench/iati/run.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import SHARED, build  # noqa: E402  (bench/iati is not a package)

RESULTS = Path(__file__).resolve().parents[1] / "RESULTS.md"
START, END = "<!-- iati:start -->", "<!-- iati:end -->"
MB = 1024 * 1024
RATE_TARGET = 1 / 3
RSS_TARGET_MB = 300


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the import's reading process)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bare_pass(path: Path, every_element: bool) -> float:
    """Seconds for iterparse over the file, clearing as it goes: only the iati-activity end events
    (what the importer asks lxml for), or every element's end event (iterparse's default)."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    if every_element:
        for _, el in etree.iterparse(str(path)):
            el.clear()
    else:
        for _, el in etree.iterparse(str(path), events=("end",), tag="iati-activity"):
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    seconds = time.perf_counter() - start
    CPU_LOG.append(("bare_every" if every_element else "bare_tag", cpu_seconds() - cpu, seconds))
    return seconds


CPU_LOG: list[tuple[str, float, float]] = []  # (what, CPU seconds, wall seconds) of each timed pass


def import_file(path: Path, url: str, xsd: bool = False) -> dict[str, Any]:
    """Import into the (migrated, empty) database at url in one transaction; seconds include the commit."""
    from cooptrack.formats import iati_piped
    from cooptrack.services.context import Context
    from cooptrack.services.iati import ImportOptions, import_iati
    from cooptrack.store import Store

    store = Store(url)
    try:
        iati_piped.last_child.clear()
        cpu = cpu_seconds()
        start = time.perf_counter()
        with store.write() as session:
            result = import_iati(Context(session, "bench"), [path],
                                 ImportOptions(xsd=SHARED / "iati/schema-2.03" if xsd else None))
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu
    finally:
        store.dispose()
    assert result.written, result.report.errors[:3]
    CPU_LOG.append((f"import {store.engine.dialect.name}{' --xsd' if xsd else ''}", cpu, seconds))
    # The reading process of a large file (formats.iati_piped) reports its own peak memory.
    reader_mb = (iati_piped.last_child.get("peak_kb") or 0) / 1024
    return {"seconds": seconds, "cpu": cpu, "summary": result.summary, "reader_maxrss_mb": reader_mb}


def fresh_sqlite(folder: Path, name: str) -> str:
    from cooptrack.store import Store
    from cooptrack.store.migrate import upgrade

    url = f"sqlite:///{folder / name}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    return url


def child(argv: list[str]) -> None:
    """Run in a subprocess so that its peak RSS is its own: import | bare | textnode."""
    what, path = argv[0], Path(argv[1])
    out: dict[str, Any] = {}
    if what == "import":
        out = import_file(path, argv[2])
    elif what == "bare":
        out = {"seconds": bare_pass(path, every_element=False)}
    elif what == "textnode":
        from cooptrack.formats.iati_read import IatiFile

        file = IatiFile(path)
        start = time.perf_counter()
        out = {"activities": sum(1 for _ in file), "seconds": time.perf_counter() - start,
               "findings": [(f.code, f.message) for f in file.findings], "bytes_read": file.bytes_read}
    out["maxrss_mb"] = peak_rss_mb() + out.get("reader_maxrss_mb", 0)  # both processes of the import
    print(json.dumps(out, default=str))


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (ru_maxrss survives execve on Linux, so a child
    would report its parent's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def text_node_file(path: Path, mb: int) -> Path:
    chunk = b"x" * MB
    with path.open("wb") as handle:
        handle.write(b'<?xml version="1.0"?>\n<iati-activities version="2.03"><iati-activity>'
                     b"<iati-identifier>XM-1</iati-identifier><title><narrative>")
        for _ in range(mb):
            handle.write(chunk)
        handle.write(b"</narrative></title></iati-activity></iati-activities>\n")
    return path


class Postgres:
    """A database of its own on the server, created for the run and dropped after."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        from cooptrack.store import Store
        from cooptrack.store.migrate import upgrade

        self.admin = Store(admin_url)
        self.name = f"cooptrack_iati_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(self.admin.url).set(database=self.name).render_as_string(hide_password=False)
        store = Store(self.url)
        upgrade(store)
        self.version = store.engine.connect().exec_driver_sql("SHOW server_version").scalar()
        store.dispose()

    def drop(self) -> None:
        from sqlalchemy import text

        with self.admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or cpu
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; lxml "
            f"{'.'.join(map(str, etree.LXML_VERSION[:3]))} (libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}); "
            f"SQLite {sqlite3.sqlite_version}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=50, help="size of the rate file (default %(default)s MB)")
    parser.add_argument("--rss-mb", type=float, default=200, help="size of the memory file (default %(default)s MB)")
    parser.add_argument("--textnode-mb", type=int, default=1024, help="size of the one text node (default 1 GB)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each timing; the best counts (default 3)")
    parser.add_argument("--postgres-url", help="also import into PostgreSQL (a database of its own is created)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the generated files (printed at the end)")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write it to --results")
    parser.add_argument("--rate-only", action="store_true", help="only the rate file (no memory, no text node, "
                        "no --xsd import); implies --no-write")
    parser.add_argument("--read-here", action="store_true", help="read every file in the importing process (no "
                        "reading process, whatever the file's size), for comparison; implies --no-write")
    args = parser.parse_args()
    if args.read_here:
        from cooptrack.formats import iati_piped

        iati_piped.MIN_BYTES = 1 << 62
    args.no_write = args.no_write or args.rate_only or args.read_here

    folder = Path(tempfile.mkdtemp(prefix="cooptrack-iati-bench-"))
    rows: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                            "load": os.getloadavg()[0]}
    try:
        rate_file = folder / "rate.xml"
        size, count = build(rate_file, args.mb)
        rows["rate_file"] = {"mb": size / MB, "activities": count}
        print(f"built {rate_file}: {size / MB:.1f} MB, {count:,} activities", flush=True)
        for every in (False, True):
            best = min(bare_pass(rate_file, every) for _ in range(args.runs))
            rows["bare_every" if every else "bare_tag"] = size / MB / best
        imports = []
        for n in range(args.runs):
            url = fresh_sqlite(folder, f"rate-{n}.db")
            imports.append(import_file(rate_file, url))
        best_import = min(imports, key=lambda r: r["seconds"])
        rows["import_sqlite"] = size / MB / best_import["seconds"]
        rows["summary"] = best_import["summary"]
        if not args.rate_only:
            rows["import_sqlite_xsd"] = size / MB / import_file(rate_file, fresh_sqlite(folder, "xsd.db"),
                                                                xsd=True)["seconds"]
        # the same-run baseline again, after the imports, to see how steady the machine was
        rows["bare_tag_after"] = size / MB / min(bare_pass(rate_file, False) for _ in range(args.runs))
        if args.postgres_url:
            pg = Postgres(args.postgres_url)
            try:
                rows["postgres"] = pg.version
                rows["import_postgres"] = size / MB / import_file(rate_file, pg.url)["seconds"]
            finally:
                pg.drop()
        print(f"rates: {json.dumps({k: v for k, v in rows.items() if k.startswith(('bare', 'import'))})}", flush=True)
        print(f"load average now {os.getloadavg()[0]:.1f}; CPU and wall seconds of each timed pass (the import's CPU "
              "includes its reading process):", flush=True)
        for what, cpu, wall in CPU_LOG:
            print(f"  {what:24} CPU {cpu:6.2f} s  wall {wall:6.2f} s", flush=True)
        if args.rate_only:
            return 0

        rss_file = folder / "rss.xml"
        size, count = build(rss_file, args.rss_mb)
        rows["rss_file"] = {"mb": size / MB, "activities": count}
        rows["rss_import"] = in_child("import", str(rss_file), fresh_sqlite(folder, "rss.db"))
        rows["rss_bare"] = in_child("bare", str(rss_file))
        rss_file.unlink()
        print(f"memory: import {rows['rss_import']['maxrss_mb']:.0f} MB, bare {rows['rss_bare']['maxrss_mb']:.0f} MB",
              flush=True)

        node = text_node_file(folder / "textnode.xml", args.textnode_mb)
        rows["textnode"] = {"mb": node.stat().st_size / MB, **in_child("textnode", str(node))}
        node.unlink()
        print(f"text node: {rows['textnode']}", flush=True)
    finally:
        if args.keep:
            print(f"files kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    rows["load_after"] = os.getloadavg()[0]
    section = render(rows)
    if not args.no_write:
        write_results(section, args.results)
    print(section)
    return 0


def render(r: dict[str, Any]) -> str:
    s = r["summary"]
    ratio_tag = r["import_sqlite"] / r["bare_tag"]
    ratio_every = r["import_sqlite"] / r["bare_every"]
    rss = r["rss_import"]["maxrss_mb"]
    lines = [
        START,
        "## IATI import",
        "",
        f"`.venv/bin/python bench/iati/run.py` on {r['date']}; {r['machine']}.",
        f"Load average {r['load']:.1f} before the runs and {r['load_after']:.1f} after (other processes shared the "
        "machine).",
        "",
        f"Rate file: {r['rate_file']['mb']:.1f} MB, {r['rate_file']['activities']:,} activities (the activities of "
        "the three valid real-publisher files, nl-ngos, ec-intpa and foodsecurity, repeated with unique "
        f"identifiers); the import created {s['created']:,} projects, {s['finance_records']:,} finance records, "
        f"{s['status_events']:,} status events and {s['documents']:,} document links. Best of the runs; each import "
        "into a new SQLite file in one transaction, the commit included.",
        "",
        "| pass over the same file | MB/s |",
        "|---|---:|",
        f"| bare `iterparse`, `tag=\"iati-activity\"`, cleared (what the importer asks lxml for) | "
        f"{r['bare_tag']:.1f} |",
        f"| bare `iterparse`, every element's end event, cleared (iterparse's default) | {r['bare_every']:.1f} |",
        f"| `import iati` into SQLite | {r['import_sqlite']:.1f} |",
        f"| `import iati --xsd` into SQLite (each activity validated against the 2.03 schema) | "
        f"{r['import_sqlite_xsd']:.1f} |",
    ]
    if "import_postgres" in r:
        lines.append(f"| `import iati` into PostgreSQL {r['postgres'].split()[0]} (one run) | "
                     f"{r['import_postgres']:.1f} |")
    lines += [
        f"| bare `iterparse`, `tag=\"iati-activity\"`, again after the imports | {r['bare_tag_after']:.1f} |",
        "",
        f"Peak memory (VmHWM of a subprocess) on a {r['rss_file']['mb']:.0f} MB file of "
        f"{r['rss_file']['activities']:,} activities: import into SQLite **{rss:.0f} MB** (the importing "
        f"process's peak plus its reading process's, {r['rss_import'].get('reader_maxrss_mb', 0):.0f} MB) "
        f"({r['rss_file']['mb'] / r['rss_import']['seconds']:.1f} MB/s); the bare tag-filtered pass "
        f"{r['rss_bare']['maxrss_mb']:.0f} MB.",
        "",
        f"One {r['textnode']['mb']:.0f} MB text node: refused ({r['textnode']['findings'][0][1]}) after reading "
        f"{r['textnode']['bytes_read'] / MB:.0f} MB, peak memory {r['textnode']['maxrss_mb']:.0f} MB, in "
        f"{r['textnode']['seconds']:.2f} s.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| import rate at least 1/3 of a bare iterparse pass | {ratio_tag:.2f} of the tag-filtered pass, "
        f"{ratio_every:.2f} of the every-element pass | {_mark(ratio_tag >= RATE_TARGET)} against the tag-filtered "
        f"pass, {_mark(ratio_every >= RATE_TARGET)} against the every-element pass |",
        f"| peak memory at most {RSS_TARGET_MB} MB RSS on a 200 MB file | {rss:.0f} MB | "
        f"{_mark(rss <= RSS_TARGET_MB)} |",
        END,
    ]
    return "\n".join(lines) + "\n"


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def write_results(section: str, path: Path) -> None:
    """Replace the iati section of RESULTS.md (or append it), keeping every other section."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        new = before + section + ("\n" + after if after else "")
    else:
        new = current.rstrip("\n") + "\n\n" + section
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
