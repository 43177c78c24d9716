"""upsert_project: create, leave unchanged, update; the IATI identifier finds the registered project."""

from conftest import count_rows

from cooptrack.services.projects import ParticipantSpec, ProjectSpec, upsert_project


def test_upsert(write, store):
    spec = ProjectSpec(code="p1", title="P", sectors={"21020": "100"},
                       participants=[ParticipantSpec("Org A", "funding")],
                       iati_identifier="XM-1", value="10", currency="USD")
    with write() as ctx:
        assert upsert_project(ctx, spec)[1] == "created"
    with write() as ctx:
        assert upsert_project(ctx, spec)[1] == "unchanged"
    spec.title = "P2"
    spec.sectors = {"21020": "50", "21030": "50"}
    with write() as ctx:
        p, what = upsert_project(ctx, spec)
        assert what == "updated" and p.title == "P2" and len(p.sectors) == 2
    spec.code = "other"
    with write() as ctx:
        p, what = upsert_project(ctx, spec)
        assert what == "unchanged" and p.code == "p1"
    assert count_rows(store)["projects"] == 1
