"""`cooptrack report`: HTML, Excel and PDF reports of a programme as of a date, in English and
Russian, carrying the dashboard's figures; empty programmes and bad input."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from lxml import html as lxml_html
from pypdf import PdfReader

from cooptrack.reports import svg
from cooptrack.reports.labels import Labels
from cooptrack.reports.xlsx import SHEETS
from cooptrack.services.dashboard import programme_dashboard
from cooptrack.services.projects import ProjectSpec, register_project

LABELS_EN = Labels("en")


@pytest.fixture
def run(cli):
    def _run(*args: str) -> str:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    return _run


@pytest.fixture
def demo(cli_demo):
    """The Fresh Wind demo loaded by `cooptrack demo`."""


@pytest.fixture
def dashboard(read):
    def _dashboard(code: str = "fresh-wind", as_of: date | None = None) -> dict:
        with read() as ctx:
            return programme_dashboard(ctx, code, as_of)

    return _dashboard


def headline_counts(d: dict) -> dict[str, int]:
    return {r["key"]: r["count"] for r in d["headline"]["rows"]}


def html_headline(path: Path) -> dict[str, int]:
    doc = lxml_html.parse(str(path)).getroot()
    return {tr.get("data-row"): int(tr.xpath("./td[@data-count]")[0].get("data-count"))
            for tr in doc.xpath("//section[@id='headline']//tr[@data-row]")}


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def xlsx_rows(path: Path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


# -- each format carries the dashboard's figures ------------------------------------------------


def test_html_report_holds_the_dashboard_headline(run, demo, dashboard, tmp_path):
    out = tmp_path / "fresh-wind.html"
    assert "wrote the html report of fresh-wind" in run("report", "fresh-wind", "--format", "html", "-o", str(out))
    d = dashboard()
    assert html_headline(out) == headline_counts(d) == {"package": 2, "implemented": 0, "in_execution": 1,
                                                        "not_started": 1}
    doc = lxml_html.parse(str(out)).getroot()
    assert doc.xpath("string(//h1)").startswith("Fresh Wind economic cooperation programme")
    # the reported figure beside the register, cited to its source
    package = doc.xpath("//tr[@data-row='package']")[0]
    assert "40" in package.text_content() and "7,000,000,000 USD" in package.text_content()
    assert package.xpath(".//sup[@class='cite']/a/@href") == ["#src-1", "#src-1"]
    assert doc.xpath("//li[@id='src-1']//strong/text()") == [
        "Kazakhstan and Korea to implement 40 projects worth US$7 billion"]
    # by status: chart and table
    assert [tr.get("data-status") for tr in doc.xpath("//tr[@data-status]")] == [b["key"] for b in d["by_status"]]
    assert len(doc.xpath("//section[@id='portfolio']//*[local-name()='svg']")) == 2
    # the trade turnover series: two points, charted, each cited
    series = doc.xpath("//section[@id='series']")[0]
    assert len(series.xpath(".//*[local-name()='svg']")) == 1
    assert "2,500,000,000" in series.text_content()
    targets = doc.xpath("//section[@id='targets']")[0].text_content()
    assert "50.0" in targets and "4,000,000,000" in targets
    assert doc.xpath("string(//section[@id='trade']/p[@class='nodata'])") == "no data"


def test_html_report_is_self_contained(run, demo, tmp_path):
    out = tmp_path / "r.html"
    run("report", "fresh-wind", "-o", str(out))  # format from the extension
    text = out.read_text(encoding="utf-8")
    doc = lxml_html.fromstring(text)
    assert not doc.xpath("//script | //link | //iframe | //object | //embed | //img")
    assert not doc.xpath("//@src | //@srcset | //@*[starts-with(name(), 'on')]")
    styles = " ".join(doc.xpath("//style/text()"))
    assert "url(" not in styles and "@import" not in styles and "@font-face" not in styles
    assert not re.search(r"<script|https?://[^\"'<> ]*\.(js|css|woff2?|ttf|otf)\b", text, re.IGNORECASE)
    # links only within the page, except the sources' own addresses
    outside = [a for a in doc.xpath("//a/@href") if not a.startswith("#")]
    assert outside and all(a in doc.xpath("//section[@id='sources']//a/@href") for a in outside)


def test_xlsx_report(run, demo, dashboard, tmp_path):
    out = tmp_path / "fresh-wind.xlsx"
    run("report", "fresh-wind", "--format", "xlsx", "-o", str(out))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == list(SHEETS) == ["overview", "projects", "observations", "targets", "timeline",
                                               "sources"]
    d = dashboard()
    overview = xlsx_rows(out, "overview")
    assert overview[0][0] == "Fresh Wind economic cooperation programme"
    rows = {r[0]: r for r in overview}
    for key, count in headline_counts(d).items():
        assert rows[LABELS_EN(f"row_{key}")][1] == count
    assert rows["Package (all registered)"][3:6] == (40, 7000000000, "USD")  # reported, as numbers
    projects = xlsx_rows(out, "projects")
    assert [r[0] for r in projects[1:]] == ["bakad", "car-assembly-plant"]
    assert projects[1][3] == "in execution" and projects[1][11:14] == ("KAZ", "KOR", "21020")
    observations = xlsx_rows(out, "observations")
    turnover = [r for r in observations if r[0] == "trade_turnover"]
    assert [(r[4], r[5]) for r in turnover] == [("2018", 2500000000), ("2019-H1", 2000000000)]
    assert all(r[8] == "[1] qazaqtv-40-projects" for r in observations[1:])
    [target] = xlsx_rows(out, "targets")[1:]
    assert target[5] == datetime(2019, 12, 31)  # a date cell
    assert (target[8], target[12], target[14]) == (4000000000, 50, "on track")
    timeline = xlsx_rows(out, "timeline")
    assert {r[2] for r in timeline[1:]} == {"bakad", "car-assembly-plant"} and timeline[1][0] == datetime(2019, 1, 1)
    assert xlsx_rows(out, "sources")[1][:3] == (1, "qazaqtv-40-projects",
                                               "Kazakhstan and Korea to implement 40 projects worth US$7 billion")


def test_pdf_report(run, demo, dashboard, tmp_path):
    out = tmp_path / "fresh-wind.pdf"
    run("report", "fresh-wind", "--format", "pdf", "-o", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    assert "Fresh Wind economic cooperation programme" in text
    counts = headline_counts(dashboard())
    for key in ("implemented", "in_execution", "not_started"):
        assert f"{LABELS_EN(f'row_{key}')} {counts[key]} " in text
    assert "Sources cited" in text and "Qazaq TV" in text


# -- as of a date, languages --------------------------------------------------------------------


def test_as_of_gives_the_figures_known_then(run, demo, dashboard, tmp_path):
    now, then = tmp_path / "now.html", tmp_path / "then.html"
    run("report", "fresh-wind", "-o", str(now))
    run("report", "fresh-wind", "--as-of", "2019-01-01", "-o", str(then))
    assert html_headline(then) == headline_counts(dashboard(as_of=date(2019, 1, 1)))
    assert html_headline(then) != html_headline(now)
    doc = lxml_html.parse(str(then)).getroot()
    assert doc.xpath("string(//dd[@id='as-of'])") == "January 1, 2019"
    assert doc.xpath("string(//section[@id='series']/p[@class='nodata'])") == "no data"
    book = tmp_path / "then.xlsx"
    run("report", "fresh-wind", "--as-of", "2019-01-01", "-o", str(book))
    assert xlsx_rows(book, "observations")[1:] == [("no data",) + (None,) * 9]
    assert dict((r[0], r[1]) for r in xlsx_rows(book, "overview") if r[0])["As of"] == datetime(2019, 1, 1)


def test_russian_labels(run, demo, tmp_path):
    page, book, pdf = tmp_path / "r.html", tmp_path / "r.xlsx", tmp_path / "r.pdf"
    for out in (page, book, pdf):
        run("report", "fresh-wind", "--lang", "ru", "-o", str(out))
    doc = lxml_html.parse(str(page)).getroot()
    assert doc.get("lang") == "ru"
    assert [h.text_content() for h in doc.xpath("//h2")][:3] == ["Основные показатели", "Портфель проектов",
                                                                 "Целевые показатели"]
    assert "7\u00a0000\u00a0000\u00a0000 USD" in doc.xpath("//tr[@data-row='package']")[0].text_content()
    assert xlsx_rows(book, "projects")[0][:4] == ("Идентификатор", "Название", "Отрасль", "Статус")
    assert "Основные показатели" in pdf_text(pdf)


# -- an empty programme -------------------------------------------------------------------------


@pytest.mark.parametrize("lang, no_data", [("en", "no data"), ("ru", "нет данных")])
def test_empty_programme_renders_no_data(run, tmp_path, lang, no_data):
    run("programme", "add", "empty", "--name", "Empty <b>programme</b>", "--party", "KAZ", "--party", "UZB")
    page, book, pdf = tmp_path / "e.html", tmp_path / "e.xlsx", tmp_path / "e.pdf"
    for out in (page, book, pdf):
        run("report", "empty", "--lang", lang, "-o", str(out))
    doc = lxml_html.parse(str(page)).getroot()
    assert doc.xpath("string(//h1)") == "Empty <b>programme</b>"  # escaped, shown as typed
    empty = {s.get("id") for s in doc.xpath("//section[.//p[@class='nodata']]")}
    assert empty == {"headline", "portfolio", "targets", "series", "trade", "timeline", "projects", "rates",
                     "sources"}
    assert set(html_headline(page).values()) == {0}
    for sheet in ("projects", "observations", "targets", "timeline", "sources"):
        assert xlsx_rows(book, sheet)[1][0] == no_data, sheet
    assert no_data in pdf_text(pdf)


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, code, message", [
    (["nope", "-o", "{dir}/r.html"], 1, "programme 'nope' does not exist"),
    (["fresh-wind", "--as-of", "2019-13-45", "-o", "{dir}/r.html"], 1,
     "--as-of '2019-13-45' is not a date; write YYYY-MM-DD"),
    (["fresh-wind", "--format", "docx", "-o", "{dir}/r.html"], 2, "'docx' is not one of 'html', 'xlsx', 'pdf'"),
    (["fresh-wind", "-o", "{dir}/r.txt"], 2, "cannot tell the format from 'r.txt'"),
    (["fresh-wind", "--lang", "de", "-o", "{dir}/r.html"], 2, "'de' is not one of 'en', 'ru'"),
    (["fresh-wind", "-o", "{dir}/missing/r.html"], 1, "--output: folder '{dir}/missing' does not exist"),
    (["fresh-wind", "-o", "{dir}"], 1, "--output: '{dir}' is a folder"),
])
def test_bad_input(cli, demo, tmp_path, args, code, message):
    folder = tmp_path / "out"
    folder.mkdir()
    result = cli("report", *[a.format(dir=folder) for a in args])
    assert result.exit_code == code, result.stderr
    assert message.format(dir=folder) in " ".join(result.stderr.split()).replace("│ ", "")
    assert list(folder.iterdir()) == []  # nothing written


def test_a_failed_write_leaves_the_old_report_and_no_part_file(cli, demo, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "r.xlsx"
    out.write_bytes(b"the previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("cooptrack.reports.xlsx.write_xlsx", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cli("report", "fresh-wind", "-o", str(out))
    assert [p.name for p in folder.iterdir()] == ["r.xlsx"] and out.read_bytes() == b"the previous report"


def test_text_is_escaped_in_every_format(run, demo, write, tmp_path):
    with write() as ctx:
        register_project(ctx, ProjectSpec(code="formula", title="=HYPERLINK(\"http://x\",\"y\")",
                                          programme="fresh-wind", sectors={"21020": 100}))
        register_project(ctx, ProjectSpec(code="markup", title="<script>alert(1)</script> & co",
                                          programme="fresh-wind", sectors={"21020": 100}))
        register_project(ctx, ProjectSpec(code="minus", title="-1+2", programme="fresh-wind",
                                          sectors={"21020": 100}))
    book, page = tmp_path / "r.xlsx", tmp_path / "r.html"
    run("report", "fresh-wind", "-o", str(book))
    run("report", "fresh-wind", "-o", str(page))
    sheet = openpyxl.load_workbook(book)["projects"]
    titles = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert titles["formula"].value == "'=HYPERLINK(\"http://x\",\"y\")" and titles["formula"].data_type == "s"
    assert titles["minus"].value == "'-1+2"
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text


def test_project_values_and_rates(run, tmp_path):
    run("programme", "add", "uz-kr", "--name", "Uzbekistan-Korea", "--party", "UZB", "--party", "KOR",
        "--industry", "Infrastructure=21020")
    run("project", "add", "ring", "--title", "Ring road", "--programme", "uz-kr", "--value", "1200000000000",
        "--currency", "UZS", "--value-date", "2022-07-01", "--sector", "21020=100")
    run("rate", "add", "UZS", "2022", "11050", "--source", "Central Bank of Uzbekistan")
    run("observation", "add", "exports", "--reporter", "UZB", "--partner", "KOR", "--period", "2022",
        "--value", "1234567.89", "--unit", "USD", "--hs", "2709")
    book, page = tmp_path / "r.xlsx", tmp_path / "r.html"
    run("report", "uz-kr", "-o", str(book))
    run("report", "uz-kr", "-o", str(page))
    [project] = xlsx_rows(book, "projects")[1:]
    assert project[5:11] == (1200000000000, "UZS", datetime(2022, 7, 1), pytest.approx(108597285.07), 11050, "2022")
    [exports] = xlsx_rows(book, "observations")[1:]
    assert exports[3:6] == ("2709", "2022", pytest.approx(1234567.89))
    doc = lxml_html.parse(str(page)).getroot()
    assert "1,200,000,000,000 UZS" in doc.xpath("string(//section[@id='portfolio'])")
    assert "Central Bank of Uzbekistan" in doc.xpath("string(//section[@id='rates'])")
    trade = doc.xpath("//section[@id='trade']")[0]
    assert "1,234,567.89" in trade.text_content() and trade.xpath(".//*[local-name()='svg']")


# -- the pieces ---------------------------------------------------------------------------------


def test_svg_charts_escape_text_and_survive_zero():
    chart = svg.bar_chart([svg.Bar("<b>&\"x\"", 0, "0"), svg.Bar("b", Decimal(5), "5")], "t<i>")
    assert "<b>" not in chart and "&lt;b&gt;&amp;&quot;x&quot;" in chart and "<title>t&lt;i&gt;</title>" in chart
    assert lxml_html.fromstring(f"<div>{chart}</div>").xpath("//*[local-name()='rect']")
    assert svg.bar_chart([svg.Bar("a", 0, "0")], "all zero").count("<rect") == 1
    assert "<text" in svg.column_chart([svg.Bar("2019", 1, "1"), svg.Bar("2020", 0, "0")], "c")


def test_labels_format_for_the_locale():
    ru = Labels("ru")
    assert ru.money(Decimal("7000000000.5"), "USD") == "7\u00a0000\u00a0000\u00a0000,5 USD"
    assert LABELS_EN.money("2500000000", "USD") == "2,500,000,000 USD"
    assert ru.date("2019-12-31").replace("\u202f", " ") == "31 декабря 2019 г."
    assert LABELS_EN.date("2019-H1") == "2019-H1"
    assert ru.status("in_execution") == "реализуется" and ru("no_data") == "нет данных"
    assert LABELS_EN.percent("49.6") == "49.6\u00a0%"
    assert LABELS_EN.figure("500", "enterprise", lower_bound=True) == "more than 500 enterprises"
