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
