"""The stages of a two-process Comtrade import, each measured alone in CPU seconds, so that the
import's time on a machine with two free cores can be told from a shared one: the importing
process hashes the file while the reading process starts; then the reader checks the rows and
sends them while the importer writes them. See bench/trade/README.md.

    .venv/bin/python bench/trade/stages.py --rows 200000
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import generate

from cooptrack.domain.indicators import FLOWS
from cooptrack.formats import comtrade
from cooptrack.services import trade, trade_pipeline
from cooptrack.services.context import Context
from cooptrack.services.observations import get_indicator
from cooptrack.services.trade_checks import Checker
from cooptrack.store.db import Store
from cooptrack.store.migrate import upgrade


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def fresh_store(folder: Path) -> Store:
    db = folder / "bench-stages.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    upgrade(store)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000, help="data rows in the generated file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cooptrack-bench-stages-") as tmp:
        folder = Path(tmp)
        path = folder / "comtradeplus-large.csv"
        rows = generate(path, args.rows)
        load = os.getloadavg()[0]
        cpu: dict[str, float] = {}

        before = time.process_time()
        opened = comtrade.open_trade_file(path)
        opened.chunks.close()
        cpu["importer: hash and encoding pass"] = time.process_time() - before

        env = dict(os.environ, PYTHONPATH=str(Path(trade_pipeline.__file__).resolve().parents[2]))
        before = children_cpu()
        subprocess.run([sys.executable, "-P", "-c", trade_pipeline.BOOT.replace("main()", "")], env=env,
                       check=True)
        cpu["reader: start-up (a new interpreter importing the checks)"] = children_cpu() - before

        store = fresh_store(folder)
        with store.write() as session:
            ctx = Context(session, "bench")
            indicators = {code: get_indicator(ctx, code).id for code in FLOWS}
        store.dispose()

        sink = io.BytesIO()
        sender = trade_pipeline._Sender(sink)
        before = time.process_time()
        checker = Checker(comtrade.reopen(path, opened.inspected), False, indicators, sqlite=True,
                          bind_amount=sender.bind_amount, bind_date=lambda d: d)
        outcome = checker.run(sender.write, sender.advance)
        sender.advance(0)
        sender.send(("done", outcome))
        cpu["reader: read, decode, parse, check, pickle the rows"] = time.process_time() - before
        del checker

        sink.seek(0)
        store = fresh_store(folder)
        lines: list[int] = []
        before = time.process_time()
        with store.write() as session:
            ctx = Context(session, "bench")
            source = trade._add_source(ctx, opened)
            writer = trade._Writer(ctx, source.id)
            with writer.page_cache():  # the importing process's own loop, with a pipe that is a file here
                gc.disable()
                received = trade_pipeline.Reader.receive(object.__new__(trade_pipeline.Reader), sink, path.name,
                                                         writer.write, lines.append, writer.bind_rows)
                gc.enable()
        cpu["importer: unpickle, bind, executemany, commit"] = time.process_time() - before
        store.dispose()
        assert sum(lines) == outcome.rows == received.rows and outcome.created == outcome.rows - outcome.skipped

        print(f"{rows:,} rows ({path.stat().st_size / 2**20:.0f} MiB); load average {load:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after; CPU seconds, each stage alone:")
        for name, seconds in cpu.items():
            print(f"  {seconds:6.2f}  {name}")
        first = max(cpu["importer: hash and encoding pass"],
                    cpu["reader: start-up (a new interpreter importing the checks)"])
        then = max(cpu["reader: read, decode, parse, check, pickle the rows"],
                   cpu["importer: unpickle, bind, executemany, commit"])
        print(f"  two free cores: about {first:.2f} + {then:.2f} = {first + then:.2f} s, "
              f"{rows / (first + then):,.0f} rows/s (one chunk's insert and the commit's tail not counted)")


if __name__ == "__main__":
    main()
