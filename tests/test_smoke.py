from __future__ import annotations

import json

from conftest import count_rows


def test_demo_loads_and_overview_json(cli, store):
    result = cli("demo")
    assert result.exit_code == 0, result.stderr
    assert "Fresh Wind" in result.stdout
    out = cli("overview", "fresh-wind", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert [p["code"] for p in data["programme"]["parties"]] == ["KAZ", "KOR"]
    assert {b["key"]: b["count"] for b in data["by_status"]} == {"pipeline": 1, "in_execution": 1}
    again = cli("demo")
    assert again.exit_code == 0
    assert count_rows(store)["projects"] == 2


def test_demo_shows_reported_figures_beside_the_register_and_the_package_discrepancy(cli):
    assert cli("demo").exit_code == 0
    data = json.loads(cli("overview", "fresh-wind", "--json").stdout)
    reported = {(r["subject"], r["status"]): r for r in data["reported"]}
    assert reported[("programme", None)]["count"]["value"] == "58"
    assert reported[("package", None)]["count"]["value"] == "40"
    assert reported[("package", None)]["amount"]["value"] == "7000000000"
    assert reported[("package", None)]["amount"]["approximate"] is True
    assert reported[("project", "implemented")]["difference"]["text"] == "register: 0 implemented; 19 not registered"
    assert reported[("project", "in_execution")]["difference"]["text"] == "register: 1 in execution; 5 not registered"
    conflicts = json.loads(cli("conflicts", "--json").stdout)
    pairs = {(c["a"]["amount"], c["b"]["amount"], c["severity"]) for c in conflicts}
    assert ("7000000000", "7200000000", "discrepancy") in pairs
