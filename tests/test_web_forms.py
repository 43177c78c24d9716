"""The web forms for the write API's other operations: a programme (new, edit), an observation
(new, edit), a target, an exchange rate, and a project's participants. Each needs a signed-in
editor and the session's CSRF token; each calls the same service as the API; an invalid form comes
back with every finding beside its field and nothing written; a stale edit shows what changed
meanwhile and writes nothing."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from web_support import add_test_user, hidden, signed_in

from cooptrack.services.audit import search as audit_search
from cooptrack.web import create_app

Form = dict[str, Any]


@pytest.fixture
def app(demo_db, write):
    with write() as ctx:
        for name, role in (("erin", "editor"), ("vic", "viewer")):
            add_test_user(ctx, name, role)
    return create_app(demo_db, public_read=True)


class _FormReader(HTMLParser):
    """The values a browser would send for the form with ``form_id``: inputs, checked boxes,
    text areas and each select's chosen option."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.found = form_id, False, False
        self.values: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = self.found = True
        if not self.inside:
            return
        if tag == "input" and "name" in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values.append((a["name"], ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.values.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "form":
            self.inside = False


def read_form(html: str, form_id: str) -> Form:
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.found, f"no form {form_id}"
    form: Form = {}
    for name, value in reader.values:
        if name in form:
            form[name] = [*([form[name]] if isinstance(form[name], str) else form[name]), value]
        else:
            form[name] = value
    return form


def form_at(client: TestClient, url: str, form_id: str) -> Form:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return read_form(page.text, form_id)


def events(read, entity: str, action: str | None = None) -> list[dict[str, Any]]:
    with read() as ctx:
        found, _total = audit_search(ctx, entity=entity, actor="erin", action=action)
    return found


def error(html: str, field: str) -> bool:
    return f'data-testid="error-{field}"' in html


# -- who may -------------------------------------------------------------------------------------

FORMS = ["/programmes/new", "/programmes/fresh-wind/edit", "/programmes/fresh-wind/targets/new", "/targets/1/edit",
         "/observations/new", "/observations/1/edit", "/rates/new"]


@pytest.mark.parametrize("url", FORMS)
def test_forms_need_an_editor_and_the_token(app, store, url):
    html = {"accept": "text/html"}
    assert TestClient(app).get(url, headers=html).status_code == 401
    assert TestClient(app).post(url, data={"csrf": "x"}, headers=html).status_code == 401
    vic = signed_in(app, "vic")
    assert vic.get(url).status_code == 403
    assert vic.post(url, data={"csrf": hidden(vic.get("/").text, "csrf")}).status_code == 403
    erin = signed_in(app, "erin")
    assert erin.get(url).status_code == 200
    before = count_rows(store)
    assert erin.post(url, data={"csrf": "forged"}).status_code == 403
    assert erin.post(url, data={}).status_code == 403
    assert count_rows(store) == before


def test_links_only_for_editors(app):
    erin, vic, anonymous = signed_in(app, "erin"), signed_in(app, "vic"), TestClient(app)
    for client, shown in ((erin, True), (vic, False), (anonymous, False)):
        home = client.get("/").text
        assert ('data-testid="programme-new"' in home) is shown
        assert 'href="/rates"' in home and 'href="/observations"' in home
        programme = client.get("/programmes/fresh-wind").text
        for link in ("programme-edit", "target-new", "observation-new"):
            assert (f'data-testid="{link}"' in programme) is shown, link
        assert ('data-testid="observation-edit"' in client.get("/observations").text) is shown
        assert ('data-testid="rate-new"' in client.get("/rates").text) is shown


# -- programmes ----------------------------------------------------------------------------------

DEMO_INDUSTRIES = ["Information and communication technologies", "Digitalisation", "Fourth Industrial Revolution",
                   "Transport and logistics centres", "Infrastructure", "Oil and gas", "Mining", "Construction",
                   "Tourism", "Health care", "Education"]

NEW_PROGRAMME = {"code": "silk-way", "name": "Silk Way programme", "party": ["Kazakhstan", "CHN", "", ""],
                 "aliases": "Silk Way\r\nNew Silk Way", "description": "", "signed": "2020-09",
                 "signed_occasion": "Visit", "period_start": "2020", "period_end": "2025",
                 "industries": "Transport: 21020, 21030\r\nTourism", "source": ""}


def test_register_a_programme(app, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/new", "programme-form")
    done = erin.post("/programmes/new", data=form | NEW_PROGRAMME, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/programmes/silk-way"
    saved = erin.get("/api/v1/programmes/silk-way").json()
    assert saved["parties"] == ["KAZ", "CHN"] and saved["aliases"] == ["Silk Way", "New Silk Way"]
    assert saved["industries"] == ["Transport", "Tourism"] and saved["signed"] == "2020-09"
    assert [e["entity_id"] for e in events(read, "programme", "create")] == ["silk-way"]
    assert erin.get("/programmes/silk-way").status_code == 200


def test_an_invalid_programme_comes_back_with_its_findings(app, store):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/new", "programme-form")
    before = count_rows(store)
    bad = erin.post("/programmes/new", data=form | NEW_PROGRAMME | {
        "code": "Silk Way", "name": "", "party": ["Atlantis", "", "", ""], "signed": "2020-13",
        "period_end": "someday", "industries": "Roads: 99999", "source": "no-such-source"})
    assert bad.status_code == 422
    for field in ("code", "name", "parties", "signed", "period_end", "industries", "source"):
        assert error(bad.text, field), field
    assert 'data-testid="form-errors"' not in bad.text  # every finding has its field
    assert 'value="Atlantis"' in bad.text and "Roads: 99999" in bad.text  # what was typed is kept
    assert count_rows(store) == before
    taken = erin.post("/programmes/new", data=form | NEW_PROGRAMME | {"code": "fresh-wind"})
    assert taken.status_code == 409 and error(taken.text, "code") and "already exists" in taken.text
    assert count_rows(store) == before


def test_edit_a_programme(app, store, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    assert form["version"] == "1" and "Fresh Wind" in form["aliases"]
    done = erin.post("/programmes/fresh-wind/edit", data=form | {"name": "Fresh Wind (renamed)",
                                                                  "aliases": "Fresh Wind\r\nSvezhiy Veter"},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/programmes/fresh-wind"
    saved = erin.get("/api/v1/programmes/fresh-wind").json()
    assert saved["name"] == "Fresh Wind (renamed)" and saved["aliases"] == ["Fresh Wind", "Svezhiy Veter"]
    assert saved["version"] == 2 and len(events(read, "programme", "update")) == 1
    form = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    before = count_rows(store)
    bad = erin.post("/programmes/fresh-wind/edit", data=form | {"name": "", "period_start": "someday",
                                                                 "signed": "2019-13"})
    assert bad.status_code == 422
    assert error(bad.text, "name") and error(bad.text, "period_start") and error(bad.text, "signed")
    assert count_rows(store) == before and erin.get("/api/v1/programmes/fresh-wind").json()["version"] == 2


def test_a_stale_programme_form_shows_what_changed_meanwhile(app, store):
    erin = signed_in(app, "erin")
    mine = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    other = dict(mine)
    assert erin.post("/programmes/fresh-wind/edit", data=other | {"signed_occasion": "Changed first"},
                     follow_redirects=False).status_code == 303
    before = count_rows(store)
    late = erin.post("/programmes/fresh-wind/edit", data=mine | {"description": "My description"})
    assert late.status_code == 409 and 'data-testid="changed-meanwhile"' in late.text
    assert 'data-field="signed_occasion"' in late.text and "Changed first" in late.text
    assert 'data-field="description"' in late.text and "My description" in late.text
    assert count_rows(store) == before
    assert erin.get("/api/v1/programmes/fresh-wind").json()["description"] != "My description"
    again = read_form(late.text, "programme-form")
    assert again["version"] == "2" and again["description"] == "My description"
    assert erin.post("/programmes/fresh-wind/edit", data=again, follow_redirects=False).status_code == 303
    saved = erin.get("/api/v1/programmes/fresh-wind").json()
    assert saved["description"] == "My description" and saved["version"] == 3


def industry_rows(form: Form) -> dict[str, int]:
    """The edit form's industry rows by the name each had when the form was shown."""
    return {form[f"industry-{i}-was"]: i for i in range(int(form["industry_rows"])) if form[f"industry-{i}-was"]}


def test_edit_a_programmes_parties_and_industries(app, store, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    assert form["party"] == ["KAZ", "KOR", "", ""]  # the parties, and blank inputs to add more
    rows = industry_rows(form)
    assert list(rows) == DEMO_INDUSTRIES and int(form["industry_rows"]) == len(DEMO_INDUSTRIES) + 2
    infrastructure, mining, tourism = rows["Infrastructure"], rows["Mining"], rows["Tourism"]
    assert (form[f"industry-{infrastructure}-name"], form[f"industry-{infrastructure}-dac_codes"]) == (
        "Infrastructure", "21020, 21030")
    blank = len(DEMO_INDUSTRIES)
    assert (form[f"industry-{blank}-was"], form[f"industry-{blank}-name"]) == ("", "")
    done = erin.post("/programmes/fresh-wind/edit", data=form | {
        "party": ["KAZ", "KOR", "Uzbekistan", ""],
        f"industry-{infrastructure}-name": "Roads and bridges",  # renamed in place
        f"industry-{infrastructure}-dac_codes": "21020",
        f"industry-{tourism}-dac_codes": "33210; 33120",
        f"industry-{mining}-remove": "1",
        f"industry-{blank}-name": "Green energy", f"industry-{blank}-dac_codes": "23210"},
        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/programmes/fresh-wind"
    saved = erin.get("/api/v1/programmes/fresh-wind").json()
    assert saved["parties"] == ["KAZ", "KOR", "UZB"] and saved["version"] == 2
    expected = [n for n in DEMO_INDUSTRIES if n != "Mining"]
    expected[expected.index("Infrastructure")] = "Roads and bridges"
    assert saved["industries"] == [*expected, "Green energy"]
    assert saved["industry_dac_codes"]["Roads and bridges"] == ["21020"]
    assert saved["industry_dac_codes"]["Tourism"] == ["33120", "33210"]
    assert saved["industry_dac_codes"]["Green energy"] == ["23210"]
    assert erin.get("/api/v1/projects/bakad").json()["industry"] == "Roads and bridges"  # the same industry
    (event,) = events(read, "programme", "update")
    assert (event["before"]["parties"], event["after"]["parties"]) == (["KAZ", "KOR"], ["KAZ", "KOR", "UZB"])
    # the form shown again holds the new lists; sent unchanged, it changes nothing
    again = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    assert again["party"] == ["KAZ", "KOR", "UZB", "", ""] and list(industry_rows(again)) == saved["industries"]
    before = count_rows(store)
    assert erin.post("/programmes/fresh-wind/edit", data=again, follow_redirects=False).status_code == 303
    assert count_rows(store) == before and erin.get("/api/v1/programmes/fresh-wind").json()["version"] == 2


def test_refused_parties_and_industries_are_shown_beside_their_fields(app, store):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    rows = industry_rows(form)
    before = count_rows(store)
    removed = erin.post("/programmes/fresh-wind/edit", data=form | {f"industry-{rows['Infrastructure']}-remove": "1"})
    assert removed.status_code == 422
    shown = read_form(removed.text, "programme-form")
    assert f'data-testid="error-industry-{rows["Infrastructure"]}"' in removed.text
    assert ("industry &#39;Infrastructure&#39; cannot be removed: 1 project is filed under it (bakad)" in removed.text)
    assert 'data-testid="form-errors"' not in removed.text  # every finding has its field
    assert shown[f"industry-{rows['Infrastructure']}-remove"] == "1"  # what was sent is kept
    row = rows["Infrastructure"]
    emptied = erin.post("/programmes/fresh-wind/edit", data=form | {f"industry-{row}-name": "",
                                                                     f"industry-{row}-dac_codes": ""})
    assert emptied.status_code == 422 and f'data-testid="error-industry-{row}"' in emptied.text
    bad = erin.post("/programmes/fresh-wind/edit", data=form | {
        "party": ["KAZ", "KOR", "Atlantis", ""], "period_start": "2023",
        f"industry-{rows['Mining']}-dac_codes": "99999", f"industry-{rows['Tourism']}-name": "Oil and gas"})
    assert bad.status_code == 422
    assert error(bad.text, "parties") and "parties[2] &#39;Atlantis&#39; is not a known country" in bad.text
    assert error(bad.text, "period_end") and "period end 2022-12-31 is before period start 2023-01-01" in bad.text
    assert f'data-testid="error-industry-{rows["Mining"]}"' in bad.text and "&#39;99999&#39; is not a DAC" in bad.text
    assert f'name="industry-{rows["Mining"]}-dac_codes" value="99999" aria-label="DAC sectors" placeholder="21020, ' \
           '21030" aria-invalid="true"' in bad.text
    assert f'data-testid="error-industry-{rows["Tourism"]}"' in bad.text  # a name taken twice
    assert f'data-testid="error-industry-{rows["Oil and gas"]}"' not in bad.text
    assert 'data-testid="form-errors"' not in bad.text and 'value="Atlantis"' in bad.text
    freed = erin.post("/programmes/fresh-wind/edit", data=form | {"party": ["KAZ", "", "", ""]})
    assert freed.status_code == 422 and error(freed.text, "parties") and "at least two parties" in freed.text
    assert count_rows(store) == before and erin.get("/api/v1/programmes/fresh-wind").json()["version"] == 1


def test_a_stale_programme_form_shows_parties_and_industries_changed_meanwhile(app, store):
    erin = signed_in(app, "erin")
    mine = form_at(erin, "/programmes/fresh-wind/edit", "programme-form")
    rows = industry_rows(mine)
    first = erin.post("/programmes/fresh-wind/edit", data=mine | {"party": ["KOR", "KAZ", "", ""]},
                      follow_redirects=False)
    assert first.status_code == 303
    before = count_rows(store)
    late = erin.post("/programmes/fresh-wind/edit", data=mine | {f"industry-{rows['Infrastructure']}-name": "Roads"})
    assert late.status_code == 409 and 'data-testid="changed-meanwhile"' in late.text
    assert 'data-field="parties"' in late.text and "KOR, KAZ" in late.text
    assert 'data-field="industries"' in late.text and "Roads (21020, 21030)" in late.text
    assert count_rows(store) == before
    assert erin.get("/api/v1/programmes/fresh-wind").json()["industries"] == DEMO_INDUSTRIES
    again = read_form(late.text, "programme-form")
    assert again["version"] == "2" and again[f"industry-{rows['Infrastructure']}-name"] == "Roads"
    assert again[f"industry-{rows['Infrastructure']}-was"] == "Infrastructure"
    assert again["party"][:2] == ["KAZ", "KOR"]  # the form as sent: saving it again puts back its parties
    assert erin.post("/programmes/fresh-wind/edit", data=again, follow_redirects=False).status_code == 303
    saved = erin.get("/api/v1/programmes/fresh-wind").json()
    assert saved["industries"][DEMO_INDUSTRIES.index("Infrastructure")] == "Roads" and saved["version"] == 3
    assert saved["parties"] == ["KAZ", "KOR"] and erin.get("/api/v1/projects/bakad").json()["industry"] == "Roads"


# -- targets -------------------------------------------------------------------------------------

TARGET = {"indicator": "trade_turnover", "reporter": "KAZ", "partner": "KOR", "period": "2019", "unit": "USD",
          "multiple": "2", "baseline_period": "2019-H1", "note": "double by year end"}


def test_define_a_target(app, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/fresh-wind/targets/new", "target-form")
    assert form["reporter"] == "KAZ" and form["partner"] == "KOR"  # the programme's parties
    targets = len(erin.get("/api/v1/programmes/fresh-wind/targets").json())
    done = erin.post("/programmes/fresh-wind/targets/new", data=form | TARGET | {"approximate": "1"},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/programmes/fresh-wind"
    listed = erin.get("/api/v1/programmes/fresh-wind/targets").json()
    assert len(listed) == targets + 1
    assert len(events(read, "target", "create")) == 1


def test_an_invalid_target_comes_back_with_its_findings(app, store):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/programmes/fresh-wind/targets/new", "target-form")
    before = count_rows(store)
    bad = erin.post("/programmes/fresh-wind/targets/new", data=form | TARGET | {
        "value": "5000000000", "baseline_period": "", "reporter": "Atlantis", "unit": "dollars",
        "deadline": "next year", "hs_code": "12345", "period": "2019-H3"})
    assert bad.status_code == 422
    for field in ("value", "baseline_period", "reporter", "unit", "deadline", "hs_code", "period"):
        assert error(bad.text, field), field
    assert count_rows(store) == before
    unknown = erin.post("/programmes/fresh-wind/targets/new", data=form | TARGET | {"indicator": "rainfall",
                                                                                     "source": "nowhere"})
    assert unknown.status_code == 422 and error(unknown.text, "indicator") and error(unknown.text, "source")
    assert 'value="rainfall" selected' in unknown.text
    assert count_rows(store) == before
    assert erin.get("/programmes/no-such/targets/new").status_code == 404


def test_edit_a_target(app, store, read):
    erin = signed_in(app, "erin")
    assert 'href="/targets/1/edit"' in erin.get("/programmes/fresh-wind").text
    assert 'href="/targets/1/edit"' not in signed_in(app, "vic").get("/programmes/fresh-wind").text
    form = form_at(erin, "/targets/1/edit", "target-form")
    assert (form["indicator"], form["multiple"], form["unit"], form["version"]) == ("trade_turnover", "2", "USD", "1")
    assert form["approximate"] == "1" and form["deadline"] == "2019-12-31"
    done = erin.post("/targets/1/edit", data=form | {"period": "2020", "note": "double by 2020"},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/programmes/fresh-wind"
    saved = erin.get("/api/v1/targets/1").json()
    assert (saved["period"], saved["deadline"], saved["note"], saved["version"]) == (
        "2020", "2020-12-31", "double by 2020", 2)  # the deadline was the period's end: it moved with it
    assert saved["approximate"] is True and saved["multiple"] == "2"
    assert [e["entity_id"] for e in events(read, "target", "update")] == ["1"]
    form = form_at(erin, "/targets/1/edit", "target-form")
    unticked = {k: v for k, v in form.items() if k != "approximate"}
    assert erin.post("/targets/1/edit", data=unticked, follow_redirects=False).status_code == 303
    assert erin.get("/api/v1/targets/1").json()["approximate"] is False
    form = form_at(erin, "/targets/1/edit", "target-form")
    before = count_rows(store)
    bad = erin.post("/targets/1/edit", data=form | {"period": "2020-H3", "unit": "", "reporter": "Atlantis",
                                                      "source": "nowhere"})
    assert bad.status_code == 422
    for field in ("period", "unit", "reporter", "source"):
        assert error(bad.text, field), field
    assert 'value="Atlantis"' in bad.text
    assert count_rows(store) == before and erin.get("/api/v1/targets/1").json()["version"] == 3
    assert erin.get("/targets/999999/edit").status_code == 404


def test_a_stale_target_form_shows_what_changed_meanwhile(app, store):
    erin = signed_in(app, "erin")
    mine = form_at(erin, "/targets/1/edit", "target-form")
    first = erin.post("/targets/1/edit", data=mine | {"note": "Changed first"}, follow_redirects=False)
    assert first.status_code == 303
    before = count_rows(store)
    late = erin.post("/targets/1/edit", data=mine | {"multiple": "3"})
    assert late.status_code == 409 and 'data-testid="changed-meanwhile"' in late.text
    assert 'data-field="note"' in late.text and "Changed first" in late.text
    assert 'data-field="multiple"' in late.text
    assert count_rows(store) == before and erin.get("/api/v1/targets/1").json()["multiple"] == "2"
    again = read_form(late.text, "target-form")
    assert again["version"] == "2" and again["multiple"] == "3"
    assert erin.post("/targets/1/edit", data=again, follow_redirects=False).status_code == 303
    assert erin.get("/api/v1/targets/1").json()["multiple"] == "3"


# -- observations --------------------------------------------------------------------------------

OBSERVATION = {"indicator": "exports", "reporter": "KAZ", "partner": "KOR", "period": "2020", "value": "1,250,000",
               "unit": "usd", "hs_code": "2709", "value_basis": "fob", "flags": ["preliminary"],
               "source": "qazaqtv-40-projects", "note": "from the form"}


def test_add_an_observation(app, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/observations/new?reporter=KAZ&partner=KOR", "observation-form")
    assert form["reporter"] == "KAZ" and form["partner"] == "KOR"
    done = erin.post("/observations/new", data=form | OBSERVATION, follow_redirects=False)
    assert done.status_code == 303
    where = done.headers["location"]
    assert where.startswith("/observations?indicator=exports&reporter=KAZ&partner=KOR#observation-")
    new_id = int(where.rsplit("-", 1)[1])
    saved = erin.get(f"/api/v1/observations/{new_id}").json()
    assert saved["value"] == "1250000" and saved["unit"] == "USD" and saved["hs_code"] == "2709"
    assert saved["flags"] == ["preliminary"] and saved["source"] == "qazaqtv-40-projects"
    assert [e["entity_id"] for e in events(read, "observation", "create")] == [str(new_id)]
    page = erin.get(where.split("#")[0])
    assert f'id="observation-{new_id}"' in page.text and f'href="/observations/{new_id}/edit"' in page.text


def test_an_invalid_observation_comes_back_with_its_findings(app, store):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/observations/new", "observation-form")
    before = count_rows(store)
    bad = erin.post("/observations/new", data=form | OBSERVATION | {
        "reporter": "Atlantis", "period": "2020-H3", "value": "lots", "hs_code": "99999", "value_basis": "cost",
        "flags": ["guessed"], "source": "no-such-source", "quantity": "a few"})
    assert bad.status_code == 422
    for field in ("reporter", "period", "value", "hs_code", "value_basis", "flags", "source", "quantity"):
        assert error(bad.text, field), field
    assert 'value="Atlantis"' in bad.text
    same = erin.post("/observations/new", data=form | OBSERVATION | {"indicator": "rainfall", "partner": "KAZ"})
    assert same.status_code == 422 and error(same.text, "indicator") and error(same.text, "partner")
    money = erin.post("/observations/new", data=form | OBSERVATION | {"unit": "dollars"})
    assert money.status_code == 422 and error(money.text, "unit")
    assert count_rows(store) == before


def test_edit_an_observation(app, store, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/observations/2/edit", "observation-form")
    assert form["value"] == "2000000000" and form["version"] == "1"
    done = erin.post("/observations/2/edit", data=form | {"value": "2100000000", "flags": ["approximate"]},
                     follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("#observation-2")
    saved = erin.get("/api/v1/observations/2").json()
    assert saved["value"] == "2100000000" and saved["flags"] == ["approximate"] and saved["version"] == 2
    assert [e["entity_id"] for e in events(read, "observation", "update")] == ["2"]
    form = form_at(erin, "/observations/2/edit", "observation-form")
    before = count_rows(store)
    bad = erin.post("/observations/2/edit", data=form | {"value": "-5", "flags": ["guessed"], "source": "nowhere"})
    assert bad.status_code == 422
    assert error(bad.text, "value") and error(bad.text, "flags") and error(bad.text, "source")
    assert count_rows(store) == before and erin.get("/api/v1/observations/2").json()["version"] == 2
    assert erin.get("/observations/999999/edit").status_code == 404


def test_a_stale_observation_form_shows_what_changed_meanwhile(app, store):
    erin = signed_in(app, "erin")
    mine = form_at(erin, "/observations/2/edit", "observation-form")
    assert erin.post("/observations/2/edit", data=mine | {"note": "Changed first"},
                     follow_redirects=False).status_code == 303
    before = count_rows(store)
    late = erin.post("/observations/2/edit", data=mine | {"value": "1900000000"})
    assert late.status_code == 409 and 'data-testid="changed-meanwhile"' in late.text
    assert 'data-field="note"' in late.text and "Changed first" in late.text
    assert 'data-field="value"' in late.text and "1900000000" in late.text
    assert count_rows(store) == before and erin.get("/api/v1/observations/2").json()["value"] == "2000000000"
    again = read_form(late.text, "observation-form")
    assert again["version"] == "2" and again["value"] == "1900000000"
    assert erin.post("/observations/2/edit", data=again, follow_redirects=False).status_code == 303
    assert erin.get("/api/v1/observations/2").json()["value"] == "1900000000"


# -- exchange rates ------------------------------------------------------------------------------


def test_rates_page_and_form(app, store, read):
    anonymous = TestClient(app)
    page = anonymous.get("/rates")
    assert page.status_code == 200 and 'id="rate-KZT-2019"' in page.text
    erin = signed_in(app, "erin")
    form = form_at(erin, "/rates/new", "rate-form")
    done = erin.post("/rates/new", data=form | {"currency": "krw", "period": "2019", "per_usd": "1165.36",
                                                "source": "Bank of Korea, 2019 average"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/rates#rate-KRW-2019"
    assert 'id="rate-KRW-2019"' in anonymous.get("/rates").text and "1,165.36" in anonymous.get("/rates").text
    assert [e["entity_id"] for e in events(read, "exchange_rate", "create")] == ["KRW/2019"]
    before = count_rows(store)
    bad = erin.post("/rates/new", data=form | {"currency": "USD", "period": "2019-13", "per_usd": "0", "source": ""})
    assert bad.status_code == 422
    for field in ("currency", "period", "per_usd", "source"):
        assert error(bad.text, field), field
    unknown = erin.post("/rates/new", data=form | {"currency": "ZZZ", "period": "2019", "per_usd": "abc",
                                                   "source": "x"})
    assert unknown.status_code == 422 and error(unknown.text, "currency") and error(unknown.text, "per_usd")
    again = {"currency": "KZT", "period": "2019", "per_usd": "400", "source": "Corrected"}
    taken = erin.post("/rates/new", data=form | again)
    assert taken.status_code == 409 and error(taken.text, "replace")
    assert count_rows(store) == before
    replaced = erin.post("/rates/new", data=form | again | {"replace": "1"}, follow_redirects=False)
    assert replaced.status_code == 303
    assert [e["entity_id"] for e in events(read, "exchange_rate", "update")] == ["KZT/2019"]
    assert 'data-value="400"' in anonymous.get("/rates").text


# -- participants --------------------------------------------------------------------------------


def participants(client: TestClient) -> list[tuple[str, str, str | None]]:
    return [(p["name"], p["role"], p["country"]) for p in client.get("/api/v1/projects/bakad").json()["participants"]]


def test_participants_through_the_project_form(app, store, read):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/projects/bakad/edit", "project-edit")
    assert form["participant_rows"] == "3" and form["participant-0-name"] == ""
    added = form | {"participant-0-name": "Korea Expressway Corporation", "participant-0-role": "investor",
                    "participant-0-country": "South Korea", "participant-1-name": "KazAvtoZhol",
                    "participant-1-role": "implementing", "participant-1-country": "KAZ", "participant-1-kind": "10"}
    assert erin.post("/projects/bakad/edit", data=added, follow_redirects=False).status_code == 303
    assert participants(erin) == [("Korea Expressway Corporation", "investor", "KOR"),
                                  ("KazAvtoZhol", "implementing", "KAZ")]
    form = form_at(erin, "/projects/bakad/edit", "project-edit")
    assert form["participant_rows"] == "5" and form["participant-1-kind"] == "10"
    changed = form | {"participant-0-role": "funding", "participant-1-remove": "1"}
    assert erin.post("/projects/bakad/edit", data=changed, follow_redirects=False).status_code == 303
    assert participants(erin) == [("Korea Expressway Corporation", "funding", "KOR")]
    assert len(events(read, "project", "update")) == 2
    # emptying a row takes it off too
    form = form_at(erin, "/projects/bakad/edit", "project-edit")
    emptied = form | {"participant-0-name": "", "participant-0-role": "", "participant-0-country": ""}
    assert erin.post("/projects/bakad/edit", data=emptied, follow_redirects=False).status_code == 303
    assert participants(erin) == []


def test_a_bad_participant_is_named_beside_its_row(app, store):
    erin = signed_in(app, "erin")
    form = form_at(erin, "/projects/bakad/edit", "project-edit")
    before = count_rows(store)
    bad = erin.post("/projects/bakad/edit", data=form | {
        "participant-1-name": "Korea Expressway Corporation", "participant-1-role": "sponsor",
        "participant-2-name": "KazAvtoZhol", "participant-2-role": "implementing", "participant-2-country": "Atlantis"})
    assert bad.status_code == 422
    assert 'data-testid="error-participant-1"' in bad.text and "sponsor" in bad.text
    assert 'data-testid="error-participant-2"' in bad.text and "Atlantis" in bad.text
    assert 'data-testid="error-participant-0"' not in bad.text
    assert 'name="participant-1-role" aria-label="Role" aria-invalid="true"' in bad.text
    assert 'value="sponsor" selected' in bad.text  # what was sent is kept
    no_role = erin.post("/projects/bakad/edit", data=form | {"participant-2-name": "Samruk"})
    assert no_role.status_code == 422 and 'data-testid="error-participant-2"' in no_role.text
    assert count_rows(store) == before and participants(erin) == []


def test_a_stale_participant_edit_shows_both_lists(app, store):
    erin = signed_in(app, "erin")
    mine = form_at(erin, "/projects/bakad/edit", "project-edit")
    first = mine | {"participant-0-name": "KazAvtoZhol", "participant-0-role": "implementing"}
    assert erin.post("/projects/bakad/edit", data=first, follow_redirects=False).status_code == 303
    before = count_rows(store)
    late = erin.post("/projects/bakad/edit", data=mine | {"participant-0-name": "Samruk",
                                                          "participant-0-role": "funding"})
    assert late.status_code == 409 and 'data-field="participants"' in late.text, late.text[:3000]
    assert "KazAvtoZhol (implementing)" in late.text and "Samruk (funding)" in late.text
    assert count_rows(store) == before and participants(erin) == [("KazAvtoZhol", "implementing", None)]


def test_a_form_in_russian(app):
    erin = signed_in(app, "erin")
    page = erin.get("/programmes/new", headers={"accept-language": "ru"})
    assert page.status_code == 200 and '<html lang="ru">' in page.text
    assert "Новая программа" in page.text and "New programme" not in page.text
