"""A large CSV of projects read and checked in a second process while the importing process,
which holds the transaction, writes what it sends: the import then takes about as long as the
slower of the two halves, not their sum (bench/tabular/).

- Both halves are the one-process import's own code (services/tabular.py): the reader runs
  ``_Checker`` over the rows, which says what may be written as it goes (while no row is
  refused); the importing process gives that to ``_Writer``. The findings, counts and rows
  written are those of a one-process import of the same sheet (tests/test_tabular_pipeline.py).
- The reader is a new interpreter (``subprocess``: fork and exec at once, as the ``spawn`` start
  method does), safe to start from a threaded process such as the web server. It is started
  first and sent the sheet's decoded text, which it reads into rows again while starting up;
  this process meanwhile reads the rows too, for what the checks need from the database: the
  registered projects the file names, who holds each IATI identifier it can carry, and the
  programmes and sources it names (``check_project``'s lookups, made here, the reader having no
  database). Then the reader is told to check.
- Messages are pickled: to the reader ``("sheet", name, text)`` then a ``Job``; from it
  ``("upserts", [Upsert, ...])`` and ``("creates", NewRows)`` while no row is refused, then
  ``("done", report, counts)``, or ``("failed", traceback)``. The pipe holds little, so the reader
  waits while the writer is behind: memory stays bounded by a few batches.
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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, NoReturn

from sqlalchemy import func, select

from cooptrack.children import start_reader, stop_child
from cooptrack.errors import CooptrackError
from cooptrack.findings import Report
from cooptrack.formats.tabular import Cell, Sheet, csv_sheet, match_header
from cooptrack.services import tabular
from cooptrack.services.context import Context
from cooptrack.services.programmes import get_programme
from cooptrack.services.projects import _RuleChecks
from cooptrack.services.sources import get_source
from cooptrack.services.tabular import NAMES, REQUIRED, Known, _Checker, _Writer, column_texts
from cooptrack.store.models import Project

# Sheets of this many characters (bytes, for text in ASCII) or more are read by a second process:
# 8 MiB is about 45,000 rows of the bench's file, about 2 s of import in one process. Below it the
# reader's start-up (0.4 s of CPU: check_project needs SQLAlchemy and the models) and the pickling
# both ways take back much of what the overlap gives.
PIPELINE_BYTES = 8 << 20
ENV = "COOPTRACK_TABULAR_PIPELINE_BYTES"  # overrides PIPELINE_BYTES; negative: never
# What the new interpreter runs (a test may replace it to make the reader fail). It takes the
# sheet from the pipe before importing cooptrack, so that this process is not kept waiting to send
# it, and reads it into rows once the modules are loaded.
BOOT = ("import pickle, sys\nsheet = pickle.load(sys.stdin.buffer)\n"
        "from cooptrack.services.tabular_pipeline import main\nmain(sheet)\n")
PROTOCOL = pickle.HIGHEST_PROTOCOL


class ReaderFailed(CooptrackError):
    """The process reading the file failed: nothing was written."""

    code = "import_failed"


def wanted(sheet: Sheet, threshold: int | None) -> bool:
    """Whether to read ``sheet`` in a second process: a CSV sheet of ``threshold`` characters or
    more (None: the environment variable, else PIPELINE_BYTES; negative: never)."""
    if threshold is None:
        setting = os.environ.get(ENV, "").strip()
        threshold = int(setting) if setting.lstrip("-").isdigit() else PIPELINE_BYTES
    return threshold >= 0 and sheet.text is not None and len(sheet.text) >= threshold


def worth(facts: Known, raw: Sequence[tuple[int, list[Cell]]]) -> bool:
    """Whether the second process is worth it once the rows are known: when they are mostly new
    projects (at most one in four registered). Each registered project named must be sent to the
    reader, and a file of registered projects writes little to overlap with (most rows are
    unchanged, or updated one by one)."""
    return 4 * len(facts.registered) <= len(raw)


def likely(ctx: Context, sheet: Sheet) -> bool:
    """Whether the second process will be worth it, before the rows are read: when the register
    holds too few projects for the file to name more than one in four of its lines. (Else it is
    started once the rows are known, if worth it then.)"""
    assert sheet.text is not None
    return 4 * (ctx.session.scalar(select(func.count()).select_from(Project)) or 0) <= sheet.text.count("\n")


def start(sheet: Sheet) -> Reader | None:
    """The reader started and sent the sheet, or None when no second process is to be had here
    (this process then checks the rows)."""
    try:
        return Reader.start(sheet)
    except OSError:
        return None


class _Industry:
    """What ``check_project`` reads of a programme's industry, in the reader (no database there)."""

    def __init__(self, id: int, name: str, dac_codes: list[str]) -> None:
        self.id, self.name, self.dac_codes = id, name, dac_codes


class _Programme:
    """What ``check_project`` reads of a programme. Compared and hashed by identity, as the
    model's objects are: the checks remember results by it."""

    def __init__(self, id: int, code: str, industries: list[_Industry]) -> None:
        self.id, self.code, self.industries = id, code, industries


class _Source:
    """What ``check_project`` reads of a source."""

    def __init__(self, id: int) -> None:
        self.id = id


def _stand_in(find: Any, found: Any) -> Any:
    """A programme or source found by ``find`` as the reader's stand-in (None stays None)."""
    if found is None:
        return None
    if find is get_programme:
        return _Programme(found.id, found.code, [_Industry(i.id, i.name, list(i.dac_codes)) for i in found.industries])
    assert find is get_source, find
    return _Source(found.id)


def lookups(ctx: Context, facts: Known, mapped: Sequence[str | None],
            raw: Sequence[tuple[int, list[Cell]]]) -> dict[Any, Any]:
    """``check_project``'s memo of the programme and source lookups the rows can make, as it
    would remember them (found or not, with the findings), found ones as stand-ins: every id in
    the file's programme and source columns, and those of the registered projects it names (the
    values a column left out of the file keeps)."""
    programme_codes, _, source_codes = facts.names
    wanted_codes = {
        get_programme: column_texts(raw, mapped, "programme") | {
            programme_codes[i] for p in facts.registered.values() if (i := p.fields["programme_id"])},
        get_source: column_texts(raw, mapped, "source") | {
            source_codes[i] for p in facts.registered.values() if (i := p.fields["source_id"])},
    }
    memo: dict[Any, Any] = {}
    checks = _RuleChecks(memo)
    for find, codes in wanted_codes.items():
        for code in sorted(codes):
            checks.lookup(find, ctx, code)
    return {key: (_stand_in(key[0], found), findings) for key, (found, findings) in memo.items()}


@dataclass
class Job:
    """What the reader is told once this process has read what the checks need."""

    facts: Known
    lookups: dict[Any, Any]
    report: Report  # the findings so far (of opening the sheet), continued by the reader
    actor: str
    request_id: str | None
    now: datetime
    chunk_rows: int  # new projects per batch: tabular.CHUNK_ROWS, as in this process


class Reader:
    """The importing process's side: starts the reader, sends it the sheet and the job, and hands
    what it sends to the writer."""

    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes], name: str) -> None:
        self.process, self.errors, self.name = process, errors, name
        self.done = False  # it said all it had to say, and ends by itself

    @classmethod
    def start(cls, sheet: Sheet) -> Reader:
        process, errors = start_reader(BOOT)
        reader = cls(process, errors, sheet.name)
        try:
            reader.send(("sheet", sheet.name, sheet.text))
        except BaseException:
            reader.close()
            raise
        return reader

    def send(self, message: Any) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            pickle.dump(message, stdin, protocol=PROTOCOL)
            stdin.flush()
        except OSError:  # BrokenPipeError: the reader stopped
            raise self.failure(None) from None

    def run(self, ctx: Context, facts: Known, mapped: Sequence[str | None], raw: Sequence[tuple[int, list[Cell]]],
            report: Report, counts: dict[str, int], writer: _Writer) -> None:
        """Have the reader check the rows, give the writer what it sends, and take its findings
        into ``report`` and its counts of refused and unchanged rows into ``counts``."""
        self.send(Job(facts, lookups(ctx, facts, mapped, raw), report, ctx.actor, ctx.request_id, ctx.now,
                      tabular.CHUNK_ROWS))
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(OSError):
            stdin.close()
        stdout = self.process.stdout
        assert stdout is not None
        for message in self.messages(stdout):
            kind = message[0]
            if kind == "done":
                self.done = True
                _, found, theirs = message
                report.findings[:] = found.findings
                report.truncated, report.dropped_errors = found.truncated, found.dropped_errors
                for key in ("refused", "unchanged"):
                    counts[key] += theirs[key]
                return
            writer.write(kind, message[1])

    def messages(self, stdout: IO[bytes]) -> Iterator[tuple[Any, ...]]:
        while True:
            try:
                message = pickle.load(stdout)
            except (EOFError, pickle.UnpicklingError, OSError):  # it stopped, perhaps in the middle of a message
                raise self.failure(None) from None
            if message[0] == "failed":  # its traceback chained, for the log
                raise self.failure(message[1]) from RuntimeError(f"in the reading process:\n{message[1]}")
            yield message
            if message[0] == "done":
                return

    def failure(self, trace: str | None) -> ReaderFailed:
        if trace is None:
            code = self.stop(wait=True)
            self.errors.seek(0)
            said = self.errors.read().decode("utf-8", "replace").strip().splitlines()
            detail = f"it stopped with exit code {code}" + (f": {said[-1]}" if said else "")
        else:
            lines = trace.strip().splitlines()
            detail = f"it failed: {lines[-1] if lines else 'no detail'}"
        return ReaderFailed(f"{self.name} was not imported, nothing was written: the process reading the file "
                            f"{detail}")

    def stop(self, wait: bool) -> int | None:
        return stop_child(self.process, wait)

    def close(self) -> None:
        """End the reader (killed if it still runs and the import stopped early; else, or when it
        was never told to check, waited for) and free its pipes."""
        try:
            told = self.process.stdin is not None and self.process.stdin.closed
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self.stop(wait=self.done or not told)
        finally:
            self.errors.close()


# --- the reading process ------------------------------------------------------------------


class _NoDatabase:
    """The reader's stand-in for a session: every lookup the checks make was made beforehand by
    the importing process (``lookups``); one that was not fails loudly."""

    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(f"the process reading the file has no database (session.{name}); "
                           "a lookup check_project makes is missing from tabular_pipeline.lookups")


def main(opening: tuple[str, str, str]) -> None:
    """The reading process: the sheet (already taken from stdin by BOOT), then the job from
    stdin; messages to stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the message stream
    gc.disable()  # many small objects living until the end, no cycles among them (as in the import)
    try:
        _, name, text = opening
        sheet = csv_sheet(name, text)
        try:
            job: Job = pickle.load(sys.stdin.buffer)
        except EOFError:  # the import went on without a reader (a file naming mostly registered projects)
            return
        mapped, _ = match_header(sheet.header, NAMES, REQUIRED, sheet.name)
        ctx = Context(_NoDatabase(), job.actor, job.request_id, job.now)  # type: ignore[arg-type]
        counts = {"created": 0, "updated": 0, "unchanged": 0, "refused": 0}
        checker = _Checker(ctx, name, mapped, job.report, counts, job.facts, True, job.lookups, job.chunk_rows)
        for kind, payload in checker.run(sheet.rows):  # read as they are checked
            _send(out, (kind, payload))
        _send(out, ("done", job.report, counts))
        os._exit(0)  # at once: all is said, and freeing every object the checks made one by one takes a while
    except BrokenPipeError:  # the importing process went away
        sys.exit(1)
    except BaseException:
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)
        with contextlib.suppress(OSError):
            _send(out, ("failed", trace))
        sys.exit(1)


def _send(out: IO[bytes], message: tuple[Any, ...]) -> None:
    pickle.dump(message, out, protocol=PROTOCOL)
    out.flush()
