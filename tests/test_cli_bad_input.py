"""Bad input through the command line: exit code 1, one clear message naming the field, the
value and how to fix it, and nothing written."""

from __future__ import annotations

import pytest
from conftest import count_rows
from typer.testing import CliRunner

from cooptrack.cli import app
from cooptrack.errors import InvalidInput
from cooptrack.services.projects import ProjectSpec, register_project

PROJECT = ("project", "add", "p", "--title", "T")


@pytest.fixture
def demo(cli_demo, store):
    """The Fresh Wind demo loaded by `cooptrack demo`; returns the row counts right after."""
    return count_rows(store)


def refused(cli, store, before, *args):
    """Run a command that must be refused; return its stderr after the common checks."""
    result = cli(*args)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert count_rows(store) == before
    return result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    pytest.param(("programme", "add", "x", "--name", "X", "--party", "Koreaa", "--party", "KAZ"),
                 ["parties[0] 'Koreaa' is not a known country", "use an ISO 3166 code (KAZ, KOR)"],
                 id="unknown-country"),
    pytest.param((*PROJECT, "--value", "100", "--currency", "USDD"),
                 ["currency 'USDD' is not an ISO 4217 currency code", "use a code such as USD"],
                 id="unknown-currency"),
    pytest.param((*PROJECT, "--value=-5", "--currency", "USD"),
                 ["value -5 is negative", "must be zero or more"], id="negative-money"),
    pytest.param((*PROJECT, "--planned-start", "2020-01-01", "--planned-end", "2019-01-01"),
                 ["planned end 2019-01-01 is before planned start 2020-01-01", "swap them or fix the date"],
                 id="project-end-before-start"),
    pytest.param(("programme", "add", "x", "--name", "X", "--party", "KAZ", "--party", "KOR",
                  "--start", "2022", "--end", "2019"),
                 ["period end 2019-12-31 is before period start 2022-01-01", "swap them or fix the date"],
                 id="programme-end-before-start"),
    pytest.param((*PROJECT, "--sector", "21020=60", "--sector", "21030=30"),
                 ["sector percentages sum to 90, not 100", "21020=60, 21030=30", "add up to 100"],
                 id="sector-sum"),
    pytest.param((*PROJECT, "--sector", "99999=100"),
                 ["'99999' is not a DAC 5-digit sector code", "see `cooptrack codes sectors`"],
                 id="unknown-dac"),
    pytest.param(("observation", "add", "exports", "--reporter", "KAZ", "--partner", "KOR", "--period", "2019",
                  "--value", "1", "--unit", "USD", "--hs", "9876"),
                 ["hs_code '9876' is not an HS 2022 code", "e.g. 2709"], id="unknown-hs"),
    pytest.param(("programme", "add", "fresh-wind", "--name", "X", "--party", "KAZ", "--party", "KOR"),
                 ["programme id 'fresh-wind' already exists", "choose another id"], id="duplicate-programme"),
])
def test_bad_input_is_refused_with_one_clear_line(cli, store, demo, args, expected):
    stderr = refused(cli, store, demo, *args)
    assert len(stderr.strip().splitlines()) == 1, stderr
    for part in expected:
        assert part in stderr


def test_leaving_cancelled_needs_reopen(cli, store, demo):
    assert cli("project", "status", "car-assembly-plant", "cancelled", "--date", "2020").exit_code == 0
    before = count_rows(store)
    stderr = refused(cli, store, before, "project", "status", "car-assembly-plant", "in_execution", "--date", "2021")
    assert "cannot go from cancelled to in_execution" in stderr and "--reopen" in stderr
    ok = cli("project", "status", "car-assembly-plant", "in_execution", "--date", "2021", "--reopen")
    assert ok.exit_code == 0, ok.stderr
    assert count_rows(store)["status_events"] == before["status_events"] + 1


def test_event_before_the_latest_needs_backdate(cli, store, demo):
    # bakad is in execution from 2019.
    stderr = refused(cli, store, demo, "project", "status", "bakad", "pipeline", "--date", "2018")
    assert "dated 2018 is before the project's latest event (in_execution on 2019)" in stderr
    assert "--backdate" in stderr
    # Backdated into an order the lifecycle forbids (implemented, then in execution): still refused.
    stderr = refused(cli, store, demo, "project", "status", "bakad", "implemented", "--date", "2018", "--backdate")
    assert "cannot go from implemented to in_execution" in stderr
    ok = cli("project", "status", "bakad", "pipeline", "--date", "2018", "--backdate")
    assert ok.exit_code == 0, ok.stderr
    assert count_rows(store)["status_events"] == demo["status_events"] + 1
    assert '"status": "in_execution"' in cli("project", "show", "bakad", "--json").stdout


def test_several_bad_fields_are_all_reported(cli, store, demo):
    stderr = refused(cli, store, demo, *PROJECT, "--host", "Narnia", "--value", "100", "--currency", "USDD",
                     "--planned-start", "2020-01-01", "--planned-end", "2019-01-01", "--sector", "99999=100")
    lines = stderr.strip().splitlines()
    assert lines[0] == "error: 4 problems; nothing was written"
    assert [line.split(":")[0] for line in lines[1:]] == ["  - host country", "  - currency", "  - planned end",
                                                          "  - sectors"]
    for part in ["'Narnia' is not a known country", "'USDD' is not an ISO 4217", "planned end 2019-01-01 is before",
                 "'99999' is not a DAC 5-digit sector code"]:
        assert part in stderr


def test_negative_value_in_unknown_currency_reports_both(cli, store, demo):
    stderr = refused(cli, store, demo, *PROJECT, "--value=-5", "--currency", "USDD")
    assert "is negative" in stderr
    assert "'USDD' is not an ISO 4217 currency code" in stderr


@pytest.mark.parametrize("args", [
    pytest.param(("project", "add", "p"), id="missing-title"),
    pytest.param(("project", "status", "bakad", "implemented"), id="missing-date"),
    pytest.param(("programme", "add", "x", "--name", "X"), id="missing-party"),
])
def test_usage_error_exits_2(cli, store, demo, args):
    result = cli(*args)
    assert result.exit_code == 2, result.stderr
    assert "Missing" in result.stderr
    assert count_rows(store) == demo


def test_float_amount_through_the_python_api(write, store):
    before = count_rows(store)
    with pytest.raises(InvalidInput) as caught, write() as ctx:
        register_project(ctx, ProjectSpec(code="p", title="T", value=7.5, currency="USD"))
    assert [f.code for f in caught.value.findings] == ["float_amount"]
    assert "binary float" in caught.value.message and "'7.5'" in caught.value.message
    assert count_rows(store) == before


UNREACHABLE = "postgresql+psycopg://bob:s3cret@127.0.0.1:1/nope"


@pytest.mark.parametrize("args", [("project", "list"), ("demo",), ("init",), ("db", "current"), ("db", "check")])
def test_unreachable_database_hides_the_password(monkeypatch, args):
    monkeypatch.setenv("COOPTRACK_DATABASE_URL", UNREACHABLE)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach database postgresql+psycopg://bob:***@127.0.0.1:1/nope")
    assert "COOPTRACK_DATABASE_URL" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr + repr(result.exception)


@pytest.mark.parametrize("args", [("project", "list"), ("demo",), ("init",), ("db", "current")])
def test_sqlite_in_a_missing_folder(monkeypatch, tmp_path, args):
    folder = tmp_path / "missing"
    monkeypatch.setenv("COOPTRACK_DATABASE_URL", f"sqlite:///{folder}/cooptrack.db")
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: "), result.stderr
    assert str(folder) in result.stderr and "does not exist" in result.stderr
    assert "COOPTRACK_DATABASE_URL" in result.stderr
    assert not folder.exists()
