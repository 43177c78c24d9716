"""The organisations the register's tests share (tests/test_organisations.py, the API and CLI;
tests/test_web_organisations.py, the pages): four organisations named by three projects, one
registered first with its kind, IATI identifier and aliases, and one in no project."""

from __future__ import annotations

from cooptrack.services.context import Context
from cooptrack.services.projects import ParticipantSpec, ProjectSpec, register_project
from cooptrack.store.models import Organisation

KEXIM = "Export-Import Bank of Korea"
SAMRUK = "Samruk-Energy"
ROADS = "KazAutoZhol"
AKIMAT = "akimat of Zhambyl Region"  # lower-case first: sorted among the others in any case
KOTRA = "Korea Trade-Investment Promotion Agency"  # takes part in no project

PROJECTS = [
    # code, title, programme, participants (name, role, country, kind, IATI identifier)
    ("wind-farm", "Zhanatas wind farm", "fresh-wind", [
        (KEXIM, "funding", "KOR", None, "XI-TEST-KEXIM"), (SAMRUK, "implementing", "Kazakhstan", "70", None)]),
    ("solar-park", "Solar park near Shymkent", None, [
        (KEXIM, "funding", "KOR", None, None), (SAMRUK, "accountable", "KAZ", None, None),
        (SAMRUK, "implementing", "KAZ", None, None)]),
    ("road-study", "Feasibility study of the Taraz ring road", "fresh-wind", [
        (ROADS, "implementing", "KAZ", None, None), (AKIMAT, "accountable", "KAZ", "11", None)]),
]
NOT_FOUND = "organisation 999 does not exist; `cooptrack organisation list` shows the ids"
BAD_COUNTRY = ("country 'Atlantis' is not a known country; use an ISO 3166 code (KAZ, KOR) or a name such as "
               "'Kazakhstan' or 'South Korea'")
KIND_CODES = "10, 11, 15, 21, 22, 23, 24, 30, 40, 60, 70, 71, 72, 73, 80, 90"
BAD_KIND = (f"kind '99' is not an IATI OrganisationType code; use one of {KIND_CODES} (e.g. 10 government, "
            "40 multilateral, 70 private sector)")


def register_organisations(ctx: Context) -> None:
    """KEXIM and KOTRA registered first, then the three projects (which add the other three)."""
    ctx.session.add_all([
        Organisation(name=KEXIM, country="KOR", kind="10", iati_ref="XI-TEST-KEXIM",
                     aliases=["KEXIM", "Korea Eximbank"]),
        Organisation(name=KOTRA, country="KOR", kind="10", aliases=["KOTRA"])])
    ctx.session.flush()
    for code, title, programme, people in PROJECTS:
        register_project(ctx, ProjectSpec(code, title, programme=programme,
                                          participants=[ParticipantSpec(*p) for p in people]))
