"""`cooptrack import trade`: the three UN Comtrade formats (the four sample files in
/work/shared/data/comtrade), their mapping to observations, re-imports, and bad input refused
with a finding naming the file, line and field, exit code 1 and nothing written."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import count_rows
from sqlalchemy import select

from cooptrack.store.models import AuditEvent, Indicator, Observation, Source

PLUS = Path("comtrade/comtradeplus-api-csv/THA_imports_HS8542_by_partner_2014-2024.csv")
LEGACY = Path("comtrade/legacy-bulk-csv/h3_china_india.csv")
JSON_PARTNER = Path("comtrade/comtradeplus-api-json/india_exports_2022_single_partner.json")
JSON_WORLD = Path("comtrade/comtradeplus-api-json/india_exports_2022_world_total.json")

HEADER_LINE = (  # the 47 columns of a Comtrade+ CSV, as in the sample
    "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,reporterDesc,flowCode,flowDesc,"
    "partnerCode,partnerISO,partnerDesc,partner2Code,partner2ISO,partner2Desc,classificationCode,"
    "classificationSearchCode,isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,"
    "mosCode,motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,altQtyUnitAbbr,altQty,"
    "isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,isGrossWgtEstimated,cifvalue,fobvalue,primaryValue,"
    "legacyEstimationFlag,isReported,isAggregate"
)
HEADER = HEADER_LINE.split(",")
DEFAULTS = {
    "typeCode": "C", "freqCode": "A", "refYear": "2019", "refMonth": "52", "period": "2019", "reporterCode": "398",
    "flowCode": "X", "partnerCode": "410", "partner2Code": "0", "classificationCode": "H6", "cmdCode": "TOTAL",
    "customsCode": "C00", "mosCode": "0", "motCode": "0", "qtyUnitCode": "-1", "qtyUnitAbbr": "N/A",
    "isQtyEstimated": "false", "isNetWgtEstimated": "false", "primaryValue": "100", "isReported": "true",
}


def plus_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER, encoding: str = "latin-1",
             bom: bool = False) -> Path:
    """A Comtrade+ CSV as the site writes it: every value quoted, a comma ending each data row."""
    lines = [",".join(header)]
    for row in rows:
        values = {**DEFAULTS, **row}
        lines.append(",".join(f'"{values[h]}"' if values.get(h, "") != "" else "" for h in header) + ",")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def run_import(cli: Any, path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("import", "trade", str(path), "--json", *args)
    assert "Traceback" not in result.stderr
    return result.exit_code, json.loads(result.stdout)


def flat(report: dict[str, Any], *keys: str) -> list[list[Any]]:
    return [[f[k] for k in keys] for f in report["findings"]]


def observations(store: Any, **where: Any) -> list[dict[str, Any]]:
    """Stored observations as plain dicts, read back through the ORM (so through the column types)."""
    with store.read() as session:
        query = select(Observation, Indicator.code).join(Indicator).order_by(Observation.id)
        for key, value in where.items():
            column = getattr(Observation, key)
            query = query.where(column.is_(None) if value is None else column == value)
        return [{"indicator": code, "reporter": o.reporter, "partner": o.partner, "hs": o.hs_code,
                 "period": o.period, "start": o.period_start.isoformat(), "end": o.period_end.isoformat(),
                 "value": o.value, "unit": o.unit, "basis": o.value_basis, "cif": o.cif_value, "fob": o.fob_value,
                 "quantity": o.quantity, "quantity_unit": o.quantity_unit, "weight": o.net_weight_kg,
                 "flags": o.flags, "note": o.note, "source": o.source_id}
                for o, code in session.execute(query).tuples()]


# --- the sample files ---------------------------------------------------------------------


def test_comtradeplus_csv_latin1(cli, store, shared_data):
    code, out = run_import(cli, shared_data / PLUS)
    assert code == 0, out
    assert out["summary"] == {"created": 1148, "unchanged": 0, "skipped": 30, "refused": 0}
    assert out["valid"] and out["errors"] == 0 and out["warnings"] == 30
    findings = flat(out, "code", "row", "field", "value")
    assert findings[:3] == [["partner_area", 63, "partnerCode", "490"], ["same_country", 103, "partnerCode", "764"],
                            ["partner_area", 116, "partnerCode", "899"]]
    assert sorted({f[0] for f in findings}) == ["partner_area", "same_country"]
    assert out["findings"][0]["message"] == ("partner 490 (Other Asia, nes) is an area, not a country with an ISO "
                                             "3166 code; the row is left out")
    assert out["findings"][0]["source"] == PLUS.name

    with store.read() as session:
        source = session.scalars(select(Source)).one()
        assert (source.title, source.kind, source.filename, source.text) == (
            "THA imports HS8542 by partner 2014-2024", "dataset", PLUS.name, None)
        assert source.note == "Comtrade+ CSV, latin-1, 398,036 bytes"
        events = session.scalars(select(AuditEvent)).all()
    assert len(events) == 1 and (events[0].action, events[0].entity) == ("import", "source")
    assert events[0].after is not None and events[0].after["created"] == 1148
    assert events[0].after["by_indicator"] == {"imports": 1148}

    rows = observations(store)
    assert len(rows) == 1148 and {r["source"] for r in rows} == {source.id}
    assert {(r["indicator"], r["reporter"], r["hs"], r["unit"], r["basis"]) for r in rows} == {
        ("imports", "THA", "8542", "USD", "primary")}
    korea = {r["period"]: r for r in observations(store, partner="KOR")}
    assert len(korea) == 11
    assert korea["2019"] == {
        "indicator": "imports", "reporter": "THA", "partner": "KOR", "hs": "8542", "period": "2019",
        "start": "2019-01-01", "end": "2019-12-31", "value": Decimal("747103306.928"), "unit": "USD",
        "basis": "primary", "cif": Decimal("747103306.928"), "fob": None, "quantity": None, "quantity_unit": None,
        "weight": Decimal("1647989.243"), "flags": "estimated",
        "note": "net weight estimated; derived by UN Comtrade (isReported false)", "source": source.id}
    assert (korea["2014"]["value"], korea["2014"]["weight"], korea["2014"]["flags"], korea["2014"]["note"]) == (
        Decimal("662296959"), None, "", None)
    kazakhstan = observations(store, partner="KAZ")
    assert [(r["period"], r["value"], r["quantity"], r["quantity_unit"], r["weight"]) for r in kazakhstan] == [
        ("2024", Decimal("421.32"), Decimal("1"), "u", Decimal("17"))]
    world = observations(store, partner=None)
    assert [(r["period"], r["value"]) for r in world][:2] == [("2014", Decimal("9680795326")),
                                                              ("2015", Decimal("9389778348.49"))]
    assert len(world) == 11


def test_latin1_curacao_row(cli, store, shared_data):
    """The file is Latin-1: its 'Curaçao' lines decode to the right text and import."""
    from cooptrack.formats.comtrade import open_trade_file

    opened = open_trade_file(shared_data / PLUS)
    assert (opened.encoding, opened.layout.name) == ("latin-1", "comtradeplus-csv")
    found = [(line, row) for chunk in opened.chunks for line, row in zip(chunk.lines, chunk.rows, strict=True)
             if row[HEADER.index("partnerCode")] == "531"]
    assert [(line, row[HEADER.index("partnerDesc")], row[HEADER.index("refYear")]) for line, row in found] == [
        (72, "Curaçao", "2014"), (175, "Curaçao", "2015"), (389, "Curaçao", "2017"), (721, "Curaçao", "2020")]
    assert all(len(row) == len(HEADER) + 1 and row[-1] == "" for _, row in found)  # the trailing comma

    assert run_import(cli, shared_data / PLUS)[0] == 0
    curacao = observations(store, partner="CUW")
    assert [(r["period"], r["value"], r["quantity"], r["quantity_unit"], r["weight"], r["flags"]) for r in curacao] == [
        ("2014", Decimal("7018"), None, None, None, ""),
        ("2015", Decimal("1963.27"), Decimal("2500"), "u", Decimal("71.839"), "estimated"),
        ("2017", Decimal("8476"), Decimal("1"), "u", Decimal("21"), ""),
        ("2020", Decimal("1522.884"), Decimal("250"), "u", Decimal("14.43"), "estimated")]


def test_legacy_bulk_csv(cli, store, shared_data):
    from cooptrack import codes

    lines = (shared_data / LEGACY).read_text().splitlines()[1:]
    commodities = [line.split(",")[5].strip('"') for line in lines if line.strip()]
    old = [c for c in commodities if c != "TOTAL" and codes.commodity(c) is None]
    assert (len(commodities), len(old), len(set(old))) == (8739, 389, 275)

    code, out = run_import(cli, shared_data / LEGACY, "--max-findings", "300")
    assert code == 0, out
    assert out["summary"] == {"created": 8739, "unchanged": 0, "skipped": 0, "refused": 0}
    # HS 2007 codes HS 2022 no longer has: kept, one warning per code, a note on each row
    assert out["warnings"] == 275 and not out["truncated"]
    assert {f["code"] for f in out["findings"]} == {"hs_not_2022"}
    first = out["findings"][0]
    assert (first["row"], first["field"], first["value"], first["message"]) == (
        9, "Commodity Code", "030110", "commodity code 030110 is not in HS 2022; kept as reported on 1 row, each with "
                                       "a note")
    rows = observations(store)
    assert len(rows) == 8739
    assert sum(1 for r in rows if r["note"] and "not in HS 2022" in r["note"]) == 389
    assert {(r["reporter"], r["partner"], r["period"]) for r in rows} == {("IND", "CHN", "2010")}
    assert {r["indicator"] for r in rows} == {"imports", "exports"}
    by_key = {(r["indicator"], r["hs"]): r for r in rows}
    beef = by_key[("exports", "0202")]  # 2010,699,2,156,"H3","0202",8,19911,19911,68010,6
    assert (beef["value"], beef["quantity"], beef["quantity_unit"], beef["weight"], beef["flags"], beef["note"],
            beef["cif"], beef["fob"]) == (Decimal("68010"), Decimal("19911"), "kg", Decimal("19911"), "estimated",
                                          "quantity and net weight estimated", None, None)
    diamonds = by_key[("imports", "710239")]  # unit code 13, the carat
    assert (diamonds["value"], diamonds["quantity"], diamonds["quantity_unit"], diamonds["weight"]) == (
        Decimal("32458905"), Decimal("61073"), "carat", None)
    no_quantity = by_key[("exports", "050610")]  # unit code 1: no quantity
    assert (no_quantity["value"], no_quantity["quantity"], no_quantity["quantity_unit"]) == (Decimal("47"), None, None)
    old = by_key[("exports", "030110")]  # 2010,699,2,156,"H3","030110",1,,,7841,0
    assert (old["value"], old["note"]) == (Decimal("7841"), "HS 2007 code 030110, not in HS 2022")
    assert by_key[("imports", None)]["value"] == Decimal("41249115786")  # TOTAL: all commodities
    assert by_key[("exports", None)]["value"] == Decimal("17439991278")
    assert by_key[("exports", "99")]["value"] == Decimal("18644659")  # level 2


@pytest.mark.parametrize(("name", "partner", "value"), [
    (JSON_PARTNER, "USA", Decimal("80230193279.727")),
    (JSON_WORLD, None, Decimal("452684213646.747")),
])
def test_comtradeplus_json(cli, store, shared_data, name, partner, value):
    code, out = run_import(cli, shared_data / name)
    assert code == 0, out
    assert out["summary"] == {"created": 1, "unchanged": 0, "skipped": 0, "refused": 0}
    assert out["findings"] == []
    [row] = observations(store)
    assert row == {"indicator": "exports", "reporter": "IND", "partner": partner, "hs": None, "period": "2022",
                   "start": "2022-01-01", "end": "2022-12-31", "value": value, "unit": "USD", "basis": "primary",
                   "cif": None, "fob": value, "quantity": None, "quantity_unit": None, "weight": Decimal("0"),
                   "flags": "estimated", "note": "net weight estimated; derived by UN Comtrade (isReported false)",
                   "source": row["source"]}
    with store.read() as session:
        assert session.get(Source, row["source"]).media_type == "application/json"  # type: ignore[union-attr]


def test_reimport_is_unchanged(cli, store, shared_data, tmp_path):
    assert run_import(cli, shared_data / PLUS)[0] == 0
    before = count_rows(store)
    code, out = run_import(cli, shared_data / PLUS)
    assert code == 0
    assert out["summary"] == {"created": 0, "unchanged": 1148, "skipped": 0, "refused": 0}
    assert count_rows(store) == before
    # the same bytes under another name are the same source
    copy = tmp_path / "copy.csv"
    copy.write_bytes((shared_data / PLUS).read_bytes())
    assert run_import(cli, copy)[1]["summary"]["unchanged"] == 1148
    text = cli("import", "trade", str(copy))
    assert text.exit_code == 0
    assert "copy.csv: already imported as source 1; nothing to do" in text.stdout
    assert "0 created, 1,148 unchanged, 0 skipped, 0 refused" in text.stdout
    assert count_rows(store) == before


def test_table_output_and_dry_run(cli, store, shared_data):
    before = count_rows(store)
    result = cli("import", "trade", str(shared_data / LEGACY), "--dry-run", "--max-findings", "2")
    assert result.exit_code == 0, result.stderr
    assert "h3_china_india.csv: legacy Comtrade bulk CSV, utf-8, 8,739 rows (dry run: nothing was written)" in (
        result.stdout)
    assert "8,739 to create, 0 unchanged, 0 skipped, 0 refused" in result.stdout
    assert "raise --max-findings to see more" in result.stderr
    assert count_rows(store) == before
    result = cli("import", "trade", str(shared_data / LEGACY))
    assert result.exit_code == 0
    assert "stored as source 1" in result.stdout and "8,739 created" in result.stdout


# --- what the rules decide, on small files --------------------------------------------------


def test_flows_periods_and_quantities(cli, store, tmp_path):
    path = plus_csv(tmp_path / "flows.csv", [
        {"flowCode": "M", "partnerCode": "156", "cmdCode": "2709", "primaryValue": "1000", "cifvalue": "1000"},
        {"flowCode": "X", "partnerCode": "156", "cmdCode": "2709", "primaryValue": "900.50", "fobvalue": "900.5",
         "qty": "12", "qtyUnitCode": "8", "qtyUnitAbbr": "kg", "isQtyEstimated": "true", "netWgt": "12"},
        {"flowCode": "RM", "partnerCode": "156", "cmdCode": "27", "primaryValue": "5"},
        {"flowCode": "RX", "partnerCode": "156", "cmdCode": "270900", "primaryValue": "6"},
        {"flowCode": "X", "freqCode": "M", "period": "201907", "refMonth": "7", "partnerCode": "0",
         "primaryValue": "1E+3"},
        {"flowCode": "X", "freqCode": "M", "period": "", "refYear": "2020", "refMonth": "3", "partnerCode": "0"},
    ])
    code, out = run_import(cli, path)
    assert code == 0, out
    assert out["summary"] == {"created": 6, "unchanged": 0, "skipped": 0, "refused": 0}
    rows = observations(store)
    assert [(r["indicator"], r["partner"], r["hs"], r["period"], r["end"], r["value"]) for r in rows] == [
        ("imports", "CHN", "2709", "2019", "2019-12-31", Decimal("1000")),
        ("exports", "CHN", "2709", "2019", "2019-12-31", Decimal("900.5")),
        ("re_imports", "CHN", "27", "2019", "2019-12-31", Decimal("5")),
        ("re_exports", "CHN", "270900", "2019", "2019-12-31", Decimal("6")),
        ("exports", None, None, "2019-07", "2019-07-31", Decimal("1000")),
        ("exports", None, None, "2020-03", "2020-03-31", Decimal("100"))]
    exports = rows[1]
    assert (exports["fob"], exports["cif"], exports["quantity"], exports["quantity_unit"], exports["weight"],
            exports["flags"], exports["note"]) == (Decimal("900.5"), None, Decimal("12"), "kg", Decimal("12"),
                                                   "estimated", "quantity estimated")


def test_domestic_exports_only_where_no_total_exports(cli, store, tmp_path):
    path = plus_csv(tmp_path / "dx.csv", [
        {"flowCode": "DX", "partnerCode": "156", "primaryValue": "80"},
        {"flowCode": "X", "partnerCode": "156", "primaryValue": "100"},
        {"flowCode": "DX", "partnerCode": "410", "primaryValue": "70"},
        {"flowCode": "MIP", "partnerCode": "410", "primaryValue": "7"},
        {"flowCode": "M", "partnerCode": "410", "primaryValue": "1", "partner2Code": "156"},
    ])
    code, out = run_import(cli, path)
    assert code == 0, out
    assert out["summary"] == {"created": 2, "unchanged": 0, "skipped": 3, "refused": 0}
    assert flat(out, "code", "row", "field") == [
        ["processing_flow", 5, "flowCode"], ["breakdown", 6, "partner2Code"], ["part_flow", 2, "flowCode"]]
    assert out["findings"][2]["message"] == ("flow DX is a part of the flow on line 3, which the file also has; "
                                             "the row is left out")
    rows = observations(store)
    assert [(r["indicator"], r["partner"], r["value"], r["note"]) for r in rows] == [
        ("exports", "CHN", Decimal("100"), None), ("exports", "KOR", Decimal("70"), "domestic exports (DX)")]


def test_utf8_with_bom_and_cp1252(cli, store, tmp_path):
    plus_csv(tmp_path / "bom.csv", [{"partnerDesc": "Curaçao", "partnerCode": "531"}], encoding="utf-8", bom=True)
    code, out = run_import(cli, tmp_path / "bom.csv")
    assert code == 0 and out["summary"]["created"] == 1
    plus_csv(tmp_path / "cp.csv", [{"partnerDesc": "Côte d’Ivoire", "partnerCode": "384"}], encoding="cp1252")
    code, out = run_import(cli, tmp_path / "cp.csv")
    assert code == 0 and out["summary"]["created"] == 1
    with store.read() as session:
        assert [s.note.split(",")[1].strip() for s in session.scalars(select(Source).order_by(Source.id))] == [
            "utf-8-sig", "cp1252"]


def test_skip_invalid_keeps_the_good_rows(cli, store, tmp_path):
    path = plus_csv(tmp_path / "mixed.csv", [{"partnerCode": "156"}, {"partnerCode": "999"},
                                              {"partnerCode": "410", "primaryValue": "abc"}])
    code, out = run_import(cli, path, "--skip-invalid")
    assert code == 0, out
    assert out["summary"] == {"created": 1, "unchanged": 0, "skipped": 0, "refused": 2}
    assert flat(out, "severity", "code", "row") == [["warning", "unknown_country_code", 3],
                                                     ["warning", "bad_number", 4]]
    assert out["findings"][1]["message"].endswith("(row left out: --skip-invalid)")
    assert [r["partner"] for r in observations(store)] == ["CHN"]


# --- bad input: refused, exit 1, nothing written ----------------------------------------------


def refused(cli, store, path: Path, *args: str) -> dict[str, Any]:
    before = count_rows(store)
    code, out = run_import(cli, path, *args)
    assert code == 1, out
    assert out["valid"] is False
    assert count_rows(store) == before
    text = cli("import", "trade", str(path), *args)
    assert text.exit_code == 1
    assert "nothing was written" in text.stderr
    assert count_rows(store) == before
    return out


def test_missing_required_column(cli, store, tmp_path):
    header = [h for h in HEADER if h != "primaryValue"]
    out = refused(cli, store, plus_csv(tmp_path / "no_value.csv", [{}], header=header))
    assert flat(out, "code", "row", "field", "source", "message") == [
        ["missing_column", 1, "primaryValue", "no_value.csv",
         "no_value.csv: the Comtrade+ CSV header has no column 'primaryValue'; download the file again with all "
         "columns"]]


def test_non_numeric_value(cli, store, tmp_path):
    out = refused(cli, store, plus_csv(tmp_path / "bad.csv", [{}, {"partnerCode": "156", "primaryValue": "12x"}]))
    assert flat(out, "code", "row", "field", "value", "message") == [
        ["bad_number", 3, "primaryValue", "12x",
         "primaryValue '12x' is not a number; write digits with a dot for decimals, such as 1234.5"]]
    assert out["summary"] == {"created": 0, "unchanged": 0, "skipped": 0, "refused": 1}


def test_unknown_m49_code(cli, store, tmp_path):
    out = refused(cli, store, plus_csv(tmp_path / "m49.csv", [{"partnerCode": "999"}, {"reporterCode": "1000"}]))
    assert flat(out, "code", "row", "field", "value") == [["unknown_country_code", 2, "partnerCode", "999"],
                                                          ["unknown_country_code", 3, "reporterCode", "1000"]]
    assert out["findings"][0]["message"] == (
        "partnerCode 999 is not a UN Comtrade country or area code; check the file (codes such as 398 Kazakhstan, "
        "410 Rep. of Korea, 0 World)")


def test_empty_file(cli, store, tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    out = refused(cli, store, tmp_path / "empty.csv")
    assert flat(out, "code", "message") == [
        ["empty_file", 'empty.csv is empty; a Comtrade file starts with a header row (CSV) or with {"data": [...]} '
                       "(JSON)"]]


def test_binary_file(cli, store, tmp_path):
    (tmp_path / "data.csv").write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    out = refused(cli, store, tmp_path / "data.csv")
    assert flat(out, "code", "message") == [
        ["binary_file", "data.csv is a binary file, not a Comtrade CSV or JSON file; export the data as CSV or JSON "
                        "and import that"]]


def test_json_without_data(cli, store, tmp_path):
    (tmp_path / "response.json").write_text('{"url": "x", "count": 0, "error": "rate limit exceeded"}')
    out = refused(cli, store, tmp_path / "response.json")
    assert flat(out, "code", "field", "message") == [
        ["no_data", "data", "response.json has no 'data' list (the response says: rate limit exceeded): a Comtrade+ "
                            "API response keeps its records in data[]; save the whole response, not a part of it"]]


def test_more_bad_input(cli, store, tmp_path):
    out = refused(cli, store, plus_csv(tmp_path / "several.csv", [
        {"flowCode": "Q"}, {"cmdCode": "9876", "partnerCode": "156"}, {"period": "19", "partnerCode": "643"},
        {"primaryValue": "-5", "partnerCode": "860"}, {"primaryValue": "", "partnerCode": "417"},
        {"partnerCode": "410"}, {"partnerCode": "410", "primaryValue": "7"}]))
    assert flat(out, "code", "row", "field", "value") == [
        ["unknown_flow", 2, "flowCode", "Q"], ["unknown_hs_code", 3, "cmdCode", "9876"],
        ["bad_period", 4, "period", "19"], ["negative_value", 5, "primaryValue", "-5"],
        ["missing_value", 6, "primaryValue", None], ["duplicate_row", 8, "flowCode", None]]
    assert out["findings"][5]["message"] == ("the same figure (exports of KAZ with KOR, all commodities, 2019) is on "
                                             "line 7 already; remove one of the two rows")
    assert out["summary"] == {"created": 0, "unchanged": 0, "skipped": 0, "refused": 6}


def test_rows_of_the_wrong_width_and_not_comtrade(cli, store, tmp_path):
    path = plus_csv(tmp_path / "wide.csv", [{}])
    with path.open("a", encoding="latin-1") as fh:
        fh.write('"C","A","x"\r\n')
    out = refused(cli, store, path)
    assert flat(out, "code", "row", "message") == [
        ["bad_row", 3, "line 3 has 3 fields, the header has 47; a value with a comma must be in double quotes"]]
    (tmp_path / "other.csv").write_text("name,amount\nx,1\n")
    out = refused(cli, store, tmp_path / "other.csv")
    assert flat(out, "code", "row") == [["unknown_format", 1]]
    assert out["findings"][0]["message"].startswith("other.csv is not a UN Comtrade file: its header (name,amount...)")


def test_an_error_after_many_good_rows_writes_nothing(cli, store, tmp_path):
    rows = [{"partnerCode": "0", "period": str(year), "refYear": str(year)} for year in range(1000, 3500)]
    rows.append({"partnerCode": "0", "period": "3600", "primaryValue": "n/a"})
    out = refused(cli, store, plus_csv(tmp_path / "long.csv", rows))
    assert flat(out, "code", "row") == [["bad_number", 2502]]


def test_values_beyond_the_kept_size_refused(cli, store, tmp_path):
    """A value of more than 22 digits before the decimal point (what every amount in cooptrack
    keeps) is refused with its line and column, not stored (or rounded) or left to crash."""
    out = refused(cli, store, plus_csv(tmp_path / "huge.csv", [
        {"primaryValue": "1" + "0" * 22}, {"partnerCode": "156", "netWgt": "12345678901234567890123456789.5"},
        {"partnerCode": "643", "primaryValue": "9" * 22}]))
    assert flat(out, "code", "row", "field", "value") == [
        ["too_large", 2, "primaryValue", "1" + "0" * 22], ["too_large", 3, "netWgt", "12345678901234567890123456789.5"]]
    assert out["findings"][0]["message"] == (
        f"primaryValue {'1' + '0' * 22} is too large: cooptrack keeps at most 22 digits before the decimal point")
