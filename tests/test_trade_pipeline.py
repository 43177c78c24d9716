"""A large Comtrade file is read and checked by a second process while the importing one writes
(services.trade_pipeline): the same findings, counts, source, audit event and observations as
the one-process import, on the same input; and a reader that fails, or a writer that fails,
stops the import cleanly with nothing written and no process left behind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_trade import JSON_PARTNER, JSON_WORLD, LEGACY, PLUS, plus_csv

from cooptrack.services import trade, trade_pipeline
from cooptrack.services.context import Context
from cooptrack.services.trade import import_trade_file
from cooptrack.services.trade_pipeline import ReaderFailed
from cooptrack.store.models import AuditEvent, Observation, Source

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HERE, PIPED = -1, 0  # pipeline_bytes: never, always
STAMPS = ("created_at", "updated_at")  # a source's own, set when it is added


class _Undo(Exception):
    pass


def _plain(obj: Any, *drop: str) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in ("id", *drop)}


def imported(store: Any, path: Path, pipeline_bytes: int, **options: Any) -> dict[str, Any]:
    """One import: what it reports and what it writes (read back in its transaction), then
    rolled back, so that the other way can import the same file into the same database."""
    seen: dict[str, Any] = {}
    with pytest.raises(_Undo), store.write() as session:
        result = import_trade_file(Context(session, "tester", now=NOW), path, pipeline_bytes=pipeline_bytes,
                                   **options)
        report = result.report
        source = session.get(Source, result.source_id) if result.source_id else None
        seen = {
            "result": (result.file, result.format, result.encoding, result.rows, result.summary, result.dry_run,
                       result.source_id is not None),
            "report": ([dataclasses.asdict(f) for f in report.findings], report.truncated, report.dropped_errors,
                       report.valid),
            "source": _plain(source, *STAMPS) if source else None,
            "observations": [(_plain(o, "source_id"), o.source_id == result.source_id)
                             for o in session.scalars(select(Observation).order_by(Observation.id))],
            "sources": session.scalar(select(func.count()).select_from(Source)),
            "audit": [(e.actor, e.action, e.entity, {k: v for k, v in (e.after or {}).items()
                                                     if k not in ("id", *STAMPS)})
                      for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))],
        }
        raise _Undo
    return seen


def same_both_ways(store: Any, path: Path, **options: Any) -> dict[str, Any]:
    here = imported(store, path, HERE, **options)
    piped = imported(store, path, PIPED, **options)
    for key in here:
        assert piped[key] == here[key], key
    return here


ROWS = [  # every kind of row the checks tell apart, each of them somewhere in the file
    {"partnerCode": "410"},
    {"partnerCode": "156", "primaryValue": "1.50", "cifvalue": "0100", "fobvalue": "12.0"},  # not Amount's text
    {"partnerCode": "643", "flowCode": "M", "qtyUnitCode": "8", "qtyUnitAbbr": "kg", "qty": "12.5",
     "isQtyEstimated": "true", "netWgt": "7", "isNetWgtEstimated": "true"},
    {"partnerCode": "392", "flowCode": "DX"},  # a part flow where the file has no X row: kept
    {"partnerCode": "410", "flowCode": "DX"},  # a part flow where it has one: left out
    {"partnerCode": "410", "flowCode": "XIP"},  # processing trade: left out
    {"partnerCode": "490"},  # an area without an ISO code: left out
    {"partnerCode": "398"},  # the reporter itself: left out
    {"partnerCode": "276", "partner2Code": "156"},  # a breakdown: left out
    {"partnerCode": "276", "freqCode": "M", "period": "201907"},
    {"partnerCode": "276", "classificationCode": "H3", "cmdCode": "030110"},  # an HS 2007 code not in HS 2022
    {"partnerCode": "276", "isReported": "false", "cmdCode": "8542"},
    {"partnerCode": "251", "qtyUnitCode": "13", "qtyUnitAbbr": "", "qty": "3"},
]
ERRORS = [
    {"partnerCode": "410", "period": "1950", "refYear": "1950"},  # a row of 1950 again: a duplicate
    {"partnerCode": "842", "primaryValue": "x"},
    {"partnerCode": "826", "primaryValue": "-5"},
    {"partnerCode": "124", "primaryValue": ""},
    {"partnerCode": "999"},
    {"partnerCode": "124", "cmdCode": "030110"},
    {"partnerCode": "124", "flowCode": "Q"},
    {"partnerCode": "124", "qtyUnitCode": "77", "qtyUnitAbbr": ""},
]


def many(rows: list[dict[str, str]], years: range) -> list[dict[str, str]]:
    """The rows again for every year: several chunks (comtrade.CHUNK rows each)."""
    return [{**row, "period": str(y), "refYear": str(y), **({"period": f"{y}07"} if row.get("freqCode") else {})}
            for y in years for row in rows]


def test_rows_and_findings_the_same_both_ways(store, tmp_path):
    path = plus_csv(tmp_path / "kinds.csv", many(ROWS, range(1700, 2100)))  # 5,200 rows, three chunks
    out = same_both_ways(store, path, max_findings=10_000)
    assert same_both_ways(store, path)["report"][:3] == (out["report"][0][:100], True, 0)  # the default limit
    assert out["result"][4] == {"created": 3200, "unchanged": 0, "skipped": 2000, "refused": 0}
    codes = {f["code"] for f in out["report"][0]}
    assert codes == {"part_flow", "processing_flow", "partner_area", "same_country", "breakdown", "hs_not_2022"}
    assert len(out["observations"]) == 3200 and all(mine for _, mine in out["observations"])
    assert out["audit"][0][3]["created"] == 3200


def test_errors_the_same_both_ways_nothing_written(store, tmp_path):
    rows = many(ROWS, range(1900, 2100))
    rows[2500:2500] = ERRORS  # in the second chunk, after many rows were sent to be written
    path = plus_csv(tmp_path / "errors.csv", rows)
    out = same_both_ways(store, path)
    assert out["report"][3] is False and out["observations"] == [] and out["sources"] == 0
    assert {f["code"] for f in out["report"][0] if f["severity"] == "error"} == {
        "bad_number", "negative_value", "missing_value", "unknown_country_code", "unknown_hs_code", "unknown_flow",
        "unknown_unit", "duplicate_row"}
    skipped = same_both_ways(store, path, skip_invalid=True)
    assert skipped["report"][3] is True and len(skipped["observations"]) == skipped["result"][4]["created"] > 0


def test_bad_csv_lines_the_same_both_ways(store, tmp_path):
    path = plus_csv(tmp_path / "lines.csv", many(ROWS, range(1950, 2000))
                    + [{"partnerCode": "410", "partnerDesc": "Rep. of\nKorea", "period": "2001", "refYear": "2001"}])
    with path.open("ab") as fh:
        fh.write(b'"C","A",short row\r\n"C","A","20140101","2014","52","2014","764","THA","Thailand","M","Imp",'
                 b'"410","KOR","Rep. \xe7","0","W00","World","H6","H6","true","8542","x"ba"d\r\n')
    out = same_both_ways(store, path)
    assert {f["code"] for f in out["report"][0] if f["severity"] == "error"} >= {"bad_row"}


@pytest.mark.parametrize("sample", [PLUS, LEGACY, JSON_PARTNER, JSON_WORLD], ids=lambda p: p.suffix + p.stem[:8])
def test_samples_the_same_both_ways(store, shared_data, sample):
    out = same_both_ways(store, shared_data / sample)
    assert out["report"][3] is True and out["observations"]


def test_encodings_the_same_both_ways(store, tmp_path):
    rows = many([{"partnerCode": "531", "partnerDesc": "Curaçao"}, {"partnerCode": "410", "cmdDesc": "€ values"}],
                range(1000, 2100))
    for encoding, bom in (("utf-8", True), ("cp1252", False)):
        path = plus_csv(tmp_path / f"{encoding}.csv", rows, encoding=encoding, bom=bom)
        assert same_both_ways(store, path)["result"][2] == ("utf-8-sig" if bom else encoding)


def test_imported_before_and_dry_run_read_here(store, tmp_path, monkeypatch):
    path = plus_csv(tmp_path / "twice.csv", many(ROWS, range(1990, 2000)))
    started: list[Any] = []
    original = trade_pipeline.Reader.start
    monkeypatch.setattr(trade_pipeline.Reader, "start", classmethod(lambda cls: started.append(original()) or
                                                                     started[-1]))
    with store.write() as session:
        dry = import_trade_file(Context(session, "tester"), path, dry_run=True, pipeline_bytes=PIPED)
    assert not started
    with store.write() as session:
        first = import_trade_file(Context(session, "tester"), path, pipeline_bytes=PIPED)
    assert len(started) == 1 and first.summary["created"] == dry.summary["to create"] > 0
    with store.write() as session:
        again = import_trade_file(Context(session, "tester"), path, pipeline_bytes=PIPED)
    assert again.summary == {"created": 0, "unchanged": first.summary["created"], "skipped": 0, "refused": 0}
    assert len(started) == 2 and all(r.process.returncode is not None for r in started)  # none left running


def test_threshold(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * 1000)
    monkeypatch.delenv(trade_pipeline.ENV, raising=False)
    assert not trade_pipeline.wanted(path, None)  # PIPELINE_BYTES: far more
    assert trade_pipeline.wanted(path, 1000) and not trade_pipeline.wanted(path, 1001)
    assert not trade_pipeline.wanted(path, -1) and not trade_pipeline.wanted(tmp_path / "absent.csv", 0)
    monkeypatch.setenv(trade_pipeline.ENV, "0")
    assert trade_pipeline.wanted(path, None) and not trade_pipeline.wanted(path, -1)
    monkeypatch.setenv(trade_pipeline.ENV, "-1")
    assert not trade_pipeline.wanted(path, None)


# --- failures -----------------------------------------------------------------------------

# The reader's start, with one thing made to fail (the rest of BOOT as it is).
PATCHED = "from cooptrack.services import trade_checks, trade_pipeline\n{}\ntrade_pipeline.main()\n"
RAISES = PATCHED.format("def chunk(self, chunk):\n    raise RuntimeError('checking broke')\n"
                        "trade_checks.Checker.chunk = chunk")
DIES_MID_WAY = PATCHED.format("import os\nsend = trade_pipeline._Sender.send\n"
                              "def dying(self, message, sent=[]):\n"
                              "    sent.append(1)\n"
                              "    if len(sent) == 2: os._exit(3)\n"
                              "    send(self, message)\n"
                              "trade_pipeline._Sender.send = dying")
DIES_AT_ONCE = "import os\nos._exit(4)\n"


def _boot(replacement: str) -> str:
    return trade_pipeline.BOOT[:trade_pipeline.BOOT.index("from cooptrack.services.trade_pipeline")] + replacement


@pytest.mark.parametrize(("boot", "said"), [
    (RAISES, "it failed: RuntimeError: checking broke"),
    (DIES_MID_WAY, "it stopped with exit code 3"),
    (DIES_AT_ONCE, "it stopped with exit code 4"),
], ids=["raises", "dies-mid-way", "dies-at-once"])
def test_a_failing_reader_fails_the_import(store, tmp_path, monkeypatch, boot, said):
    path = plus_csv(tmp_path / "big.csv", many(ROWS, range(1800, 2000)))
    monkeypatch.setattr(trade_pipeline, "BOOT", _boot(boot) if boot is not DIES_AT_ONCE else boot)
    readers = _watch(monkeypatch)
    with pytest.raises(ReaderFailed) as failed, store.write() as session:
        import_trade_file(Context(session, "tester"), path, pipeline_bytes=PIPED)
    assert failed.value.message.startswith("big.csv was not imported, nothing was written: the process reading "
                                           f"the file {said}")
    assert readers[0].process.returncode is not None
    _nothing_written(store)


def test_a_failing_writer_stops_the_reader(store, tmp_path, monkeypatch):
    path = plus_csv(tmp_path / "big.csv", many(ROWS, range(1800, 2000)))
    readers = _watch(monkeypatch)
    calls: list[int] = []
    write = trade._Writer.write

    def failing(self: Any, batch: list[tuple[Any, ...]]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError("disk full")
        write(self, batch)

    monkeypatch.setattr(trade._Writer, "write", failing)
    with pytest.raises(OSError, match="disk full"), store.write() as session:
        import_trade_file(Context(session, "tester"), path, pipeline_bytes=PIPED)
    assert readers[0].process.returncode is not None  # killed, not left writing into a pipe nobody reads
    _nothing_written(store)


def _watch(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    readers: list[Any] = []
    original = trade_pipeline.Reader.start

    def start(cls: Any) -> Any:
        readers.append(original())
        return readers[-1]

    monkeypatch.setattr(trade_pipeline.Reader, "start", classmethod(start))
    return readers


def _nothing_written(store: Any) -> None:
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 0
        assert session.scalar(select(func.count()).select_from(Source)) == 0


def test_no_second_process_to_be_had(store, tmp_path, monkeypatch):
    path = plus_csv(tmp_path / "kinds.csv", many(ROWS, range(1990, 2000)))
    here = imported(store, path, HERE)

    def refused(*args: Any, **kwargs: Any) -> None:
        raise OSError("fork: Resource temporarily unavailable")

    monkeypatch.setattr(trade_pipeline.subprocess, "Popen", refused)
    assert imported(store, path, PIPED) == here  # read in this process instead
