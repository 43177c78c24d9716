"""Unit tests of the extraction rules: numbers, money, counts, periods, decoding, languages."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cooptrack import codes
from cooptrack.errors import InvalidInput
from cooptrack.extract import decode, detect_language, extract
from cooptrack.extract.numbers import parse_digits
from cooptrack.extract.vocab import COMMODITY_CODES, SECTOR_CODES
from cooptrack.services.documents import read_document


def money(text: str, **kw: object) -> list[tuple[str, str | None]]:
    result = extract(text, **kw)  # type: ignore[arg-type]
    return [(format(c.amount, "f"), c.currency) for c in result.claims if c.kind == "money" and c.amount is not None]


def counts(text: str, **kw: object) -> list[tuple[int | None, str | None]]:
    result = extract(text, **kw)  # type: ignore[arg-type]
    return [(c.count, c.unit) for c in result.claims if c.kind == "count"]


def periods(text: str, published: date | None = date(2019, 9, 1)) -> list[tuple[str | None, bool]]:
    result = extract(text, published=published)
    return [(c.period, c.deadline) for c in result.claims if c.kind == "period"]


# --- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "lang", "value"),
    [
        ("1,250,000", "en", "1250000"),
        ("1,200", "en", "1200"),
        ("1,2", "en", "1.2"),
        ("1,2", "ru", "1.2"),
        ("1 250 000", "ru", "1250000"),
        ("1\u00a0250", "ru", "1250"),
        ("1.250.000", "en", "1250000"),
        ("1.234,5", "ru", "1234.5"),
        ("1,234.5", "en", "1234.5"),
        ("2.5", "en", "2.5"),
        ("2019", "en", "2019"),
    ],
)
def test_parse_digits(raw: str, lang: str, value: str) -> None:
    assert parse_digits(raw, lang) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The company signed six contracts with local firms.", [(6, "contract")]),
        ("The sides signed twenty-five agreements.", [(25, "agreement")]),
        ("Стороны подписали шесть соглашений.", [(6, "agreement")]),
        ("Речь идет о шести проектах и двадцати пяти контрактах.", [(6, "project"), (25, "contract")]),
        ("Создано 1 500 рабочих мест и открыто 12 совместных предприятий.", [(1500, "job"), (12, "joint_venture")]),
        ("The plant will create 1,500 new jobs.", [(1500, "job")]),
        ("Korea and Uzbekistan set up 14 joint ventures and signed 3 MoUs.", [(14, "joint_venture"), (3, "mou")]),
        ("They signed 12 memoranda of understanding.", [(12, "mou")]),
        ("In total 2.5 thousand enterprises operate here.", [(2500, "enterprise")]),
    ],
)
def test_counts(text: str, expected: list[tuple[int, str]]) -> None:
    assert counts(text) == expected


def test_count_lower_bound_and_approximate() -> None:
    result = extract("More than 500 enterprises and about 40 companies operate in the zone.")
    first, second = [c for c in result.claims if c.kind == "count"]
    assert first.lower_bound and first.approximate
    assert second.approximate and not second.lower_bound


@pytest.mark.parametrize(
    "text",
    [
        "The 2019 agreement was ratified in 2020.",
        "See page 12 of the agreement, article 5.",
        "Call +7 (727) 244-50-00 for 24 hours a day.",
        "Trade grew by 15 percent in 2019, the ministry said on 15 July.",
        "The two countries have 1,200 km of border and 35 million people.",
    ],
)
def test_decoys_are_not_counts_or_money(text: str) -> None:
    assert counts(text) == [] and money(text) == []


def test_elided_count_takes_the_unit_of_its_antecedent() -> None:
    text = "The portfolio has 40 projects, of which 19 have been implemented."
    assert counts(text) == [(40, "project"), (19, "project")]
    assert counts("В портфеле 40 проектов, из них 19 уже реализованы.") == [(40, "project"), (19, "project")]


# --- money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worth US$2.5 billion", [("2500000000", "USD")]),
        ("a $7bn package", [("7000000000", "USD")]),
        ("a loan of $500k", [("500000", "USD")]),
        ("USD 2.5 bln was invested", [("2500000000", "USD")]),
        ("costs 1.2 trillion tenge", [("1200000000000", "KZT")]),
        ("KZT 150 mln was allocated", [("150000000", "KZT")]),
        ("a grant of 150 billion won", [("150000000000", "KRW")]),
        ("a KRW 380 billion contract", [("380000000000", "KRW")]),
        ("loans of 4.25 trillion soums", [("4250000000000", "UZS")]),
        ("worth 10 billion yuan", [("10000000000", "CNY")]),
        ("EUR 40 million and €12m", [("40000000", "EUR"), ("12000000", "EUR")]),
        ("7 billion US dollars", [("7000000000", "USD")]),
        ("a 650-million-dollar contract", [("650000000", "USD")]),
        ("1,2 млрд долларов", [("1200000000", "USD")]),
        ("1,5 млн долл. США", [("1500000", "USD")]),
        ("120 млрд тенге", [("120000000000", "KZT")]),
        ("150 млрд вон", [("150000000000", "KRW")]),
        ("1,8 трлн сумов", [("1800000000000", "UZS")]),
        ("3 млрд юаней", [("3000000000", "CNY")]),
        ("30 млн евро", [("30000000", "EUR")]),
        ("5 млрд рублей", [("5000000000", "RUB")]),
        ("500 тыс. долларов", [("500000", "USD")]),
        ("два миллиарда долларов", [("2000000000", "USD")]),
        ("150,000 tenge", [("150000", "KZT")]),
        ("500 000 тенге", [("500000", "KZT")]),
    ],
)
def test_money_forms(text: str, expected: list[tuple[str, str]]) -> None:
    lang = "ru" if any("а" <= ch <= "я" for ch in text) else "en"
    assert money(text, lang=lang) == expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Investment of $2-3 billion is planned.", "en", [("2000000000", "USD"), ("3000000000", "USD")]),
        ("between $1.5 billion and $1.8 billion", "en", [("1500000000", "USD"), ("1800000000", "USD")]),
        ("from EUR 18 billion to EUR 20 billion", "en", [("18000000000", "EUR"), ("20000000000", "EUR")]),
        ("Стоимость оценивается в 250–280 млн долларов.", "ru", [("250000000", "USD"), ("280000000", "USD")]),
        ("от 2 до 3 млрд долларов", "ru", [("2000000000", "USD"), ("3000000000", "USD")]),
    ],
)
def test_ranges_give_two_claims(text: str, lang: str, expected: list[tuple[str, str]]) -> None:
    assert money(text, lang=lang) == expected


def test_a_loan_to_companies_is_not_a_range() -> None:
    assert money("The bank lent $300 million to 15 companies.") == [("300000000", "USD")]
    assert counts("The bank lent $300 million to 15 companies.") == [(15, "company")]


@pytest.mark.parametrize(
    ("text", "approximate", "lower"),
    [
        ("about $4 billion", True, False),
        ("over $4 billion", True, True),
        ("nearly $4 billion", True, False),
        ("up to $4 billion", True, False),
        ("more than $4 billion", True, True),
        ("$4 billion", False, False),
        ("около 4 млрд долларов", True, False),
        ("более 4 млрд долларов", True, True),
        ("свыше 4 млрд долларов", True, True),
        ("порядка 4 млрд долларов", True, False),
        ("почти 4 млрд долларов", True, False),
        ("до 4 млрд долларов", True, False),
    ],
)
def test_approximate_words(text: str, approximate: bool, lower: bool) -> None:
    lang = "ru" if any("а" <= ch <= "я" for ch in text) else "en"
    (claim,) = [c for c in extract(text, lang=lang).claims if c.kind == "money"]
    assert (claim.approximate, claim.lower_bound) == (approximate, lower)
    assert claim.text.split()[0] == text.split()[0]  # the span starts at the approximation word


def test_bare_scaled_amount_takes_the_currency_of_its_sentence() -> None:
    text = "Trade grew from $2 billion in 2018 to 2.5 billion last year."
    assert money(text) == [("2000000000", "USD"), ("2500000000", "USD")]


def test_manat_follows_the_country() -> None:
    assert money("Azerbaijan will add 34 million manats.") == [("34000000", "AZN")]
    assert money("Turkmenistan will add 34 million manats.") == [("34000000", "TMT")]


# --- periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trade rose last year.", [("2018", False)]),
        ("Trade rose in the first half of this year.", [("2019-H1", False)]),
        ("Trade rose in the third quarter of 2018.", [("2018-Q3", False)]),
        ("It is expected to double by the end of the year.", [("2019", True)]),
        ("The programme runs from 2019 until 2022.", [("2019/2022", False)]),
        ("The goal is to reach it by 2028.", [("2028", True)]),
        ("It was signed in April 2019.", [("2019-04", False)]),
        ("It was signed on 15 July 2019.", [("2019-07-15", False)]),
        ("It was signed on July 15, 2019.", [("2019-07-15", False)]),
        ("Exports grew in January-June 2019.", [("2019-H1", False)]),
        ("Exports grew in the first nine months.", [("2019-01/2019-09", False)]),
        ("Since 2005 Korea has invested $12 billion.", [("2005/2019", False)]),
        ("В прошлом году товарооборот вырос.", [("2018", False)]),
        ("В первом полугодии текущего года товарооборот вырос.", [("2019-H1", False)]),
        ("До конца года ожидается рост.", [("2019", True)]),
        ("Программа на 2019-2022 годы.", [("2019/2022", False)]),
        ("К 2030 году товарооборот удвоится.", [("2030", True)]),
        ("Соглашение подписано 15 июля 2019 года.", [("2019-07-15", False)]),
        ("Соглашение подписано 15.07.2019.", [("2019-07-15", False)]),
        ("В январе-сентябре рост составил 5%.", [("2019-01/2019-09", False)]),
    ],
)
def test_periods(text: str, expected: list[tuple[str, bool]]) -> None:
    assert periods(text) == expected


def test_may_the_verb_is_not_a_month() -> None:
    assert periods("Exports may grow next year.") == [("2020", False)]


def test_figures_take_the_period_and_status_of_their_clause() -> None:
    result = extract("In 2018, 12 projects worth $1 billion were completed, while 5 projects are under construction.")
    twelve, five = [c for c in result.claims if c.kind == "count"]
    (usd,) = [c for c in result.claims if c.kind == "money"]
    assert (twelve.period, twelve.status, usd.status) == ("2018", "implemented", "implemented")
    assert five.status == "in_execution" and usd.id not in five.links


# --- parties, projects, codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kazakhstan and South Korea signed it.", ["KAZ", "KOR"]),
        ("The Korean side and the Kazakh side agreed.", ["KOR", "KAZ"]),
        ("Uzbekistan's exports to China grew.", ["UZB", "CHN"]),
        ("A Kazakh-Korean venture opened.", ["KAZ", "KOR"]),
        ("Товарооборот России и Китая вырос, сообщили в Республике Корея.", ["RUS", "CHN", "KOR"]),
        ("Открыто казахстанско-корейское предприятие.", ["KAZ", "KOR"]),
        ("May and Jordan met Mr Chad in US$ terms.", ["JOR", "TCD"]),
    ],
)
def test_parties(text: str, expected: list[str]) -> None:
    result = extract(text, lang="ru" if any("а" <= ch <= "я" for ch in text) else "en")
    assert [c.country for c in result.claims if c.kind == "party"] == expected


def test_named_projects_are_conservative() -> None:
    result = extract("The Ekibastuz Power Plant and the Almaty ring road. The Ministry of Energy met.")
    assert [c.name for c in result.claims if c.kind == "project"] == ["Ekibastuz Power Plant"]


def test_sector_and_commodity_codes_exist() -> None:
    for code in SECTOR_CODES:
        assert codes.sector(code) is not None, code
    for code in COMMODITY_CODES:
        assert codes.commodity(code) is not None, code


def test_commodities_only_in_trade_context() -> None:
    traded = extract("Kazakhstan exports oil and copper to Korea.")
    assert [c.code for c in traded.claims if c.kind == "commodity"] == ["2709", "7403"]
    other = extract("The oil company opened an office in Seoul.")
    assert [c for c in other.claims if c.kind == "commodity"] == []


# --- input -------------------------------------------------------------------------------

RUSSIAN = "Казахстан и Корея реализуют 40 проектов на сумму 7 млрд долларов, сообщил посол в Астане."


def test_decode_utf8_and_bom() -> None:
    assert decode(RUSSIAN.encode("utf-8")) == RUSSIAN
    assert decode(b"\xef\xbb\xbf" + RUSSIAN.encode("utf-8")) == RUSSIAN
    assert decode(RUSSIAN.encode("utf-16")) == RUSSIAN


@pytest.mark.parametrize("codec", ["cp1251", "koi8_r", "cp866"])
def test_decode_russian_8bit(codec: str) -> None:
    assert decode(RUSSIAN.encode(codec)) == RUSSIAN


def test_decode_western_8bit() -> None:
    text = "Société Générale and Müller signed a €5 million deal in Zürich."
    assert decode(text.encode("cp1252")) == text


@pytest.mark.parametrize(
    "data", [b"%PDF-1.7\n...", b"\x89PNG\r\n\x1a\n\x00\x00", bytes(range(256)) * 4, b"PK\x03\x04rest"]
)
def test_binary_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput, match="not text"):
        decode(data)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Kazakhstan and Korea will implement 40 projects worth US$7 billion, the ambassador said on Monday.", "en"),
        ("Казахстан и Корея реализуют 40 проектов на сумму 7 млрд долларов, сообщил посол.", "ru"),
        ("Қазақстан мен Корея 7 миллиард долларға 40 жобаны іске асырады, деп мәлімдеді елші.", None),
        (
            "Kasachstan und Korea werden 40 Projekte im Wert von 7 Milliarden Dollar umsetzen, sagte der Botschafter "
            "in der Hauptstadt.",
            None,
        ),
        ("카자흐스탄과 한국은 70억 달러 규모의 40개 프로젝트를 추진한다.", None),
    ],
)
def test_detect_language(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang


def test_unsupported_language_is_refused_unless_forced() -> None:
    text = "Kasachstan und Korea werden 40 Projekte im Wert von 7 Milliarden Dollar umsetzen, sagte der Botschafter."
    with pytest.raises(InvalidInput, match="not English or Russian; pass --lang en or --lang ru to force"):
        extract(text)
    assert extract(text, lang="en").language == "en"


def test_empty_and_bad_lang_are_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        extract("   \n ")
    with pytest.raises(InvalidInput, match="auto, en or ru"):
        extract("text", lang="de")


def test_html_scripts_are_ignored_and_offsets_point_into_the_html() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>News</title><script>var x = '$9 billion';</script>"
        "<style>p{}</style></head><body><p>Korea will invest <b>US$2&nbsp;billion</b> in "
        "<a href='#'>Kazakhstan</a>.</p><!-- $5 billion --></body></html>"
    )
    result = extract(html)
    claims = [c for c in result.claims if c.kind in ("money", "party")]
    assert [(c.kind, c.text) for c in claims] == [
        ("party", "Korea"),
        ("money", "US$2&nbsp;billion"),
        ("party", "Kazakhstan"),
    ]
    for c in result.claims:
        assert html[c.start : c.end] == c.text


def test_files(tmp_path: Path) -> None:
    good = tmp_path / "news.txt"
    good.write_bytes(RUSSIAN.encode("cp1251"))
    assert read_document(good).text == RUSSIAN
    assert extract(read_document(good).text).language == "ru"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match="empty"):
        read_document(empty)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(InvalidInput, match=r"above the 1 MB limit; raise it with --max-mb"):
        read_document(big, max_mb=1)


def test_large_text_within_the_limit_is_read_whole() -> None:
    paragraph = "Korea invested $2 billion in 12 projects in Kazakhstan last year.\n\n"
    result = extract(paragraph * 2000, published=date(2020, 1, 1))
    assert len([c for c in result.claims if c.kind == "money"]) == 2000


def test_command_line(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    path.write_text("Last year Korea invested US$2 billion in 12 projects in Kazakhstan.", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "cooptrack", "extract", str(path), "--published", "2019-09-01", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    import json

    data = json.loads(run.stdout)
    assert data["language"] == "en"
    (usd,) = [c for c in data["claims"] if c["kind"] == "money"]
    assert (usd["amount"], usd["currency"], usd["period"]) == ("2000000000", "USD", "2018")
    bad = subprocess.run(
        [sys.executable, "-m", "cooptrack", "extract", str(tmp_path / "missing.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "cannot read" in bad.stderr
