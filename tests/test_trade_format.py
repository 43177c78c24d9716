"""The edges of reading Comtrade files: encodings found late in a file, line numbers across
quoted line breaks, JSON that is not a list of records, legacy codes out of the tables, and the
stored form of the values (the import writes what the column types would)."""

from __future__ import annotations

from decimal import Decimal

from conftest import count_rows
from sqlalchemy import select, text
from test_trade import HEADER, flat, observations, plus_csv, refused, run_import

from cooptrack.formats.comtrade import open_trade_file
from cooptrack.services.context import Context
from cooptrack.services.observations import ObservationSpec, add_observation
from cooptrack.services.trade import import_trade_file
from cooptrack.store.models import Observation

LEGACY_HEADER = ("Year,Reporter Code,Trade Flow Code,Partner Code,Classification,Commodity Code,Quantity Unit Code,"
                 "Supplementary Quantity,Netweight (kg),Value,Estimation Code")


def test_latin1_byte_after_the_first_megabyte(tmp_path):
    rows = [{"period": str(year), "refYear": str(year), "cmdDesc": "padding " * 20} for year in range(1000, 6000)]
    rows.append({"period": "4600", "partnerCode": "531", "partnerDesc": "Curaçao"})
    path = plus_csv(tmp_path / "late.csv", rows)
    assert path.stat().st_size > 1 << 20
    assert path.read_bytes().index("ç".encode("latin-1")) > 1 << 20
    opened = open_trade_file(path)
    assert opened.encoding == "latin-1"
    last = [row for chunk in opened.chunks for row in chunk.rows][-1]
    assert last[HEADER.index("partnerDesc")] == "Curaçao"


def test_line_numbers_across_a_quoted_line_break(cli, store, tmp_path):
    path = plus_csv(tmp_path / "multiline.csv", [{"partnerDesc": "Rep. of\nKorea"}, {"partnerCode": "156"},
                                                  {"partnerCode": "643", "primaryValue": "x"}])
    out = refused(cli, store, path)
    assert flat(out, "code", "row") == [["bad_number", 5]]  # the first row spans lines 2 and 3


def test_an_amount_with_a_line_break_is_not_a_number(cli, store, tmp_path):
    # Amounts are checked a whole column at a time, joined by line breaks: a break inside a cell
    # must not pass as two plain numbers.
    path = plus_csv(tmp_path / "break.csv", [{"partnerCode": "156"}, {"partnerCode": "643", "primaryValue": "12\n34"},
                                             {"partnerCode": "392", "netWgt": "5\n6"}])
    out = refused(cli, store, path)
    assert flat(out, "code", "row", "field") == [["bad_number", 3, "primaryValue"], ["bad_number", 5, "netWgt"]]


def test_json_edge_cases(cli, store, tmp_path):
    (tmp_path / "bad.json").write_text('{"data": [1, 2,]}')
    out = refused(cli, store, tmp_path / "bad.json")
    assert flat(out, "code", "row") == [["bad_json", 1]]
    assert out["findings"][0]["message"].startswith("bad.json is not valid JSON: Expecting value at line 1")
    (tmp_path / "list.json").write_text("[]")
    assert flat(refused(cli, store, tmp_path / "list.json"), "code") == [["no_data"]]
    (tmp_path / "records.json").write_text(
        '{"data": [{"reporterCode": 398, "partnerCode": 410, "flowCode": "X", "cmdCode": "TOTAL", '
        '"primaryValue": 12.5, "period": "2019", "freqCode": "A"}, "oops"]}')
    out = refused(cli, store, tmp_path / "records.json")
    assert flat(out, "code", "row", "message") == [["bad_record", 2, "record 2 of data[] is not an object"]]
    (tmp_path / "empty.json").write_text('{"data": []}')
    code, out = run_import(cli, tmp_path / "empty.json")
    assert code == 0
    assert flat(out, "code", "severity") == [["no_rows", "warning"]]
    assert out["summary"] == {"created": 0, "unchanged": 0, "skipped": 0, "refused": 0}


def test_legacy_codes_out_of_the_tables(cli, store, tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_text("\r\n".join([LEGACY_HEADER, '2010,699,2,156,"H3","0202",14,5,5,10,0',
                                 '2010,699,2,156,"H3","0203",8,5,5,10,3', '2010,699,5,156,"H3","0204",8,5,5,10,0',
                                 '2010,699,2,156,"S3","0205",8,5,5,10,0', ""]))
    out = refused(cli, store, path)
    assert flat(out, "code", "row", "field", "value") == [
        ["unknown_unit", 2, "Quantity Unit Code", "14"], ["unknown_estimation_code", 3, "Estimation Code", "3"],
        ["unknown_flow", 4, "Trade Flow Code", "5"], ["unknown_classification", 5, "Classification", "S3"]]
    assert out["findings"][2]["message"] == ("Trade Flow Code '5' is not a trade flow cooptrack knows; use one of "
                                             "1, 2, 3, 4")


def test_stored_form_matches_the_column_types(cli, store, write, tmp_path):
    """The import writes values in the form the ORM's column types bind: the same text on SQLite,
    the same numbers on PostgreSQL, as an observation added through the service."""
    assert run_import(cli, plus_csv(tmp_path / "forms.csv", [
        {"partnerCode": "156", "primaryValue": "900.50", "netWgt": "1.0E+3", "qty": "0012", "qtyUnitCode": "8",
         "qtyUnitAbbr": "kg"}]))[0] == 0
    with write() as ctx:
        add_observation(ctx, ObservationSpec(indicator="exports", reporter="KAZ", partner="KOR", period="2019",
                                             value="900.50", unit="USD", value_basis="primary", quantity="0012",
                                             quantity_unit="kg", net_weight_kg="1.0E+3"))
    columns = "value, net_weight_kg, quantity, period_start, period_end, unit, value_basis, flags, version"
    with store.engine.connect() as conn:
        imported, added = conn.execute(text(f"SELECT {columns} FROM observations ORDER BY id")).all()
    assert tuple(imported) == tuple(added)
    if store.dialect == "sqlite":
        assert tuple(imported)[:3] == ("900.5", "1000", "12")
    [row] = observations(store, partner="CHN")
    assert (row["value"], row["weight"], row["quantity"]) == (Decimal("900.5"), Decimal("1000"), Decimal("12"))


def test_service_reports_progress_and_keeps_the_gc_on(store, tmp_path):
    import gc

    path = plus_csv(tmp_path / "p.csv", [{"partnerCode": "156"}, {"partnerCode": "410"}])
    calls: list[object] = []

    class Bar:
        def __init__(self, total: int) -> None:
            calls.append(("total", total))

        def __enter__(self):
            return lambda n: calls.append(("advance", n))

        def __exit__(self, *exc: object) -> None:
            calls.append("done")

    with store.write() as session:
        result = import_trade_file(Context(session, "tester"), path, progress=Bar)
    assert result.summary["created"] == 2
    assert calls == [("total", 2), ("advance", 2), "done"]
    assert gc.isenabled()
    with store.read() as session:
        assert len(session.scalars(select(Observation)).all()) == 2


def test_dry_run_writes_nothing(store, tmp_path):
    before = count_rows(store)
    path = plus_csv(tmp_path / "dry.csv", [{"partnerCode": "156"}])
    with store.write() as session:
        result = import_trade_file(Context(session, "tester"), path, dry_run=True)
    assert result.summary == {"to create": 1, "unchanged": 0, "skipped": 0, "refused": 0}
    assert result.source_id is None
    assert count_rows(store) == before


def test_duplicate_rows_far_apart(cli, store, tmp_path):
    """Rows are read in chunks of a few thousand: a figure repeated in another chunk is found too."""
    rows = [{"period": str(year), "refYear": str(year)} for year in range(1000, 4000)]
    rows.append({"period": "1000", "refYear": "1000", "primaryValue": "5"})
    out = refused(cli, store, plus_csv(tmp_path / "far.csv", rows))
    assert flat(out, "code", "row", "message") == [
        ["duplicate_row", 3002, "the same figure (exports of KAZ with KOR, all commodities, 1000) is on line 2 "
                                "already; remove one of the two rows"]]
