"""A large Comtrade file read in a second process: it decodes, parses and checks the rows
(``trade_checks.Checker``, the same code as a one-process import) and sends each chunk of rows to
keep through a pipe, while the importing process, which holds the transaction, writes them. The
import then takes about as long as the slower of the two, not their sum (``bench/trade/``).

- The second process is a new interpreter (``subprocess``: fork and exec at once, as the
  ``spawn`` start method does), safe to start from a threaded process such as the web server. It
  starts while the importing process hashes the file, and is told what to read once the file
  is known to be new.
- Messages are pickled: ``("rows", lines read, the rows' columns, whether some amounts are
  Decimals)`` per chunk, then ``("done", Outcome)``, or ``("failed", traceback)``. The pipe
  holds little, so the reader waits while the writer is behind: memory stays bounded by a few
  chunks.
- The reader leaves dates as dates and amounts that are not yet the column's form as Decimals;
  the writer binds them through the column types (``services.trade``), as a one-process import
  does while checking.
- A reader that raises, stops or is killed fails the import with ``ReaderFailed``; the caller
  rolls back. The reader is killed when the import stops for any other reason.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import subprocess
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from cooptrack.children import start_reader, stop_child
from cooptrack.errors import CooptrackError
from cooptrack.formats import comtrade
from cooptrack.services.trade_checks import Checker, Outcome, Write

# Files of this many bytes or more are read by a second process: 16 MiB is about 50,000 rows,
# about a second of import in one process. Below it the reader's start-up (0.15-0.3 s of CPU)
# and the pickling both ways would take back much of what the overlap gives.
PIPELINE_BYTES = 16 << 20
ENV = "COOPTRACK_TRADE_PIPELINE_BYTES"  # overrides PIPELINE_BYTES; negative: never
# What the new interpreter runs (a test may replace it to make the reader fail). The reader needs
# this module and the checks alone: cooptrack.services loads nothing more on import (the ORM that
# Context needs would add about 0.5 s of CPU to the reader's start-up, which is on the critical path).
BOOT = "from cooptrack.services.trade_pipeline import main\nmain()\n"
PROTOCOL = pickle.HIGHEST_PROTOCOL


class ReaderFailed(CooptrackError):
    """The process reading the file failed: nothing was written."""

    code = "import_failed"


def wanted(path: Path, threshold: int | None) -> bool:
    """Whether to read this file in a second process: files of ``threshold`` bytes or more (None:
    the environment variable, else PIPELINE_BYTES; negative: never)."""
    if threshold is None:
        setting = os.environ.get(ENV, "").strip()
        threshold = int(setting) if setting.lstrip("-").isdigit() else PIPELINE_BYTES
    if threshold < 0:
        return False
    try:
        return path.is_file() and path.stat().st_size >= threshold
    except OSError:
        return False


@dataclass
class Job:
    """What the reader is told: the file as the importing process found it, and how to check it."""

    path: str
    inspected: comtrade.Inspected
    skip_invalid: bool
    indicators: dict[str, int]
    sqlite: bool


class Reader:
    """The importing process's side: starts the reader, sends it the job, receives the rows."""

    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
        self.process, self.errors = process, errors

    @classmethod
    def start(cls) -> Reader:
        process, errors = start_reader(BOOT)
        return cls(process, errors)

    def run(self, path: Path, opened: comtrade.TradeFile, skip_invalid: bool, indicators: dict[str, int], sqlite: bool,
            write: Write, advance: Callable[[int], Any],
            bind: Callable[[list[tuple[Any, ...]], bool], list[tuple[Any, ...]]]) -> Outcome:
        """Have the reader check ``opened`` and write each chunk of rows it sends (its columns,
        made rows by ``bind``); what it found at the end."""
        opened.chunks.close()  # the reader opens the file itself
        job = Job(os.path.abspath(path), opened.inspected, skip_invalid, indicators, sqlite)
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            pickle.dump(job, stdin, protocol=PROTOCOL)
            stdin.close()
        except OSError:  # BrokenPipeError: the reader stopped before it was told anything
            raise self.failure(opened.name, None) from None
        # The rows are many small containers, freed chunk by chunk, and nothing here makes
        # reference cycles: the cycle collector would only walk them over and over.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self.receive(stdout, opened.name, write, advance, bind)
        finally:
            if collecting:
                gc.enable()

    def receive(self, stdout: IO[bytes], name: str, write: Write, advance: Callable[[int], Any],
                bind: Callable[[list[tuple[Any, ...]], bool], list[tuple[Any, ...]]]) -> Outcome:
        for message in self.messages(stdout, name):
            kind = message[0]
            if kind == "rows":
                _, lines, columns, decimals = message
                if columns:
                    write(bind(columns, decimals))
                advance(lines)
            elif kind == "done":
                outcome: Outcome = message[1]
                return outcome
            else:  # its traceback chained, for the log
                raise self.failure(name, message[1]) from RuntimeError(f"in the reading process:\n{message[1]}")
        raise self.failure(name, None)  # pragma: no cover - messages() ends only with "done" or a failure

    def messages(self, stdout: IO[bytes], name: str) -> Iterator[tuple[Any, ...]]:
        while True:
            try:
                message = pickle.load(stdout)
            except (EOFError, pickle.UnpicklingError, OSError):  # it stopped, perhaps in the middle of a message
                raise self.failure(name, None) from None
            yield message
            if message[0] in ("done", "failed"):
                return

    def failure(self, name: str, trace: str | None) -> ReaderFailed:
        if trace is None:
            code = self.stop(wait=True)
            self.errors.seek(0)
            said = self.errors.read().decode("utf-8", "replace").strip().splitlines()
            detail = f"it stopped with exit code {code}" + (f": {said[-1]}" if said else "")
        else:
            lines = trace.strip().splitlines()
            detail = f"it failed: {lines[-1] if lines else 'no detail'}"
        return ReaderFailed(f"{name} was not imported, nothing was written: the process reading the file {detail}")

    def stop(self, wait: bool) -> int | None:
        return stop_child(self.process, wait)

    def close(self) -> None:
        """End the reader (killed if it still runs: the import stopped early) and free its pipes."""
        try:
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self.stop(wait=False)
        finally:
            self.errors.close()


# --- the reading process ------------------------------------------------------------------


class _Sender:
    """The reader's side of the pipe: rows kept for the chunk being read, sent with its count."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.rows: list[tuple[Any, ...]] = []
        self.decimals = False

    def bind_amount(self, value: Decimal) -> Decimal:  # the writer binds it through the column type
        self.decimals = True
        return value

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows.extend(rows)

    def advance(self, lines: int) -> None:
        if lines or self.rows:  # as columns: the writer binds the dates column by column
            columns = list(zip(*self.rows, strict=True)) if self.rows else None
            self.send(("rows", lines, columns, self.decimals))
            self.rows, self.decimals = [], False

    def send(self, message: tuple[Any, ...]) -> None:
        pickle.dump(message, self.out, protocol=PROTOCOL)
        self.out.flush()


def main() -> None:
    """The reading process: the job from stdin, messages to stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the message stream
    try:
        job: Job = pickle.load(sys.stdin.buffer)
    except EOFError:  # the import needed no reader after all (a file imported before, unreadable)
        return
    sender = _Sender(out)
    try:
        opened = comtrade.reopen(Path(job.path), job.inspected)
        checker = Checker(opened, job.skip_invalid, job.indicators, sqlite=job.sqlite,
                          bind_amount=sender.bind_amount, bind_date=_same)
        outcome = checker.run(sender.write, sender.advance)
        sender.advance(0)  # the rows kept at the end (flows deferred until every row was seen)
        sender.send(("done", outcome))
    except BrokenPipeError:  # the importing process went away
        sys.exit(1)
    except BaseException:
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)
        sender.send(("failed", trace))
        sys.exit(1)


def _same(value: Any) -> Any:
    return value
