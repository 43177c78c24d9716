"""The missing parts of the write API on both databases: uploading a source document (text, HTML,
PDF; the same text twice; every bad input refused with nothing written), editing a target with
If-Match, replacing a project's participants, and the web form for a new source."""

from __future__ import annotations

import pytest
from conftest import count_rows
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_documents import DRAWING_PDF, HTML, TEXT_PDF
from web_support import add_test_user, hidden, signed_in

from cooptrack.services.users import create_token
from cooptrack.store.models import AuditEvent, Source, Target
from cooptrack.web import create_app

NEWS = ("Astana, 22 April 2019. Trade turnover between Kazakhstan and Korea reached US$2 billion in the first half "
        "of the year and is expected to double by the end of the year.")


@pytest.fixture
def world(demo_db, write, prepare):
    def users():
        tokens = {}
        with write() as ctx:
            for role in ("viewer", "editor"):
                add_test_user(ctx, role, role)
                tokens[role] = create_token(ctx, role).token
        return tokens

    tokens = prepare("demo, then a viewer and an editor with passwords and tokens", users)
    app = create_app(demo_db, public_read=True)
    editor = TestClient(app, headers={"Authorization": f"Bearer {tokens['editor']}"})
    viewer = TestClient(app, headers={"Authorization": f"Bearer {tokens['viewer']}"})
    return app, editor, viewer


def upload(client, body, **params):
    headers = {"Content-Type": params.pop("content_type")} if "content_type" in params else {}
    return client.post("/api/v1/sources", params=params, content=body, headers=headers)


def error(response):
    return response.json()["error"]


def source_row(store, code):
    with store.read() as session:
        return session.scalar(select(Source).where(Source.code == code))


# -- uploading a source -----------------------------------------------------------------------------


def test_upload_a_text_file(world, store, read):
    _app, editor, _viewer = world
    done = upload(editor, NEWS.encode("cp1251"), filename="astana-news.txt", code="astana-2019",
                  publisher="Kazinform", url="https://example.org/news/1", published="2019-04-22", language="en",
                  kind="media", credit="Kazinform", note="uploaded in a test")
    assert done.status_code == 201, done.text
    body = done.json()
    assert done.headers["location"] == "/api/v1/sources/astana-2019"
    assert done.headers["etag"] == f'"{body["version"]}"'
    assert body.pop("created") is True
    shown = editor.get(done.headers["location"])
    assert shown.status_code == 200 and shown.json() == body  # the source as GET shows it
    assert body["title"] == "astana-news"  # default: the file name
    assert (body["publisher"], body["published"], body["language"], body["kind"]) == (
        "Kazinform", "2019-04-22", "en", "media")
    assert "".join(seg["text"] for seg in body["segments"]) == NEWS
    row = source_row(store, "astana-2019")
    assert (row.filename, row.media_type, row.credit) == ("astana-news.txt", "text/plain", "Kazinform")
    with read() as ctx:
        event = ctx.session.scalar(select(AuditEvent).where(AuditEvent.entity == "source")
                                   .order_by(AuditEvent.id.desc()))
    assert event.action == "create" and event.actor == "editor" and event.request_id == done.headers["x-request-id"]
    assert event.after["code"] == "astana-2019" and event.after["filename"] == "astana-news.txt"


def test_upload_html_keeps_the_main_text(world, store):
    _app, editor, _viewer = world
    done = upload(editor, HTML.encode(), filename="fresh-wind.html", title="Fresh Wind: 40 projects")
    assert done.status_code == 201, done.text
    body = done.json()
    text = "".join(seg["text"] for seg in body["segments"])
    assert "19 projects worth US$2 billion have been implemented" in text
    assert "$9 billion" not in text and "Sport news menu" not in text
    assert body["title"] == "Fresh Wind: 40 projects"
    with store.read() as session:
        assert session.get(Source, body["number"]).media_type == "text/html"


def test_upload_pdf_by_its_content_type(world, store):
    _app, editor, _viewer = world
    done = upload(editor, TEXT_PDF, title="Investment report", content_type="application/pdf")
    assert done.status_code == 201, done.text
    body = done.json()
    assert "".join(seg["text"] for seg in body["segments"]) == "Korea invested US$2 billion"
    with store.read() as session:
        row = session.get(Source, body["number"])
        assert (row.media_type, row.filename) == ("application/pdf", "upload.pdf")


def test_the_same_text_again_answers_the_existing_source(world, store):
    _app, editor, _viewer = world
    first = upload(editor, NEWS.encode(), filename="news.txt", code="astana-2019")
    assert first.status_code == 201
    before = count_rows(store)
    again = upload(editor, NEWS.encode("utf-8-sig"), filename="copy.txt", title="Another title", code="other-id")
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["created"] is False and body["id"] == "astana-2019" and body["title"] == "news"
    assert "stored already as source 'astana-2019'" in body["message"] and "nothing was written" in body["message"]
    assert again.headers["location"] == "/api/v1/sources/astana-2019"
    assert count_rows(store) == before


@pytest.mark.parametrize("body, params, status, words", [
    pytest.param(b"", {"filename": "news.txt"}, 422, "news.txt is empty; nothing to read", id="empty"),
    pytest.param(b" \n\t ", {"filename": "news.txt"}, 422, "is empty", id="whitespace"),
    pytest.param(NEWS.encode(), {"filename": "photo.png"}, 415, "a source document is a text, HTML or PDF file",
                 id="wrong-suffix"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"abc" * 100, {"filename": "news.txt"}, 415, "a PNG image", id="png-as-text"),
    pytest.param(b"PK\x03\x04" + b"abc" * 100, {"title": "x", "content_type": "application/octet-stream"}, 415,
                 "a ZIP archive", id="zip"),
    pytest.param(NEWS.encode(), {"filename": "report.pdf"}, 415, "is named .pdf but is not a PDF", id="fake-pdf"),
    pytest.param(DRAWING_PDF, {"filename": "scan.pdf"}, 422, "no text layer", id="pdf-without-text"),
    pytest.param(b"%PDF-1.4\nthis is not really a PDF\n", {"filename": "broken.pdf"}, 422, "broken.pdf",
                 id="broken-pdf"),
    pytest.param(HTML.split("<article>")[0].encode() + b"</body></html>", {"filename": "menu.html"}, 422,
                 "no main text found in the HTML", id="html-without-text"),
    pytest.param(NEWS.encode(), {"content_type": "text/plain"}, 422, "title is required", id="no-title-no-name"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "published": "2019-13-45"}, 422, "2019-13-45",
                 id="bad-published"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "language": "english"}, 422,
                 "language 'english' is not an ISO 639-1 code", id="bad-language"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "kind": "blog"}, 422,
                 "kind 'blog' is not one of official, media, dataset, company", id="bad-kind"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "code": "Bad Id!"}, 422, "is not a valid id", id="bad-id"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "code": "new"}, 422, "is reserved", id="reserved-id"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "code": "qazaqtv-40-projects"}, 409,
                 "source id 'qazaqtv-40-projects' is taken by another document", id="taken-id"),
    pytest.param(NEWS.encode(), {"filename": "n.txt", "publisher": "p" * 201}, 422, "publisher is 201 characters",
                 id="long-publisher"),
])
def test_bad_uploads_write_nothing(world, store, body, params, status, words):
    _app, editor, _viewer = world
    before = count_rows(store)
    response = upload(editor, body, **params)
    assert response.status_code == status, response.text
    err = error(response)
    assert words in err["message"], err
    assert err["status"] == status and isinstance(err["findings"], list)
    if status == 422:
        assert err["code"] == "invalid_input" and err["findings"]
    assert count_rows(store) == before


def test_every_finding_at_once(world, store):
    _app, editor, _viewer = world
    before = count_rows(store)
    response = upload(editor, b"", filename="n.txt", language="english", kind="blog", published="someday")
    assert response.status_code == 422
    fields = sorted(f["field"] for f in error(response)["findings"])
    assert fields == ["file", "kind", "language", "published"]
    assert count_rows(store) == before


def test_size_limit(world, store, monkeypatch):
    _app, editor, _viewer = world
    monkeypatch.setenv("COOPTRACK_MAX_UPLOAD_MB", "0.01")
    before = count_rows(store)
    body = NEWS.encode() * 100
    declared = upload(editor, body, filename="big.txt")
    assert declared.status_code == 413 and "upload limit of 10,485 bytes" in error(declared)["message"]
    chunked = editor.post("/api/v1/sources", params={"filename": "big.txt"},
                          content=(body[i:i + 1000] for i in range(0, len(body), 1000)))  # no Content-Length
    assert chunked.status_code == 413 and "nothing was stored" in error(chunked)["message"]
    assert count_rows(store) == before


def test_only_editors_upload(world, store):
    app, _editor, viewer = world
    before = count_rows(store)
    assert upload(TestClient(app), NEWS.encode(), filename="n.txt").status_code == 401
    refused = upload(viewer, NEWS.encode(), filename="n.txt")
    assert refused.status_code == 403 and error(refused)["code"] == "forbidden"
    assert count_rows(store) == before


def test_path_in_the_file_name_stays_a_name(world, store):
    _app, editor, _viewer = world
    done = upload(editor, NEWS.encode(), filename="../../etc/passwd.txt")
    assert done.status_code == 201
    assert done.json()["filename"] == "passwd.txt" and done.json()["title"] == "passwd"


# -- targets ----------------------------------------------------------------------------------------


def test_target_get_and_patch_with_if_match(world, store, read):
    _app, editor, _viewer = world
    with read() as ctx:
        target_id = ctx.session.scalar(select(Target.id))
    url = f"/api/v1/targets/{target_id}"
    first = editor.get(url)
    assert first.status_code == 200
    target = first.json()
    assert first.headers["etag"] == f'"{target["version"]}"'
    assert (target["programme"], target["indicator"], target["kind"], target["multiple"]) == (
        "fresh-wind", "trade_turnover", "multiple", "2")

    missing = editor.patch(url, json={"note": "x"})
    assert missing.status_code == 428 and "If-Match" in error(missing)["message"]

    before = count_rows(store)
    invalid = editor.patch(url, json={"value": "4000000000"}, headers={"If-Match": first.headers["etag"]})
    assert invalid.status_code == 422
    assert "not both" in error(invalid)["message"] and error(invalid)["findings"][0]["field"] == "value"
    unknown = editor.patch(url, json={"programme": "other"}, headers={"If-Match": first.headers["etag"]})
    assert unknown.status_code == 422 and error(unknown)["findings"][0]["field"] == "programme"
    cleared = editor.patch(url, json={"period": None}, headers={"If-Match": first.headers["etag"]})
    assert cleared.status_code == 422 and error(cleared)["findings"][0]["field"] == "period"
    assert count_rows(store) == before

    done = editor.patch(url, json={"value": "4000000000", "multiple": None, "note": "absolute now"},
                        headers={"If-Match": first.headers["etag"]})
    assert done.status_code == 200, done.text
    changed = done.json()
    assert (changed["kind"], changed["value"], changed["multiple"], changed["note"]) == (
        "absolute", "4000000000", None, "absolute now")
    assert done.headers["etag"] == f'"{changed["version"]}"' != first.headers["etag"]
    assert editor.get(url).json() == changed

    stale = editor.patch(url, json={"note": "lost"}, headers={"If-Match": first.headers["etag"]})
    assert stale.status_code == 412
    assert error(stale)["code"] == "stale_version" and error(stale)["current"]["note"] == "absolute now"

    with read() as ctx:
        event = ctx.session.scalar(select(AuditEvent).where(AuditEvent.entity == "target",
                                                            AuditEvent.action == "update"))
    assert event.actor == "editor" and event.entity_id == str(target_id)
    assert event.before["kind"] == "multiple" and event.after["kind"] == "absolute"
    assert event.after["note"] == "absolute now"


def test_a_new_period_moves_a_default_deadline(world, read):
    _app, editor, _viewer = world
    with read() as ctx:
        target_id = ctx.session.scalar(select(Target.id))
    url = f"/api/v1/targets/{target_id}"
    first = editor.get(url)
    assert first.json()["deadline"] == "2019-12-31"
    done = editor.patch(url, json={"period": "2020"}, headers={"If-Match": first.headers["etag"]})
    assert done.status_code == 200, done.text
    assert done.json()["deadline"] == "2020-12-31"


def test_a_target_can_move_to_another_indicator_and_source(world, read):
    _app, editor, _viewer = world
    with read() as ctx:
        target_id = ctx.session.scalar(select(Target.id))
    url = f"/api/v1/targets/{target_id}"
    first = editor.get(url)
    source = upload(editor, NEWS.encode(), filename="n.txt", code="astana-2019")
    assert source.status_code == 201
    done = editor.patch(url, json={"indicator": "exports", "source": "astana-2019"},
                        headers={"If-Match": first.headers["etag"]})
    assert done.status_code == 200, done.text
    assert (done.json()["indicator"], done.json()["source"]) == ("exports", "astana-2019")
    assert editor.get(url).json() == done.json()


def test_target_create_answers_the_target_view(world):
    _app, editor, _viewer = world
    done = editor.post("/api/v1/targets", json={"programme": "fresh-wind", "indicator": "enterprises",
                                                "reporter": "KAZ", "partner": "KOR", "period": "2022",
                                                "unit": "enterprise", "value": "800"})
    assert done.status_code == 201, done.text
    assert done.headers["location"] == f"/api/v1/targets/{done.json()['id']}"
    assert editor.get(done.headers["location"]).json() == done.json()
    assert editor.get("/api/v1/targets/999999").status_code == 404


# -- participants -----------------------------------------------------------------------------------


def test_replace_participants(world, store, read):
    _app, editor, _viewer = world
    url = "/api/v1/projects/bakad/participants"
    tag = editor.get("/api/v1/projects/bakad").headers["etag"]
    people = [{"name": "Korea Expressway Corporation", "role": "implementing", "country": "KOR"},
              {"name": "Ministry of Industry and Infrastructural Development", "role": "accountable",
               "country": "Kazakhstan"}]

    missing = editor.put(url, json=people)
    assert missing.status_code == 428

    before = count_rows(store)
    bad = editor.put(url, json=[{"name": "Someone", "role": "sponsor"}], headers={"If-Match": tag})
    assert bad.status_code == 422
    [finding] = error(bad)["findings"]
    assert finding["field"] == "participants[0].role" and finding["code"] == "unknown_role"
    assert "role 'sponsor' is not one of funding" in finding["message"]
    assert count_rows(store) == before

    done = editor.put(url, json=people, headers={"If-Match": tag})
    assert done.status_code == 200, done.text
    project = done.json()
    assert [(p["name"], p["role"], p["country"]) for p in project["participants"]] == [
        ("Korea Expressway Corporation", "implementing", "KOR"),
        ("Ministry of Industry and Infrastructural Development", "accountable", "KAZ")]
    assert done.headers["etag"] == f'"{project["version"]}"' != tag
    assert editor.get("/api/v1/projects/bakad").json()["participants"] == project["participants"]

    stale = editor.put(url, json=[], headers={"If-Match": tag})
    assert stale.status_code == 412
    assert len(error(stale)["current"]["participants"]) == 2

    emptied = editor.put(url, json=[], headers={"If-Match": done.headers["etag"]})
    assert emptied.status_code == 200 and emptied.json()["participants"] == []
    with read() as ctx:
        actors = set(ctx.session.scalars(select(AuditEvent.actor).where(AuditEvent.entity == "project",
                                                                       AuditEvent.entity_id == "bakad")))
    assert "editor" in actors


# -- the web form -----------------------------------------------------------------------------------


def test_the_form_is_for_editors(world, store):
    app, _editor, _viewer = world
    anonymous = TestClient(app)
    assert anonymous.get("/sources/new", headers={"accept": "text/html"}).status_code == 401
    assert anonymous.post("/sources/new", data={"csrf": "x"}, files={"file": ("n.txt", NEWS.encode())},
                          headers={"accept": "text/html"}).status_code == 401
    viewer = signed_in(app, "viewer")
    assert viewer.get("/sources/new").status_code == 403
    assert 'data-testid="source-new"' not in viewer.get("/sources").text
    assert 'data-testid="source-new"' not in anonymous.get("/sources").text
    editor = signed_in(app, "editor")
    assert 'data-testid="source-new"' in editor.get("/sources").text
    before = count_rows(store)
    forged = editor.post("/sources/new", data={"csrf": "forged", "title": "x"},
                         files={"file": ("n.txt", NEWS.encode(), "text/plain")})
    assert forged.status_code == 403
    missing = editor.post("/sources/new", data={"title": "x"}, files={"file": ("n.txt", NEWS.encode(), "text/plain")})
    assert missing.status_code == 403
    assert count_rows(store) == before


def test_upload_from_the_form(world, store):
    app, _editor, _viewer = world
    erin = signed_in(app, "editor")
    page = erin.get("/sources/new")
    assert page.status_code == 200 and 'id="source-form"' in page.text
    csrf = hidden(page.text, "csrf")
    done = erin.post("/sources/new", data={"csrf": csrf, "code": "form-news", "publisher": "Kazinform",
                                           "published": "2019-04-22", "language": "en", "kind": "media"},
                     files={"file": ("astana.txt", NEWS.encode(), "text/plain")}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/sources/form-news"
    shown = erin.get("/sources/form-news")
    assert shown.status_code == 200 and "astana" in shown.text and "Trade turnover between" in shown.text
    row = source_row(store, "form-news")
    assert (row.title, row.publisher, row.filename) == ("astana", "Kazinform", "astana.txt")

    before = count_rows(store)
    again = erin.post("/sources/new", data={"csrf": csrf}, files={"file": ("copy.txt", NEWS.encode(), "text/plain")})
    assert again.status_code == 200 and 'data-testid="source-exists"' in again.text
    assert 'href="/sources/form-news"' in again.text
    assert count_rows(store) == before


def test_form_findings_beside_their_fields(world, store, monkeypatch):
    app, _editor, _viewer = world
    erin = signed_in(app, "editor")
    csrf = hidden(erin.get("/sources/new").text, "csrf")
    before = count_rows(store)
    bad = erin.post("/sources/new", data={"csrf": csrf, "title": "Kept title", "language": "english",
                                          "published": "2019-13-45", "kind": "blog"},
                    files={"file": ("n.txt", NEWS.encode(), "text/plain")})
    assert bad.status_code == 422
    for field in ("language", "published", "kind"):
        assert f'data-testid="error-{field}"' in bad.text, field
    assert "language &#39;english&#39; is not an ISO 639-1 code" in bad.text
    assert 'value="Kept title"' in bad.text and 'value="english"' in bad.text  # what was typed is kept
    wrong = erin.post("/sources/new", data={"csrf": csrf}, files={"file": ("photo.png", b"\x89PNG\r\n", "image/png")})
    assert wrong.status_code == 415 and 'data-testid="error-file"' in wrong.text
    empty = erin.post("/sources/new", data={"csrf": csrf}, files={"file": ("n.txt", b"", "text/plain")})
    assert empty.status_code == 422 and 'data-testid="error-file"' in empty.text and "is empty" in empty.text
    taken = erin.post("/sources/new", data={"csrf": csrf, "code": "qazaqtv-40-projects"},
                      files={"file": ("n.txt", NEWS.encode(), "text/plain")})
    assert taken.status_code == 409 and 'data-testid="error-code"' in taken.text
    monkeypatch.setenv("COOPTRACK_MAX_UPLOAD_MB", "0.01")
    large = erin.post("/sources/new", data={"csrf": csrf}, files={"file": ("n.txt", NEWS.encode() * 100)})
    assert large.status_code == 413 and 'data-testid="error-file"' in large.text
    assert count_rows(store) == before


def test_the_form_in_russian(world):
    app, _editor, _viewer = world
    erin = signed_in(app, "editor")
    erin.cookies.set("cooptrack_lang", "ru")
    page = erin.get("/sources/new")
    assert page.status_code == 200 and '<html lang="ru">' in page.text
    assert "New source" not in page.text and "Upload" not in page.text
