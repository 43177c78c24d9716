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


def test_a_participant_named_by_identifier_or_alias_is_no_change(write, read, store):
    """A file may name a registered participant by its IATI identifier under another name, or by an
    alias: the same organisation, so the project is unchanged and its version stays."""
    from sqlalchemy import select

    from cooptrack.store.models import Organisation, Participant, Project

    spec = ProjectSpec(code="kexim-loan", title="Loan", participants=[
        ParticipantSpec("Export-Import Bank of Korea", "funding", iati_ref="KR-GOV-KEXIM"),
        ParticipantSpec("Korea Expressway Corporation", "implementing")])
    with write() as ctx:
        upsert_project(ctx, spec)
        ctx.session.scalar(select(Organisation).where(Organisation.name == "Korea Expressway Corporation")
                           ).aliases = ["KEC"]
    before = count_rows(store)
    with write() as ctx:
        _, outcome = upsert_project(ctx, ProjectSpec(code="kexim-loan", title="Loan", participants=[
            ParticipantSpec("KEXIM", "funding", iati_ref="KR-GOV-KEXIM"), ParticipantSpec("KEC", "implementing")]))
    assert outcome == "unchanged" and count_rows(store) == before
    with read() as ctx:
        assert ctx.session.scalar(select(Project.version).where(Project.code == "kexim-loan")) == 1
    # Another role is a change, found as before.
    with write() as ctx:
        _, outcome = upsert_project(ctx, ProjectSpec(code="kexim-loan", title="Loan", participants=[
            ParticipantSpec("KEXIM", "funding", iati_ref="KR-GOV-KEXIM"), ParticipantSpec("KEC", "extending")]))
    assert outcome == "updated"
    with read() as ctx:
        roles = ctx.session.execute(select(Organisation.name, Participant.role).join(Participant)
                                    .order_by(Participant.id)).all()
    assert [tuple(r) for r in roles] == [("Export-Import Bank of Korea", "funding"),
                                          ("Korea Expressway Corporation", "extending")]
