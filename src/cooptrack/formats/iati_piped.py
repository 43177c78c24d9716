"""An IATI activity file read in a second process: the child parses the XML and reads each
activity (the same :class:`~cooptrack.formats.iati_read.IatiFile`, the same checks and findings,
``--xsd`` validation included) while the importing process writes the ones it has already
received. Two cores then share an import that one would do alone.

:class:`PipedFile` has the interface of ``IatiFile`` that the import uses: iterate for the
activities; afterwards ``findings``, ``refused``, ``fatal``, ``version``, ``generated``, ``count``
and ``bytes_read`` hold what the child's ``IatiFile`` held; ``bytes_so_far`` follows the child.
Given ``prepare``, the name of a function (``package.module:function``), the child applies it to
each activity it reads and sends what it returns instead (the import sends
``services.iati_mapping.prepared_tuple``: the mapping needs no database, and the activities'
objects then never cross the pipe). The function must return what ``marshal`` writes, and its
module should load quickly: the child's start is on the import's critical path.

- The child is a new interpreter (``python -m cooptrack.formats.iati_piped``), never a fork:
  imports run in a web server's thread pool, and forking a threaded process copies its locks in
  whatever state they are; ``multiprocessing``'s spawn and forkserver would import the caller's
  main module again in the child, which a script without a ``__main__`` guard does not survive.
  Starting it costs about 0.15 s of CPU, hence :data:`MIN_BYTES`.
- Activities (or what ``prepare`` made of them) travel in chunks (:data:`CHUNK` activities each,
  length-prefixed) over the child's standard output, as plain tuples of strings, numbers and lists
  (:func:`to_wire`) in ``marshal``'s format, in half the CPU time pickling the objects took (an
  object's ``__reduce__`` is a Python call per object); dates go as day numbers, decimals as
  their exact text. A thread of the importer takes up to :data:`AHEAD` chunks off the pipe ahead
  of it, then the child waits: memory stays bounded in the file size in both processes.
- A child that dies (killed, out of memory) or fails fails the import: :class:`ReaderFailed`
  (a :class:`CooptrackError`) is raised from the iteration, so the caller's transaction is
  rolled back and nothing is written. A consumer that stops early (its own error) kills the child.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from cooptrack.children import child_env
from cooptrack.errors import CooptrackError
from cooptrack.findings import Finding
from cooptrack.formats.iati_read import (
    Activity,
    ActivityDate,
    Coded,
    DocumentLink,
    FileState,
    IatiFile,
    Money,
    Narrative,
    Org,
    Place,
    load_schema,
)

try:
    import fcntl
except ImportError:  # not on Windows: the pipe keeps its size
    fcntl = None  # type: ignore[assignment]

CHUNK = 32  # activities per message: real activities average 5-20 kB
CHUNK_BYTES = 512 * 1024  # or fewer, once the child has read this much XML since its last message
PIPE_BYTES = 1024 * 1024  # the pipe's size, where the system allows it (Linux: pipe-max-size, 1 MB)
# Messages received ahead of the importer (a thread reads them off the pipe): an import works in
# batches (services.iati.BATCH, 64 activities), and with only the pipe's 64 kB between them the
# child would wait for the importer to finish a batch before reading on.
AHEAD = 16
MIN_BYTES = 4 * 1024 * 1024  # smaller files are read in the importing process
_STATE = ("findings", "refused", "fatal", "version", "generated", "count", "bytes_read")
_ACTIVITIES, _PREPARED, _END, _FAILED = "activities", "prepared", "end", "failed"
_LENGTH = struct.Struct("<Q")

# What the last child said of itself when it ended: its peak resident memory in kB (VmHWM), for
# the benchmark, which adds it to the importer's own peak.
last_child: dict[str, Any] = {}


class ReaderFailed(CooptrackError):
    """The reading process died or failed; nothing of the import may be written."""


def use_pipe(path: Path) -> bool:
    """Whether a file is large enough to be read in a second process."""
    if not sys.executable:  # an embedded interpreter: no python to start
        return False
    try:
        return path.stat().st_size >= MIN_BYTES
    except OSError:
        return False  # the in-process reader reports it


def _peak_kb() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# -- the wire format: an Activity as nested tuples and lists of str, int, None and dict ----------

_day = date.fromordinal


def _nar(items: list[Narrative]) -> list[tuple[str, str | None]]:
    return [(n.text, n.lang) for n in items]


def _nar_back(items: list[tuple[str, str | None]]) -> list[Narrative]:
    return [Narrative(text, lang) for text, lang in items]


def _org(o: Org | None) -> tuple[Any, ...] | None:
    return None if o is None else (_nar(o.narratives), o.ref, o.type, o.role, o.activity_id, o.attrs)


def _org_back(t: tuple[Any, ...] | None) -> Org | None:
    return None if t is None else Org(_nar_back(t[0]), *t[1:])


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)  # exact: Decimal(str(d)) is d, exponent included


def _dec_back(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _ord(day: date | None) -> int | None:
    return None if day is None else day.toordinal()


def _ord_back(n: int | None) -> date | None:
    return None if n is None else _day(n)


def _coded(c: Coded) -> tuple[Any, ...]:
    return c.code, c.vocabulary, _dec(c.percentage), c.vocabulary_uri, _nar(c.narratives)


def _coded_back(t: tuple[Any, ...]) -> Coded:
    return Coded(t[0], t[1], _dec_back(t[2]), t[3], _nar_back(t[4]))


def _money(m: Money) -> tuple[Any, ...]:
    return (m.kind, str(m.amount), m.currency, m.value_date.toordinal(), m.type, m.status, _ord(m.day),
            _ord(m.period_start), _ord(m.period_end), m.ref, _nar(m.description), _org(m.provider), _org(m.receiver),
            m.extra)


def _money_back(t: tuple[Any, ...]) -> Money:
    return Money(t[0], Decimal(t[1]), t[2], _day(t[3]), t[4], t[5], _ord_back(t[6]), _ord_back(t[7]), _ord_back(t[8]),
                 t[9], _nar_back(t[10]), _org_back(t[11]), _org_back(t[12]), t[13])


def to_wire(a: Activity) -> tuple[Any, ...]:
    """An activity as plain data for ``marshal`` (every field; :func:`from_wire` gives it back)."""
    return (
        a.source, a.line, a.position, a.identifier, a.attrs, _org(a.reporting_org), _nar(a.title),
        [(kind, _nar(texts)) for kind, texts in a.descriptions], [_org(p) for p in a.participants],
        a.other_identifiers, a.status, [(d.type, d.day.toordinal(), _nar(d.narratives)) for d in a.dates], a.codes,
        a.default_aid_types, a.capital_spend, [_coded(c) for c in a.countries], [_coded(c) for c in a.regions],
        [(_nar(p.name), p.ref, _dec(p.latitude), _dec(p.longitude), p.srs_name, p.xml) for p in a.locations],
        [_coded(c) for c in a.sectors], [_money(m) for m in a.finance],
        [(d.url, d.format, _nar(d.title), _nar(d.description), d.categories, d.languages, _ord(d.day))
         for d in a.documents],
        a.verbatim, [(f.code, f.message, f.field, f.value, f.row, f.source, f.severity) for f in a.findings],
        a.file_generated,
    )


def from_wire(t: tuple[Any, ...]) -> Activity:
    return Activity(
        t[0], t[1], t[2], t[3], t[4], _org_back(t[5]), _nar_back(t[6]), [(kind, _nar_back(x)) for kind, x in t[7]],
        [cast(Org, _org_back(p)) for p in t[8]], t[9], t[10],
        [ActivityDate(kind, _day(day), _nar_back(x)) for kind, day, x in t[11]], t[12], t[13], t[14],
        [_coded_back(c) for c in t[15]], [_coded_back(c) for c in t[16]],
        [Place(_nar_back(p[0]), p[1], _dec_back(p[2]), _dec_back(p[3]), p[4], p[5]) for p in t[17]],
        [_coded_back(c) for c in t[18]], [_money_back(m) for m in t[19]],
        [DocumentLink(d[0], d[1], _nar_back(d[2]), _nar_back(d[3]), d[4], d[5], _ord_back(d[6])) for d in t[20]],
        t[21], [Finding(*f) for f in t[22]], t[23],
    )


def _send(out: IO[bytes], message: tuple[str, Any, Any]) -> None:
    if message[0] == _ACTIVITIES:
        head, data = b"m", marshal.dumps((message[0], [to_wire(a) for a in message[1]], message[2]))
    elif message[0] == _PREPARED:
        head, data = b"m", marshal.dumps(message)
    else:
        head, data = b"p", pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data) + 1) + head)
    out.write(data)
    out.flush()


def _function(name: str) -> Callable[[Activity], Any]:
    """A function given as ``package.module:function``."""
    module, _, function = name.partition(":")
    found: Callable[[Activity], Any] = getattr(importlib.import_module(module), function)
    return found


def read_in_child(out: IO[bytes], path: str, xsd: str, name: str, chunk: int, prepare: str = "") -> None:
    """The child: read the file and send its activities (or what ``prepare`` makes of each), then
    its state (or the failure)."""
    gc.disable()  # as in the import: many small objects, almost no cycles
    try:
        kind, make = (_PREPARED, _function(prepare)) if prepare else (_ACTIVITIES, None)
        file = IatiFile(Path(path), load_schema(Path(xsd)) if xsd else None, name)
        batch: list[Any] = []
        sent = 0
        for activity in file:
            batch.append(activity if make is None else make(activity))
            if len(batch) >= chunk or file.bytes_so_far - sent >= CHUNK_BYTES:
                sent = file.bytes_so_far
                _send(out, (kind, batch, sent))
                batch = []
        if batch:
            _send(out, (kind, batch, file.bytes_so_far))
        _send(out, (_END, {key: getattr(file, key) for key in _STATE}, _peak_kb()))
    except BrokenPipeError:
        pass  # the importer stopped reading: nothing to tell it
    except BaseException:  # whatever it is, the importer must know it, and fail
        with contextlib.suppress(OSError):
            _send(out, (_FAILED, traceback.format_exc(), None))


def _decode(data: bytes) -> tuple[str, Any, Any]:
    """A message from the child: activities (marshal), else the end or the failure (pickle: findings)."""
    if data[:1] == b"m":
        kind, activities, extra = marshal.loads(memoryview(data)[1:])
        return kind, activities if kind == _PREPARED else [from_wire(t) for t in activities], extra
    message: tuple[str, Any, Any] = pickle.loads(memoryview(data)[1:])
    return message


class PipedFile(FileState):
    """One IATI activity file read in a child process; see the module's docstring. With
    ``prepare`` (``package.module:function``), the child applies that function to each activity
    and the iteration gives what it returns (values ``marshal`` writes) rather than activities."""

    def __init__(self, path: Path, xsd: Path | None = None, name: str | None = None, chunk: int | None = None,
                 prepare: str | None = None) -> None:
        self._begin(path, name)
        self.xsd = xsd
        self.chunk = chunk or CHUNK
        self.prepare = prepare
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bytes_so_far(self) -> int:
        return self.bytes_read

    def _start(self) -> subprocess.Popen[bytes]:
        env = child_env()
        args = [sys.executable, "-m", "cooptrack.formats.iati_piped", str(self.path),
                "" if self.xsd is None else str(self.xsd), self.name, str(self.chunk), self.prepare or ""]
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=env)
        set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
        if set_size is not None and process.stdout is not None:
            # Room for a whole message in the pipe (Linux's default is 64 kB): the thread that takes
            # them off waits for the interpreter's lock (up to 5 ms) before each, and the child
            # should not wait with it.
            with contextlib.suppress(OSError):
                fcntl.fcntl(process.stdout.fileno(), set_size, PIPE_BYTES)
        return process

    def _failed(self, why: str) -> ReaderFailed:
        return ReaderFailed(f"the process reading {self.name} {why}; nothing was imported")

    def __iter__(self) -> Iterator[Any]:
        process = self.process = self._start()
        stream = process.stdout
        assert stream is not None
        frames: queue.Queue[bytes | None] = queue.Queue(AHEAD)
        pump = threading.Thread(target=_pump, args=(stream, frames), name="cooptrack-iati-pipe", daemon=True)
        pump.start()
        ended = False
        try:
            while True:
                data = frames.get()
                if data is None:  # the child ended without its last word
                    process.wait()
                    raise self._failed(f"stopped before the end of the file (exit code {process.returncode})")
                try:
                    kind, payload, extra = _decode(data)
                except Exception as exc:  # not a message of ours: the child's output is broken
                    raise self._failed(f"sent what it should not ({type(exc).__name__}: {exc})") from None
                if kind in (_ACTIVITIES, _PREPARED):
                    self.bytes_read = extra
                    self.count += len(payload)
                    yield from payload
                elif kind == _END:
                    ended = True
                    for key, value in payload.items():
                        setattr(self, key, value)
                    last_child.clear()
                    last_child["peak_kb"] = extra
                    break
                else:
                    lines = str(payload).strip().splitlines()
                    raise self._failed(f"failed: {lines[-1] if lines else 'unknown error'}")
        finally:
            if process.poll() is None:
                if not ended:  # the consumer stopped early, or the child failed: no more reading
                    process.kill()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            while pump.is_alive():  # it ends at the end of the pipe; it may wait for room first
                with contextlib.suppress(queue.Empty):
                    frames.get(timeout=0.1)
            stream.close()


def _pump(stream: IO[bytes], frames: queue.Queue[bytes | None]) -> None:
    """Move the child's messages from the pipe to ``frames`` (None at the end of the pipe)."""
    try:
        while True:
            head = stream.read(_LENGTH.size)
            size = _LENGTH.unpack(head)[0] if len(head) == _LENGTH.size else -1
            data = stream.read(size) if size > 0 else b""
            if size <= 0 or len(data) != size:
                break
            frames.put(data)
    except (OSError, ValueError):  # the pipe closed under it
        pass
    frames.put(None)


def main(argv: list[str]) -> None:
    path, xsd, name, chunk, prepare = argv
    # The messages go to the original standard output alone: whatever else would be printed (a
    # library's warning) goes where standard error goes.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    read_in_child(out, path, xsd, name, int(chunk), prepare)
    with contextlib.suppress(OSError):  # the importer may have stopped reading
        out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
