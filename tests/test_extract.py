"""The Fresh Wind news text, in English and Russian, yields every figure of
/work/shared/FACTS-fresh-wind.md with the right links, subjects, statuses and periods."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from cooptrack.extract import Claim, Extraction, extract

PUBLISHED = date(2019, 9, 1)

EN = """Kazakhstan and Korea to implement 40 projects worth US$7 billion

ASTANA. Kazakhstan and the Republic of Korea will implement a package of 40 Kazakh-Korean industrial and \
innovative projects worth about US$7 billion, the Ambassador of the Republic of Korea to Kazakhstan, Kim Dae-sik, \
told reporters.

Of these, 19 projects worth US$2 billion have been implemented while six projects are currently being executed.

The Fresh Wind economic cooperation programme for 2019 until 2022 was signed in April 2019 during the state visit \
of President Moon Jae-in to Kazakhstan. It covers cooperation in 10 industries and the implementation of 58 projects \
in information and communication technologies, digitalisation, the Fourth Industrial Revolution, transport and \
logistics centres, infrastructure, oil and gas, mining, construction, tourism, health care and education.

Korean companies take part in the construction of the Big Almaty Ring Road (BAKAD), and a joint car assembly plant \
is to be opened in the future.

Korean investment in the Kazakh economy has reached about US$4 billion, the ambassador said, adding that Korea \
invests more actively in Kazakhstan than in other Central Asian countries.

Last year, trade turnover between the two countries amounted to US$2.5 billion. In the first half of this year, \
90 percent of last year's figure was reached, with trade turnover at US$2 billion, and it is expected to double by \
the end of the year.

Kazakhstan exports oil, uranium, copper and steel to Korea and imports electronics, equipment and cars. More than \
500 enterprises with Korean capital operate in Kazakhstan.
"""

RU = """Казахстан и Корея реализуют 40 проектов на 7 млрд долларов

АСТАНА. Казахстан и Республика Корея реализуют пакет из 40 казахстанско-корейских индустриально-инновационных \
проектов общей стоимостью около 7 млрд долларов США, сообщил журналистам Чрезвычайный и Полномочный Посол \
Республики Корея в Казахстане Ким Дэ Сик.

Из них 19 проектов на сумму 2 млрд долларов уже реализованы, а шесть проектов находятся в стадии реализации.

Программа экономического сотрудничества «Свежий ветер» на 2019-2022 годы была подписана в апреле 2019 года в ходе \
государственного визита Президента Республики Корея Мун Чжэ Ина в Казахстан. Она предусматривает сотрудничество \
в 10 отраслях и реализацию 58 проектов в сферах информационно-коммуникационных технологий, цифровизации, четвертой \
промышленной революции, транспорта и логистики, инфраструктуры, нефти и газа, горнодобывающей отрасли, \
строительства, туризма, здравоохранения и образования.

Корейские компании участвуют в строительстве Большой Алматинской кольцевой автодороги (БАКАД), а в будущем \
планируется открыть совместный завод по сборке автомобилей.

По словам посла, корейские инвестиции в экономику Казахстана достигли порядка 4 млрд долларов.

В прошлом году товарооборот между двумя странами составил 2,5 млрд долларов. В первом полугодии текущего года \
достигнуто 90% от прошлогоднего показателя: товарооборот составил 2 млрд долларов, и до конца года ожидается его \
удвоение.

Казахстан поставляет в Корею нефть, уран, медь и сталь, а импортирует электронику, оборудование и автомобили. \
В Казахстане работают более 500 предприятий с корейским капиталом.
"""


def _money(result: Extraction, amount: str) -> list[Claim]:
    return [c for c in result.claims if c.kind == "money" and c.amount == Decimal(amount)]


def _count(result: Extraction, count: int, unit: str) -> list[Claim]:
    return [c for c in result.claims if c.kind == "count" and c.count == count and c.unit == unit]


def _linked(a: Claim, b: Claim) -> bool:
    return b.id in a.links and a.id in b.links


@pytest.fixture(scope="module", params=["en", "ru"])
def fresh_wind(request: pytest.FixtureRequest) -> Extraction:
    return extract(EN if request.param == "en" else RU, published=PUBLISHED)


def test_language_and_ids(fresh_wind: Extraction) -> None:
    assert fresh_wind.language in ("en", "ru")
    assert [c.id for c in fresh_wind.claims] == list(range(len(fresh_wind.claims)))


def test_package_of_40_projects_about_7_billion(fresh_wind: Extraction) -> None:
    body = [c for c in _count(fresh_wind, 40, "project") if c.start > 80]
    money = [m for m in _money(fresh_wind, "7000000000") if m.approximate]
    assert len(body) == 1 and len(money) == 1
    assert money[0].currency == "USD"
    assert _linked(body[0], money[0])
    assert body[0].subject == "package"


def test_headline_40_projects_7_billion(fresh_wind: Extraction) -> None:
    title = [c for c in _count(fresh_wind, 40, "project") if c.start < 80]
    money = [m for m in _money(fresh_wind, "7000000000") if m.start < 80]
    assert len(title) == 1 and len(money) == 1 and not money[0].approximate
    assert _linked(title[0], money[0])


def test_19_implemented_worth_2_billion_and_6_in_execution(fresh_wind: Extraction) -> None:
    (nineteen,) = _count(fresh_wind, 19, "project")
    (six,) = _count(fresh_wind, 6, "project")
    two = [m for m in _money(fresh_wind, "2000000000") if m.start < nineteen.end + 60][0]
    assert nineteen.status == "implemented" and two.status == "implemented"
    assert _linked(nineteen, two)
    assert six.status == "in_execution"
    assert two.id not in six.links and nineteen.id not in six.links


def test_58_projects_and_10_industries(fresh_wind: Extraction) -> None:
    (projects,) = _count(fresh_wind, 58, "project")
    (industries,) = _count(fresh_wind, 10, "industry")
    assert _linked(projects, industries)


def test_programme_period_and_signing(fresh_wind: Extraction) -> None:
    periods = {c.period for c in fresh_wind.claims if c.kind == "period"}
    assert {"2019/2022", "2019-04"} <= periods


def test_investment_about_4_billion(fresh_wind: Extraction) -> None:
    (money,) = _money(fresh_wind, "4000000000")
    assert money.currency == "USD" and money.approximate and money.subject == "investment"


def test_trade_last_year_resolves_to_2018(fresh_wind: Extraction) -> None:
    (money,) = _money(fresh_wind, "2500000000")
    assert money.currency == "USD" and money.subject == "trade_turnover" and money.period == "2018"


def test_first_half_2_billion_is_2019_h1(fresh_wind: Extraction) -> None:
    h1 = [m for m in _money(fresh_wind, "2000000000") if m.period == "2019-H1"]
    assert len(h1) == 1 and h1[0].subject == "trade_turnover" and h1[0].currency == "USD"


def test_90_percent(fresh_wind: Extraction) -> None:
    (pct,) = [c for c in fresh_wind.claims if c.kind == "percent"]
    assert pct.value == 90 and pct.period == "2019-H1"


def test_double_by_the_end_of_the_year(fresh_wind: Extraction) -> None:
    (double,) = [c for c in fresh_wind.claims if c.kind == "multiple"]
    assert double.value == 2 and double.period == "2019" and double.deadline
    assert double.subject == "trade_turnover"


def test_more_than_500_enterprises(fresh_wind: Extraction) -> None:
    (c,) = _count(fresh_wind, 500, "enterprise")
    assert c.lower_bound


def test_parties(fresh_wind: Extraction) -> None:
    countries = {c.country for c in fresh_wind.claims if c.kind == "party"}
    assert {"KAZ", "KOR"} <= countries


def test_big_almaty_ring_road(fresh_wind: Extraction) -> None:
    projects = [c for c in fresh_wind.claims if c.kind == "project"]
    assert len(projects) == 1
    assert projects[0].name in ("Big Almaty Ring Road", "Большой Алматинской кольцевой автодороги")
    assert projects[0].text.endswith(("(BAKAD)", "(БАКАД)"))


def test_commodities(fresh_wind: Extraction) -> None:
    codes = {c.code for c in fresh_wind.claims if c.kind == "commodity"}
    assert {"2709", "2612", "7403", "72", "85", "84", "8703"} <= codes


def test_sectors(fresh_wind: Extraction) -> None:
    codes = {c.code for c in fresh_wind.claims if c.kind == "sector"}
    assert {"22040", "22010", "32182", "21010", "32262", "32210", "32310", "33210", "12110", "11110"} <= codes


def test_spans_are_exact(fresh_wind: Extraction) -> None:
    text = EN if fresh_wind.language == "en" else RU
    for c in fresh_wind.claims:
        assert text[c.start : c.end] == c.text


def test_as_dict_is_json(fresh_wind: Extraction) -> None:
    data = json.loads(json.dumps(fresh_wind.as_dict(), ensure_ascii=False))
    assert data["language"] == fresh_wind.language
    money = [c for c in data["claims"] if c["kind"] == "money"]
    assert {"amount", "currency", "approximate", "start", "end", "text", "links", "rule"} <= set(money[0])
    assert "2500000000" in {m["amount"] for m in money}
    assert all("count" not in m for m in money)  # unset fields are left out


def test_relative_periods_need_a_publication_date() -> None:
    result = extract(EN)
    (money,) = _money(result, "2500000000")
    assert money.period is None
    assert any(c.kind == "period" and c.period is None for c in result.claims)
