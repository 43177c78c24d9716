"""`cooptrack trade mirror`: what each side reported for the same flow, and the gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import count_rows
from test_trade import plus_csv


def two_sides(cli: Any, tmp_path: Path, kaz: dict[str, str], kor: dict[str, str]) -> None:
    """KAZ's file of exports to KOR and KOR's file of imports from KAZ, imported."""
    for name, row in (("kaz.csv", {"reporterCode": "398", "partnerCode": "410", "flowCode": "X", **kaz}),
                      ("kor.csv", {"reporterCode": "410", "partnerCode": "398", "flowCode": "M", **kor})):
        result = cli("import", "trade", str(plus_csv(tmp_path / name, [row])))
        assert result.exit_code == 0, result.stderr


def mirror_json(cli: Any, *args: str) -> dict[str, Any]:
    result = cli("trade", "mirror", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_gap_in_percent_of_the_reporter(cli, tmp_path):
    two_sides(cli, tmp_path, {"primaryValue": "100"}, {"primaryValue": "110"})
    out = mirror_json(cli, "Kazakhstan", "South Korea", "--period", "2019")
    assert (out["reporter"], out["partner"], out["period"], out["hs_code"], out["gap_relative_to"]) == (
        "KAZ", "KOR", "2019", None, "reporter")
    [flow] = out["flows"]
    assert {k: flow[k] for k in ("flow", "mirror_flow", "basis", "reporter_value", "partner_value", "gap",
                                 "gap_percent")} == {
        "flow": "exports", "mirror_flow": "imports", "basis": "primary", "reporter_value": "100",
        "partner_value": "110", "gap": "10", "gap_percent": "10.00"}
    assert flow["reporter"]["country"] == "KAZ" and flow["reporter"]["indicator"] == "exports"
    assert flow["partner"]["country"] == "KOR" and flow["partner"]["indicator"] == "imports"
    assert flow["reporter"]["source"] == {"id": 1, "title": "kaz"}
    assert flow["partner"]["source"] == {"id": 2, "title": "kor"}
    assert flow["partner"]["other_figures"] == 0

    # seen from the other side: KOR's imports against KAZ's exports
    back = mirror_json(cli, "KOR", "KAZ", "--period", "2019")
    [flow] = back["flows"]
    assert (flow["flow"], flow["mirror_flow"], flow["reporter_value"], flow["partner_value"], flow["gap_percent"]) == (
        "imports", "exports", "110", "100", "-9.09")


def test_like_with_like_cif_and_fob(cli, tmp_path):
    two_sides(cli, tmp_path, {"primaryValue": "100", "fobvalue": "100"},
              {"primaryValue": "110", "cifvalue": "110", "fobvalue": "104"})
    [flow] = mirror_json(cli, "KAZ", "KOR", "--period", "2019")["flows"]
    assert (flow["basis"], flow["reporter_value"], flow["partner_value"], flow["gap_percent"]) == (
        "fob", "100", "104", "4.00")
    assert flow["partner"]["cif_value"] == "110" and flow["partner"]["value"] == "110"


def test_one_side_missing_and_table(cli, tmp_path):
    two_sides(cli, tmp_path, {"primaryValue": "100", "cmdCode": "8542"}, {"primaryValue": "5", "cmdCode": "2709"})
    out = mirror_json(cli, "KAZ", "KOR", "--period", "2019", "--hs", "8542")
    [flow] = out["flows"]
    assert (flow["flow"], flow["partner"], flow["basis"], flow["gap_percent"]) == ("exports", None, None, None)
    out = mirror_json(cli, "KAZ", "KOR", "--period", "2019", "--hs", "2709")
    [flow] = out["flows"]
    assert (flow["flow"], flow["reporter"], flow["partner"]["value"]) == ("exports", None, "5")
    assert mirror_json(cli, "KAZ", "KOR", "--period", "2019")["flows"] == []  # no all-commodities figures

    result = cli("trade", "mirror", "KAZ", "KOR", "--period", "2019", "--hs", "8542")
    assert result.exit_code == 0
    assert "KAZ and KOR, 2019, HS 8542" in result.stdout
    assert "exports KAZ→KOR" in result.stdout and "100 USD" in result.stdout
    result = cli("trade", "mirror", "KAZ", "UZB", "--period", "2019")
    assert "no trade observations" in result.stdout


def test_table_shows_gap(cli, tmp_path):
    two_sides(cli, tmp_path, {"primaryValue": "100"}, {"primaryValue": "110"})
    result = cli("trade", "mirror", "KAZ", "KOR", "--period", "2019")
    assert result.exit_code == 0, result.stderr
    assert "+10.00" in result.stdout
    assert "in percent of KAZ's" in result.stdout


def test_bad_arguments(cli, store):
    before = count_rows(store)
    result = cli("trade", "mirror", "Narnia", "KOR", "--period", "2019")
    assert result.exit_code == 1
    assert "reporter 'Narnia' is not a known country" in result.stderr
    result = cli("trade", "mirror", "KAZ", "Kazakhstan", "--period", "19")
    assert result.exit_code == 1
    assert "2 problems; nothing was written" in result.stderr
    assert "--period '19' is not a period" in result.stderr
    assert "reporter and partner are both KAZ" in result.stderr
    result = cli("trade", "mirror", "KAZ", "KOR", "--period", "2019", "--hs", "85.42")
    assert result.exit_code == 1
    assert "--hs '85.42' is not an HS code of 2, 4 or 6 digits, e.g. 8542" in result.stderr
    assert count_rows(store) == before
