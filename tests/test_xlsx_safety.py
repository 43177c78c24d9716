"""An .xlsx is a ZIP of XML parts, read as hostile before openpyxl opens it: a ZIP bomb (a part
unpacking to many times its packed size, or the whole past COOPTRACK_MAX_UNZIPPED_MB), a part
declaring a DTD (a billion-laughs XML bomb, found in the first bytes or, further in, by openpyxl's
defusedxml) and unsafe member names are refused with the fix, on the CLI (exit 1) and through the
API, and nothing is written. The hostile workbooks are a real one (openpyxl's) with a part
replaced or added."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import count_rows
from test_tabular import write_xlsx
from test_web_imports import api, projects, upload  # noqa: F401 - the fixture and helpers of the upload tests

SHEET = "xl/worksheets/sheet1.xml"
SAVE_AGAIN = "nothing was imported. Save the table again from Excel or LibreOffice, or as CSV UTF-8"
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10))
          + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
          '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
DTD_FINDING = ("declares a DTD or entities (<!DOCTYPE>/<!ENTITY>), which Excel never writes and which can expand "
               "without limit (an XML bomb); nothing was imported. Save the table again from Excel or LibreOffice "
               "as 'Excel Workbook (.xlsx)'")


def workbook(path: Path) -> Path:
    """A good workbook: two new projects, imported when nothing is wrong with it."""
    return write_xlsx(path, [["id", "title", "host_country"], ["safe-1", "Safe one", "KAZ"],
                             ["safe-2", "Safe two", "KOR"]])


def rewritten(source: Path, target: Path, parts: dict[str, bytes], extra: dict[str, bytes] | None = None) -> Path:
    """``source`` with the members named in ``parts`` holding those bytes, and ``extra`` added."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, parts.get(info.filename, zin.read(info)))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return target


def padded(source: Path, target: Path, spaces: int) -> Path:
    """The sheet's XML with ``spaces`` blanks after its root element: the same rows (the file
    imports as it is where nothing caps it), packing about a thousand times."""
    with zipfile.ZipFile(source) as z:
        sheet = z.read(SHEET)
    return rewritten(source, target, {SHEET: sheet + b" " * spaces})


def member(path: Path, name: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as z:
        return z.getinfo(name)


def refused(cli, store, path: Path, message: str) -> None:
    before = count_rows(store)
    result = cli("import", "projects", str(path))
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert " ".join(result.stderr.split()) == f"error: {message}"
    assert count_rows(store) == before


def test_a_part_packed_far_too_well_is_refused(cli, cli_demo, store, tmp_path):
    bomb = padded(workbook(tmp_path / "good.xlsx"), tmp_path / "bomb.xlsx", 3 * 1024 * 1024)
    info = member(bomb, SHEET)
    ratio = info.file_size / info.compress_size
    assert ratio > 200
    refused(cli, store, bomb, f"member '{SHEET}' of bomb.xlsx unpacks to {ratio:,.0f} times its packed size "
            f"({info.file_size:,} bytes from {info.compress_size:,}), over the limit of 200 "
            f"(COOPTRACK_MAX_ZIP_RATIO): it looks like a ZIP bomb; {SAVE_AGAIN}")


def test_ratio_and_total_caps_follow_the_environment(cli, cli_demo, store, tmp_path, monkeypatch):
    bomb = padded(workbook(tmp_path / "good.xlsx"), tmp_path / "bomb.xlsx", 3 * 1024 * 1024)
    info = member(bomb, SHEET)
    with zipfile.ZipFile(bomb) as z:
        total = sum(i.file_size for i in z.infolist())
    monkeypatch.setenv("COOPTRACK_MAX_UNZIPPED_MB", "2")
    refused(cli, store, bomb, f"bomb.xlsx unpacks to {total:,} bytes (the largest member, '{SHEET}', "
            f"{info.file_size:,} bytes from {info.compress_size:,}), over the limit of {2 * 1024 * 1024:,} bytes "
            f"(COOPTRACK_MAX_UNZIPPED_MB); {SAVE_AGAIN}")

    monkeypatch.delenv("COOPTRACK_MAX_UNZIPPED_MB")
    monkeypatch.setenv("COOPTRACK_MAX_ZIP_RATIO", str(int(info.file_size / info.compress_size) + 1))
    before = projects(store)
    result = cli("import", "projects", str(bomb))  # within the caps: the rows are read as usual
    assert result.exit_code == 0, result.stderr
    assert projects(store) == before + 2


def test_a_billion_laughs_sheet_is_refused(cli, cli_demo, store, tmp_path):
    good = workbook(tmp_path / "good.xlsx")
    laughs = rewritten(good, tmp_path / "laughs.xlsx", {SHEET: LAUGHS.encode()})
    refused(cli, store, laughs, f"part '{SHEET}' of laughs.xlsx {DTD_FINDING}")


def test_a_dtd_past_the_first_bytes_is_refused_by_defusedxml(cli, cli_demo, store, tmp_path):
    """The DTD after a long comment: not in the bytes looked at first; openpyxl's defusedxml
    parser refuses its entities as openpyxl opens the workbook, before anything is written."""
    good = workbook(tmp_path / "good.xlsx")
    late = LAUGHS.replace("<!DOCTYPE", f"<!--{' ' * 8192}-->\n<!DOCTYPE", 1)
    laughs = rewritten(good, tmp_path / "late.xlsx", {SHEET: late.encode()})
    refused(cli, store, laughs, f"a part of late.xlsx {DTD_FINDING}")


@pytest.mark.parametrize(("name", "code", "words"), [
    ("../evil.xml", "unsafe_path", "has an unsafe name (an absolute path, '..' or a backslash); a workbook's "
                                   "members are plain file names"),
    ("/etc/evil.xml", "unsafe_path", "has an unsafe name (an absolute path, '..' or a backslash); a workbook's "
                                     "members are plain file names"),
])
def test_unsafe_member_names_are_refused(cli, cli_demo, store, tmp_path, name, code, words):
    evil = rewritten(workbook(tmp_path / "good.xlsx"), tmp_path / "evil.xlsx", {}, {name: b"<x/>"})
    refused(cli, store, evil, f"member '{name}' of evil.xlsx {words}")


def test_duplicate_member_is_refused(cli, cli_demo, store, tmp_path):
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = rewritten(workbook(tmp_path / "good.xlsx"), tmp_path / "twice.xlsx", {}, {SHEET: b"<x/>"})
    refused(cli, store, twice, f"member '{SHEET}' appears more than once in twice.xlsx; a workbook names each file "
            "once")


def test_uploads_refused_nothing_written(api, store, tmp_path):  # noqa: F811 - the upload tests' fixture
    good = workbook(tmp_path / "good.xlsx")
    bomb = padded(good, tmp_path / "bomb.xlsx", 3 * 1024 * 1024)
    info = member(bomb, SHEET)
    laughs = rewritten(good, tmp_path / "laughs.xlsx", {SHEET: LAUGHS.encode()})
    before = count_rows(store)

    # Refused before any job is recorded: 413 for the sizes, 422 for the DTD.
    answer = upload(api, "projects", "bomb.xlsx", bomb.read_bytes())
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["message"] == (
        f"member '{SHEET}' of bomb.xlsx unpacks to {info.file_size / info.compress_size:,.0f} times its packed "
        f"size ({info.file_size:,} bytes from {info.compress_size:,}), over the limit of 200 "
        f"(COOPTRACK_MAX_ZIP_RATIO): it looks like a ZIP bomb; {SAVE_AGAIN}")

    answer = upload(api, "projects", "laughs.xlsx", laughs.read_bytes())
    assert answer.status_code == 422, answer.text
    assert [(f["code"], f["value"], f["message"]) for f in answer.json()["error"]["findings"]] == [
        ("unsafe_xml", SHEET, f"part '{SHEET}' of laughs.xlsx {DTD_FINDING}")]

    assert count_rows(store) == before  # not even a job's record

    done = upload(api, "projects", "good.xlsx", good.read_bytes())  # the same workbook, unharmed, is imported
    assert done.status_code == 201 and done.json()["state"] == "done", done.text
