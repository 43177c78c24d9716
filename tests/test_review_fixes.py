"""Rules added after a review: each refusal has its message, exit code 1 and writes nothing."""

from __future__ import annotations

import json

from conftest import count_rows


def test_a_status_dated_in_the_future_is_refused(cli, store):
    assert cli("demo").exit_code == 0
    before = count_rows(store)
    result = cli("project", "status", "bakad", "implemented", "--date", "2099-01")
    assert result.exit_code == 1
    assert "status event dated 2099-01 is in the future" in result.stderr
    assert count_rows(store) == before


def test_a_participant_listed_twice_is_a_finding(cli, store):
    assert cli("demo").exit_code == 0
    before = count_rows(store)
    result = cli("project", "add", "p2", "--title", "P2", "--participant", "Acme:contractor",
                 "--participant", "Acme:contractor")
    assert result.exit_code == 1
    assert "participant 'Acme' is listed twice as contractor" in result.stderr
    assert count_rows(store) == before


def test_a_claim_cannot_conflict_with_itself_or_an_unrelated_claim(cli, store):
    assert cli("demo").exit_code == 0
    claims = json.loads(cli("claims", "list", "--json").stdout)
    money = next(c for c in claims if c["kind"] == "money")
    count = next(c for c in claims if c["kind"] == "count")
    before = count_rows(store)
    same = cli("conflicts", "resolve", str(money["id"]), str(money["id"]), "--prefer", str(money["id"]),
               "--reason", "same")
    assert same.exit_code == 1 and "cannot conflict with itself" in same.stderr
    unrelated = cli("conflicts", "resolve", str(money["id"]), str(count["id"]))
    assert unrelated.exit_code == 1 and "not about the same subject, measure and period" in unrelated.stderr
    assert count_rows(store) == before


def test_a_value_published_later_is_not_known_as_of_an_earlier_date(cli):
    assert cli("demo").exit_code == 0
    assert cli("project", "add", "vtest", "--title", "Value test", "--programme", "fresh-wind", "--value", "100",
               "--currency", "USD", "--value-date", "2019-04-01").exit_code == 0
    assert cli("project", "status", "vtest", "agreed", "--date", "2019-04").exit_code == 0
    claims = json.loads(cli("claims", "list", "--source", "3", "--json").stdout)  # the second report
    money = next(c for c in claims if c["kind"] == "money")
    assert cli("claims", "accept", str(money["id"]), "--as", "value", "--project", "vtest").exit_code == 0
    later = json.loads(cli("overview", "fresh-wind", "--json").stdout)
    assert next(p for p in later["projects"] if p["code"] == "vtest")["value"]["amount"] == "7200000000"
    earlier = json.loads(cli("overview", "fresh-wind", "--as-of", "2019-06-01", "--json").stdout)
    assert next(p for p in earlier["projects"] if p["code"] == "vtest")["value"] is None


def test_numeric_source_ids_are_refused(cli, store, tmp_path):
    assert cli("demo").exit_code == 0
    data = {"format": "cooptrack-dataset/1", "sources": [{"id": "5", "title": "Five"}], "programmes": ["oops"]}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = count_rows(store)
    result = cli("load", str(path))
    assert result.exit_code == 1
    assert "source id '5' is only digits" in result.stderr
    assert "programmes[0] must be a mapping of fields" in result.stderr
    assert count_rows(store) == before
