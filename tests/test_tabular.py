"""Projects from and to spreadsheets: template, import (every row checked, all or nothing),
export with field selection and formula escaping. Real CSV and XLSX files, both databases."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import count_rows
from sqlalchemy import select

from cooptrack.services.tabular import NAMES
from cooptrack.store.models import AuditEvent, Project, StatusEvent

HEADER = ["id", "title", "programme", "host_country", "partner_country", "value", "currency", "value_date",
          "sectors", "participants", "status", "status_date"]
GOOD = ["tashkent-ring", "Tashkent ring road", "fresh-wind", "UZB", "KOR", "1,250,000", "USD", "22.04.2019",
        "21020:60; 21030:40", "Korea Expressway Corporation (contractor, KOR); Uzavtoyul (implementing)",
        "agreed", "2019-04"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "projects"
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def findings(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


@pytest.fixture
def demo(cli_demo, store):
    """The Fresh Wind demo loaded by `cooptrack demo`; returns the row counts right after."""
    return count_rows(store)


def refused(cli, store, before, *args):
    """Run an import that must be refused: exit 1, nothing written; returns the result."""
    result = cli(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert count_rows(store) == before
    return result


# --- template -----------------------------------------------------------------------------


def test_template_xlsx_documents_every_column(cli, tmp_path):
    path = tmp_path / "t.xlsx"
    result = cli("template", "projects", str(path), "--format", "xlsx")
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["projects", "README"]
    assert [c.value for c in book["projects"][1]] == NAMES
    readme = {row[0]: row for row in book["README"].iter_rows(values_only=True) if row and row[0]}
    for name in NAMES:
        assert readme[name][2], f"column {name} is not documented"
    assert readme["id"][1] == "yes" and readme["sectors"][3] == "21020:60; 21030:40"
    assert cli("template", "projects", str(path), "--format", "xlsx").exit_code == 1  # exists: needs --force
    csv_path = tmp_path / "t.csv"
    assert cli("template", "projects", str(csv_path)).exit_code == 0
    assert csv_path.read_text(encoding="utf-8-sig") == ",".join(NAMES) + "\n"


# --- import -------------------------------------------------------------------------------


def test_import_creates_then_round_trips(cli, store, read, demo, tmp_path):
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD])
    result = cli("import", "projects", str(path))
    assert result.exit_code == 0, result.stderr
    assert "1 created, 0 updated, 0 unchanged, 0 refused" in result.stdout
    with read() as ctx:
        p = ctx.session.scalar(select(Project).where(Project.code == "tashkent-ring"))
        assert (p.value_amount, p.value_currency, p.value_date.isoformat()) == (1250000, "USD", "2019-04-22")
        assert {s.dac_code: str(s.percent) for s in p.sectors} == {"21020": "60", "21030": "40"}
        assert p.industry.name == "Infrastructure"
        assert sorted((x.organisation.name, x.role, x.organisation.country) for x in p.participants) == [
            ("Korea Expressway Corporation", "contractor", "KOR"), ("Uzavtoyul", "implementing", None)]
        assert (p.status, p.status_effective) == ("agreed", "2019-04")
        assert ctx.session.scalar(select(AuditEvent).where(AuditEvent.entity_id == "tashkent-ring",
                                                           AuditEvent.action == "create")) is not None
    after = count_rows(store)
    # Everything exported imports back unchanged, from CSV and from XLSX.
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"all.{fmt}"
        assert cli("export", "projects", "--output", str(out)).exit_code == 0
        result = cli("import", "projects", str(out))
        assert result.exit_code == 0, result.stderr
        assert "0 created, 0 updated, 3 unchanged, 0 refused" in result.stdout, fmt
    assert count_rows(store) == after


def test_update_keeps_absent_columns_and_records_status(cli, read, demo, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["id", "title", "status", "status_date"],
                                          ["bakad", "BAKAD ring road", "implemented", "2023-12"]])
    result = cli("import", "projects", str(path))
    assert result.exit_code == 0, result.stderr
    assert "0 created, 1 updated" in result.stdout
    with read() as ctx:
        p = ctx.session.scalar(select(Project).where(Project.code == "bakad"))
        assert p.title == "BAKAD ring road"
        assert p.programme.code == "fresh-wind" and "БАКАД" in p.aliases  # not in the file: kept
        assert [s.dac_code for s in p.sectors] == ["21020"] and len(p.locations) == 1
        events = ctx.session.scalars(select(StatusEvent).where(StatusEvent.project_id == p.id)).all()
        assert [(e.status, e.effective) for e in events][-1] == ("implemented", "2023-12")
    # The same file again changes nothing; an empty cell clears a value.
    assert "0 updated, 1 unchanged" in cli("import", "projects", str(path)).stdout
    write_csv(path, [["id", "title", "description"], ["bakad", "BAKAD ring road", ""]])
    assert "1 updated" in cli("import", "projects", str(path)).stdout
    with read() as ctx:
        assert ctx.session.scalar(select(Project.description).where(Project.code == "bakad")) is None


def test_dry_run_writes_nothing(cli, store, demo, tmp_path):
    path = write_csv(tmp_path / "p.csv", [HEADER, GOOD])
    result = cli("import", "projects", str(path), "--dry-run")
    assert result.exit_code == 0
    assert "1 created" in result.stdout and "dry run: nothing was written" in result.stdout
    assert count_rows(store) == demo


def test_dates_amounts_and_blank_rows(cli, read, demo, tmp_path):
    rows = [HEADER, GOOD, ["", "", "", "", "", "", "", "", "", "", "", ""],
            ["p2", "Second", "", "KAZ", "KOR", "1 250 000", "KZT", "2019-04-22", "21020", "", "", ""],
            [],
            ["p3", "Third", "", "KAZ", "KOR", "2500000.75", "KZT", "", "", "", "", ""]]
    result = cli("import", "projects", str(write_csv(tmp_path / "p.csv", rows, delimiter=";")))
    assert result.exit_code == 0, result.stderr
    assert "3 created" in result.stdout and "2 blank rows skipped" in result.stdout
    with read() as ctx:
        values = dict(ctx.session.execute(select(Project.code, Project.value_amount)
                                          .where(Project.code.in_(["p2", "p3", "tashkent-ring"]))).all())
    assert {k: str(v) for k, v in values.items()} == {"p2": "1250000", "p3": "2500000.75",
                                                     "tashkent-ring": "1250000"}


@pytest.mark.parametrize(("cell", "code", "message"), [
    ("04/05/2019", "ambiguous_date", "value_date '04/05/2019': dates with slashes are read month-first in the US "
     "and day-first elsewhere, so cooptrack does not guess; write 2019-04-05 (month first) or 2019-05-04 (day "
     "first)"),
    ("04/22/2019", "ambiguous_date", "value_date '04/22/2019': dates with slashes are read month-first in the US "
     "and day-first elsewhere, so cooptrack does not guess; write 2019-04-22"),
    ("31.02.2019", "bad_date", "value_date '31.02.2019' is not a real date (read as day.month.year); "
     "write YYYY-MM-DD"),
    ("April 2019", "bad_date", "value date 'April 2019' is not a date; write YYYY-MM-DD"),
])
def test_bad_dates(cli, store, demo, tmp_path, cell, code, message):
    row = list(GOOD)
    row[7] = cell
    result = refused(cli, store, demo, "import", "projects", str(write_csv(tmp_path / "p.csv", [HEADER, row])),
                     "--json")
    assert [(f["row"], f["field"], f["value"], f["code"], f["message"]) for f in findings(result)] == [
        (2, "value_date", cell, code, message)]
    assert json.loads(result.stdout)["summary"]["refused"] == 1


def test_ambiguous_amount_and_other_row_errors_all_reported(cli, store, demo, tmp_path):
    rows = [HEADER,
            ["a1", "A", "", "KAZ", "KOR", "1,5", "USD", "", "", "", "", ""],
            ["a2", "B", "no-such-programme", "KAZ", "KOR", "", "", "", "21020:60; 21030:30", "", "", ""],
            ["a1", "C", "", "Atlantis", "KOR", "", "", "", "", "Org (banker)", "done", ""]]
    result = refused(cli, store, demo, "import", "projects", str(write_csv(tmp_path / "p.csv", rows)), "--json")
    got = [(f["row"], f["field"], f["code"]) for f in findings(result)]
    assert got == [
        (2, "value", "bad_amount"),
        (3, "programme", "not_found"),
        (3, "sectors", "sector_percent_sum"),
        (4, "status", "unknown_status"),
        (4, "status_date", "missing_status_date"),
        (4, "id", "duplicate_id"),
        (4, "host_country", "unknown_country"),
        (4, "participants", "unknown_role"),
    ]
    messages = {f["code"]: f["message"] for f in findings(result)}
    assert messages["bad_amount"] == ("value '1,5' is ambiguous: commas only separate thousands (1,250,000.50); "
                                      "write decimals with a dot")
    assert messages["duplicate_id"] == "id 'a1' is also on row 2; each project once per file"
    assert json.loads(result.stdout)["summary"] == {"created": 0, "updated": 0, "unchanged": 0, "refused": 3}
    # The same, as a person sees it.
    text = refused(cli, store, demo, "import", "projects", str(tmp_path / "p.csv")).stderr
    assert "nothing was written: 0 created, 0 updated, 0 unchanged, 3 refused" in text


def test_renamed_and_missing_columns(cli, store, demo, tmp_path):
    rows = [["id", "titel", "valu", "colour"], ["x", "X", "1", "red"]]
    result = refused(cli, store, demo, "import", "projects", str(write_csv(tmp_path / "p.csv", rows)), "--json")
    [finding] = findings(result)
    assert finding["code"] == "bad_header" and finding["row"] == 1
    assert finding["message"].startswith(
        "the header does not match the template: missing title; unexpected 'titel' → title?, 'valu' → value?, "
        "'colour'. Rename the columns to the template's names (id, title, programme,")


def test_encodings(cli, store, demo, tmp_path):
    rows = [["id", "title"], ["almaty-metro", "Метро Алматы, вторая линия"]]
    path = write_csv(tmp_path / "cp1251.csv", rows, encoding="cp1251")
    result = refused(cli, store, demo, "import", "projects", str(path))
    assert result.stderr.replace("\n", " ").startswith(
        "error: cp1251.csv is not UTF-8 (byte 0xCC on line 2); it looks like Windows-1251 (Cyrillic). Save it "
        "from Excel as 'CSV UTF-8 (comma delimited)', or pass --encoding cp1251")
    result = cli("import", "projects", str(path), "--encoding", "cp1251")
    assert result.exit_code == 0 and "1 created" in result.stdout
    latin = write_csv(tmp_path / "latin.csv", [["id", "title"], ["sao-paulo", "Usine de São Paulo"]], "latin-1")
    assert "it looks like Windows-1252 / Latin-1 (Western European)" in refused(
        cli, store, count_rows(store), "import", "projects", str(latin)).stderr.replace("\n", " ")


def test_xlsx_merged_header_formulas_and_floats(cli, store, read, demo, tmp_path):
    merged = write_xlsx(tmp_path / "merged.xlsx", [["Projects", None, None], ["id", "title", "value"]])
    book = openpyxl.load_workbook(merged)
    book["projects"].merge_cells("A1:C1")
    book.save(merged)
    result = refused(cli, store, demo, "import", "projects", str(merged), "--json")
    assert [(f["row"], f["value"], f["code"]) for f in findings(result)][0] == (1, "A1:C1", "merged_cells")

    # A formula nobody calculated has no value to read: refused with the fix.
    uncomputed = write_xlsx(tmp_path / "f.xlsx", [["id", "title", "value", "currency"], ["f1", "F", "=1000*2", "USD"]])
    result = refused(cli, store, demo, "import", "projects", str(uncomputed), "--json")
    [f] = findings(result)
    assert (f["row"], f["code"], f["value"]) == (2, "formula_not_computed", "=1000*2")
    assert "cell C2 holds the formula =1000*2 but no computed value" in f["message"]

    # Saved by a spreadsheet program, the formula's cached value is read.
    computed = tmp_path / "computed.xlsx"
    _with_cached_value(uncomputed, computed, "C2", "2000")
    floats = write_xlsx(tmp_path / "floats.xlsx", [["id", "title", "value", "currency", "value_date"],
                                                   ["f2", "G", 1234567.89, "USD", "2019-04-22"],
                                                   ["f3", "H", 0.1, "USD", None]])
    for path in (computed, floats):
        result = cli("import", "projects", str(path))
        assert result.exit_code == 0, result.stderr
    with read() as ctx:
        values = dict(ctx.session.execute(select(Project.code, Project.value_amount)
                                          .where(Project.code.in_(["f1", "f2", "f3"]))).all())
    assert {k: str(v) for k, v in values.items()} == {"f1": "2000", "f2": "1234567.89", "f3": "0.1"}


def _with_cached_value(source: Path, target: Path, ref: str, value: str) -> None:
    import re
    import zipfile

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rf'(<c r="{ref}"[^>]*>)<f>(.*?)</f><v\s*/?>(</v>)?'.encode(),
                              rf"\1<f>\2</f><v>{value}</v>".encode(), data)
                assert f"<v>{value}</v>".encode() in data
            zout.writestr(item, data)


def test_max_findings_truncates(cli, store, demo, tmp_path):
    rows = [["id", "title"]] + [[f"BAD ID {i}", "T"] for i in range(5)]
    result = refused(cli, store, demo, "import", "projects", str(write_csv(tmp_path / "p.csv", rows)),
                     "--max-findings", "2")
    assert "(stopped after 2 findings: raise --max-findings to see more)" in result.stderr
    data = json.loads(refused(cli, store, demo, "import", "projects", str(tmp_path / "p.csv"), "--max-findings",
                              "2", "--json").stdout)
    assert data["truncated"] is True and len(data["findings"]) == 2


def test_refusals_found_while_writing(cli, store, demo, tmp_path):
    """A status the lifecycle forbids is found when the events are written: still nothing written."""
    path = write_csv(tmp_path / "p.csv", [["id", "title", "status", "status_date"],
                                          ["new-one", "New", "agreed", "2019"],
                                          ["bakad", "Big Almaty Ring Road (BAKAD)", "pipeline", "2024"]])
    result = refused(cli, store, demo, "import", "projects", str(path), "--json")
    [f] = findings(result)
    assert (f["row"], f["field"], f["code"]) == (3, "status", "transition_not_allowed")
    assert f["message"].startswith("status cannot go from in_execution to pipeline")


def test_iati_identifier_of_another_project(cli, store, demo, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["id", "title", "iati_identifier"], ["one", "One", "XM-1"]])
    assert cli("import", "projects", str(path)).exit_code == 0
    before = count_rows(store)
    write_csv(path, [["id", "title", "iati_identifier"], ["two", "Two", "XM-1"], ["three", "Three", "XM-3"],
                     ["four", "Four", "XM-3"]])
    result = refused(cli, store, before, "import", "projects", str(path), "--json")
    assert [(f["row"], f["code"]) for f in findings(result)] == [(4, "duplicate_iati_identifier"),
                                                                 (2, "iati_identifier_taken")]


def test_unreadable_files(cli, store, demo, tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert "old Excel 97-2003 workbook; save it as .xlsx" in refused(
        cli, store, demo, "import", "projects", str(tmp_path / "old.xls")).stderr
    (tmp_path / "fake.xlsx").write_text("id,title\n")
    assert "fake.xlsx is not a readable .xlsx workbook" in refused(
        cli, store, demo, "import", "projects", str(tmp_path / "fake.xlsx")).stderr
    (tmp_path / "empty.csv").write_text("")
    assert "empty.csv is empty; it needs a header row" in refused(
        cli, store, demo, "import", "projects", str(tmp_path / "empty.csv")).stderr
    assert "does not exist" in refused(cli, store, demo, "import", "projects", str(tmp_path / "none.csv")).stderr


# --- export -------------------------------------------------------------------------------


def test_export_fields_programme_and_bom(cli, demo, tmp_path):
    out = tmp_path / "e.csv"
    result = cli("export", "projects", "--fields", "id,title", "--fields", "status", "--programme", "fresh-wind",
                 "-o", str(out))
    assert result.exit_code == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    assert raw.decode("utf-8-sig").splitlines() == ["id,title,status", "bakad,Big Almaty Ring Road (BAKAD),"
                                                    "in_execution", "car-assembly-plant,Joint car assembly plant,"
                                                    "pipeline"]
    stdout = cli("export", "projects", "--fields", "id")
    assert stdout.stdout == "id\nbakad\ncar-assembly-plant\n"  # no BOM on a pipe
    bad = cli("export", "projects", "--fields", "id,colour,titel")
    assert bad.exit_code == 1
    assert bad.stderr.replace("\n", " ").startswith(
        "error: unknown field(s) colour, titel; the fields are: id, title, programme, industry,")
    missing = cli("export", "projects", "--programme", "nope")
    assert missing.exit_code == 1 and "programme 'nope' does not exist" in missing.stderr


def test_export_escapes_formulas(cli, store, demo, tmp_path):
    title = "=HYPERLINK(\"http://example.test\",\"click\")"
    path = write_csv(tmp_path / "p.csv", [["id", "title", "description", "aliases"],
                                          ["evil", "'" + title, "-1 dollar", "@alias; +plus"]])
    assert cli("import", "projects", str(path)).exit_code == 0
    out = tmp_path / "e.csv"
    assert cli("export", "projects", "--fields", "id,title,description,aliases", "-o", str(out)).exit_code == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[-1] == ["evil", "'" + title, "'-1 dollar", "'@alias; +plus"]
    xlsx = tmp_path / "e.xlsx"
    assert cli("export", "projects", "-o", str(xlsx)).exit_code == 0
    sheet = openpyxl.load_workbook(xlsx)["projects"]
    cell = [r for r in sheet.iter_rows() if r[0].value == "evil"][0][1]
    assert (cell.value, cell.data_type) == ("'" + title, "s")
    before = count_rows(store)
    for exported in (out, xlsx):  # read back without the apostrophe: unchanged
        assert "0 created, 0 updated, 3 unchanged" in cli("import", "projects", str(exported)).stdout
    assert count_rows(store) == before
    assert "evil" in cli("export", "projects", "--fields", "id,title").stdout
