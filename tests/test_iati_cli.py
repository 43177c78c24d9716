"""`cooptrack import iati` and `cooptrack export iati` as a user types them: the report as a table or
JSON, exit 1 on errors with nothing written, --dry-run, --skip-invalid, -o FILE."""

from __future__ import annotations

import json

from conftest import count_rows
from lxml import etree
from test_iati_import import REAL, XSD, activity_xml, iati_file

ORG = ("--reporting-org-ref", "XM-COOPTRACK-DEMO", "--reporting-org-name", "Fresh Wind programme office",
       "--reporting-org-type", "10")


def test_import_prints_the_report_as_json(cli, store, shared_data):
    result = cli("import", "iati", str(shared_data / REAL / "foodsecurity-dportal.xml"), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["valid"], data["errors"], data["warnings"]) == (True, 0, 1)
    assert data["summary"] == {"files": 1, "activities": 7, "created": 7, "updated": 0, "unchanged": 0, "refused": 0,
                               "status_events": 7, "finance_records": 79, "documents": 0, "value_not_set": 1}
    assert data["findings"][0]["code"] == "value_not_set"
    assert count_rows(store)["projects"] == 7


def test_import_errors_exit_1_and_write_nothing(cli, store, shared_data):
    before = count_rows(store)
    path = shared_data / REAL / "dportal_28-koica.xml"
    result = cli("import", "iati", str(path), "--xsd", str(shared_data / XSD), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert (data["valid"], data["errors"]) == (False, 15)
    assert data["summary"]["refused"] == 14 and data["summary"]["not_written"] == 86
    assert data["findings"][0] == {
        "code": "end_before_start", "field": "budget[1]/period-end", "value": "2020-06-30", "row": 122,
        "source": str(path), "severity": "warning",
        "message": "budget[1] ends (2020-06-30) before it starts (2020-07-01); kept as given"}
    assert count_rows(store) == before

    table = cli("import", "iati", str(path))
    assert table.exit_code == 1
    assert "nothing was written: 1 files, 100 activities, 0 created" in table.stderr
    assert "activity-date[1]" in table.stderr and "schema" not in table.stderr  # cooptrack's own checks
    assert count_rows(store) == before


def test_skip_invalid_imports_the_rest_and_exits_0(cli, store, shared_data):
    result = cli("import", "iati", str(shared_data / REAL / "dportal_28-koica.xml"), "--skip-invalid", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["summary"]["created"], data["summary"]["refused"]) == (86, 14)
    assert count_rows(store)["projects"] == 86


def test_dry_run_writes_nothing(cli, store, shared_data):
    before = count_rows(store)
    result = cli("import", "iati", str(shared_data / REAL / "foodsecurity-dportal.xml"), "--dry-run")
    assert result.exit_code == 0
    assert "dry run: checked only, nothing was written" in result.stderr
    assert "7 created" in result.stdout
    assert count_rows(store) == before


def test_bad_arguments(cli, store, tmp_path):
    before = count_rows(store)
    good = iati_file(tmp_path / "a.xml", activity_xml())
    result = cli("import", "iati", str(good), "--xsd", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (f"error: {tmp_path}/iati-activities-schema.xsd does not exist; --xsd takes the folder "
                             "holding iati-activities-schema.xsd (and iati-common.xsd, xml.xsd)\n")
    missing = cli("import", "iati", str(tmp_path / "missing.xml"), "--json")
    assert missing.exit_code == 1
    assert json.loads(missing.stdout)["findings"][0]["message"] == (
        f"cannot read {tmp_path / 'missing.xml'}: No such file or directory")
    assert count_rows(store) == before


def test_export_to_a_file_and_to_stdout(cli, store, shared_data, tmp_path):
    assert cli("import", "iati", str(shared_data / REAL / "foodsecurity-dportal.xml")).exit_code == 0
    out = tmp_path / "out.xml"
    result = cli("export", "iati", "-o", str(out), "--xsd", str(shared_data / XSD))
    assert result.exit_code == 0, result.stderr
    assert f"wrote 7 activities to {out}" in result.stdout
    assert len(etree.parse(str(out)).getroot()) == 7
    piped = cli("export", "iati")
    assert piped.exit_code == 0
    assert piped.stdout.startswith("<?xml version='1.0' encoding='utf-8'?>\n<iati-activities version=\"2.03\"")
    assert piped.stdout.count("<iati-activity ") == 7 and piped.stderr == ""


def test_export_of_the_demo(cli, store, shared_data, tmp_path):
    assert cli("demo").exit_code == 0
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "demo.xml"
    refused = cli("export", "iati", "-o", str(out))
    assert refused.exit_code == 1 and not out.exists()
    assert "no_reporting_org" in refused.stderr and "nothing was written" in refused.stderr
    assert list(folder.iterdir()) == []  # no half-written file left behind
    done = cli("export", "iati", "-o", str(out), "--programme", "fresh-wind", "--xsd", str(shared_data / XSD), *ORG)
    assert done.exit_code == 0, done.stderr
    assert "wrote 2 activities" in done.stdout and "derived_date" in done.stdout
    assert [a.findtext("iati-identifier") for a in etree.parse(str(out)).getroot()] == [
        "XM-COOPTRACK-DEMO-bakad", "XM-COOPTRACK-DEMO-car-assembly-plant"]
