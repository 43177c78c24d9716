"""Tests for cooptrack.codes and the tables built by scripts/build_codes.py."""

from __future__ import annotations

import csv
import dataclasses
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import pytest

from cooptrack import codes

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SCRIPT = REPO / "scripts" / "build_codes.py"
DATA = Path(str(files("cooptrack.codes").joinpath("data")))
TABLES = [
    "currencies.csv",
    "dac3.csv",
    "dac5.csv",
    "dac_groups.csv",
    "hs2022.csv",
    "hs_sections.csv",
    "m49.csv",
]

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"shared source data folder not present: {SHARED}"
)


# --- lookups of known codes -------------------------------------------------------------


def test_sector_known() -> None:
    s = codes.sector("21020")
    assert s == codes.Sector("21020", "Road transport", "210", "210", False)


def test_sector_strips_whitespace_and_unknown() -> None:
    assert codes.sector(" 21020\n") == codes.sector("21020")
    assert codes.sector("99999") is None
    assert codes.sector("") is None
    assert codes.sector("2102") is None


def test_sector_withdrawn_with_group_from_its_category() -> None:
    s = codes.sector("11321")
    assert s is not None
    assert s.name == "Lower secondary education"
    assert s.category == "113"
    assert s.withdrawn is True
    assert s.group == "110"  # not listed in the DAC groups CSV: its category 113 is, under 110


def test_sector_category() -> None:
    assert codes.sector_category("210") == codes.SectorCategory("210", "Transport & Storage", False)
    withdrawn = codes.sector_category("230")
    assert withdrawn is not None and withdrawn.withdrawn is True
    assert codes.sector_category("21020") is None
    assert codes.sector_category("999") is None


def test_sector_group() -> None:
    assert codes.sector_group("210") == ("210", "Transport & Storage")
    assert codes.sector_group(" 110 ") == ("110", "Education")
    assert codes.sector_group("111") is None  # a category, not a group
    assert codes.sector_group("21020") is None


def test_sector_tables_consistent() -> None:
    categories = {c for c in (codes.sector_category(s.category) for s in codes.sectors().values())}
    assert None not in categories
    for s in codes.sectors().values():
        assert s.code.isdigit() and len(s.code) == 5
        assert s.code.startswith(s.category)
        if s.group is not None:
            assert codes.sector_group(s.group) is not None


def test_commodity_heading() -> None:
    c = codes.commodity("2709")
    assert c is not None
    assert c.description == "Petroleum oils and oils obtained from bituminous minerals; crude"
    assert (c.level, c.parent, c.section) == (4, "27", "V")
    assert codes.hs_section("2709") == ("V", "Mineral products")


def test_commodity_levels() -> None:
    sub = codes.commodity("284410")
    assert sub is not None and (sub.level, sub.parent, sub.section) == (6, "2844", "VI")
    chapter = codes.commodity("72")
    assert chapter == codes.Commodity("72", "Iron and steel", 2, None, "XV")
    cars = codes.commodity("8703")
    assert cars is not None and cars.section == "XVII"
    section = codes.hs_section("8703")
    assert section is not None and section[0] == "XVII"
    assert section[1].startswith("Vehicles, aircraft, vessels")


def test_commodity_input_forms() -> None:
    assert codes.commodity(" 2709 ") == codes.commodity("2709")
    assert codes.commodity("2709.00") is None
    assert codes.commodity("2709 00") is None
    assert codes.commodity("27090") is None
    assert codes.commodity("TOTAL") is None
    assert codes.commodity("") is None


def test_hs_section_fallback_and_unknown() -> None:
    assert codes.hs_section("87032390") == codes.hs_section("8703")  # national 8-digit line
    assert codes.hs_section("7701") is None  # chapter 77 is reserved, not in HS 2022
    assert codes.hs_section("9999") is None  # Comtrade "not specified", section TOTAL
    assert codes.hs_section("ab") is None


def test_hs_hierarchy() -> None:
    table = codes.commodities()
    sections = codes.hs_sections()
    assert list(sections)[:5] == ["I", "II", "III", "IV", "V"]
    assert list(sections)[-1] == "XXI"
    for c in table.values():
        assert c.code.isdigit() and len(c.code) == c.level and c.level in (2, 4, 6)
        if c.section == "TOTAL":  # 9999 / 999999, Comtrade's "not specified"
            continue
        assert c.section in sections
        if c.level == 2:
            assert c.parent is None
        else:
            assert c.parent == c.code[:-2] and c.parent in table
            assert table[c.parent].section == c.section


def test_currency() -> None:
    for code in ("KZT", "KRW", "USD", "UZS"):
        cur = codes.currency(code)
        assert cur is not None and cur.code == code and not cur.withdrawn
    assert codes.currency("USD") == codes.Currency("USD", "US Dollar", False)
    assert codes.currency("KZT") == codes.Currency("KZT", "Tenge", False)
    assert codes.currency("USDD") is None
    assert codes.currency("usd") is None  # no upper-casing for the caller
    eek = codes.currency("EEK")
    assert eek is not None and eek.withdrawn


def test_m49_countries() -> None:
    assert codes.m49(398) == codes.M49Entry("398", "KAZ", "Kazakhstan")
    assert codes.m49("410") == codes.M49Entry("410", "KOR", "Rep. of Korea")
    assert codes.m49(" 860 ") == codes.M49Entry("860", "UZB", "Uzbekistan")
    assert codes.m49("004") == codes.m49(4) == codes.M49Entry("004", "AFG", "Afghanistan")
    assert codes.m49("699") == codes.M49Entry("699", "IND", "India")  # Comtrade's own number for India
    assert codes.m49(842) == codes.M49Entry("842", "USA", "USA")


def test_m49_names_with_commas_from_the_malformed_source() -> None:
    assert codes.m49(344) == codes.M49Entry("344", "HKG", "China, Hong Kong SAR")
    assert codes.m49(658) == codes.M49Entry("658", "KNA", "Saint Kitts, Nevis and Anguilla")
    assert codes.m49(637) == codes.M49Entry("637", None, "North America and Central America, nes")
    assert codes.m49(251) == codes.M49Entry("251", "FRA", "France")  # fullname "France, Monaco" left aside


def test_m49_areas_corrections_and_additions() -> None:
    assert codes.m49(0) == codes.M49Entry("000", None, "World")
    assert codes.m49(490) == codes.M49Entry("490", None, "Other Asia, nes")
    assert codes.m49(899) == codes.M49Entry("899", None, "Areas, nes")
    assert codes.m49(97) == codes.M49Entry("097", None, "EU-27")
    # the 2012 list's own or outdated codes, corrected to ISO 3166-1
    assert [codes.m49(c).alpha3 for c in (533, 642, 626, 10)] == ["ABW", "ROU", "TLS", "ATA"]  # type: ignore[union-attr]
    assert codes.m49(810) == codes.M49Entry("810", "SUN", "Fmr USSR")  # ISO 3166-3, kept
    # numbers UN Comtrade uses today that the 2012 list lacks (all in the Comtrade+ sample)
    assert [codes.m49(c).alpha3 for c in (380, 531, 652, 728, 729)] == [  # type: ignore[union-attr]
        "ITA", "CUW", "BLM", "SSD", "SDN"]
    assert codes.m49(531).name == "Curaçao"  # type: ignore[union-attr]


def test_m49_unknown_and_malformed() -> None:
    assert codes.m49(999) is None
    assert codes.m49("-4") is None
    assert codes.m49("4a") is None
    assert codes.m49("") is None
    assert codes.m49("٣٩٨") is None  # digits, but not ASCII ones
    table = codes.m49_codes()
    assert len(table) == 296
    for code, entry in table.items():
        assert code == entry.code and len(code) == 3 and code.isdigit()
        assert entry.alpha3 is None or (len(entry.alpha3) == 3 and entry.alpha3.isupper())


def test_returned_tables_are_copies_and_immutable() -> None:
    table = codes.sectors()
    table.pop("21020")
    assert codes.sector("21020") is not None
    assert "21020" in codes.sectors()
    cur = codes.currency("USD")
    assert cur is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cur.name = "x"  # type: ignore[misc]


def test_committed_csvs_are_plain_utf8_lf() -> None:
    assert sorted(p.name for p in DATA.glob("*.csv")) == TABLES
    for name in TABLES:
        raw = (DATA / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), name
        assert b"\r" not in raw, name
        assert raw.endswith(b"\n"), name
        raw.decode("utf-8")


# --- comparison with the shared source data ---------------------------------------------

XML_DIR = SHARED / "iati" / "codelists" / "non-embedded"


def _items(name: str) -> list[ET.Element]:
    return list(ET.parse(XML_DIR / name).getroot().iter("codelist-item"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@needs_shared
def test_sizes_match_sources() -> None:
    sector_items = _items("Sector.xml")
    assert len(codes.sectors()) == len(sector_items)
    withdrawn = sum(i.get("status") == "withdrawn" for i in sector_items)
    assert sum(s.withdrawn for s in codes.sectors().values()) == withdrawn
    assert len(codes.currencies()) == len(_items("Currency.xml"))
    categories = [
        codes.sector_category(i.findtext("code", "")) for i in _items("SectorCategory.xml")
    ]
    assert None not in categories

    groups = _csv(SHARED / "dac" / "sectors_groups.csv")
    listed_categories = {r["category_code"] for r in groups}
    expected = sum(1 for s in codes.sectors().values() if s.code in {r["code"] for r in groups}
                   or s.category in listed_categories)
    assert sum(s.group is not None for s in codes.sectors().values()) == expected
    assert expected > len(groups)  # the category fallback fills sectors newer than the list
    for row in groups:
        s = codes.sector(row["code"])
        assert s is not None and s.group == row["group_code"]
        assert codes.sector_group(row["group_code"]) == (row["group_code"], row["group_name_en"])
    assert len({r["group_code"] for r in groups}) == 27

    hs = _csv(SHARED / "hs" / "harmonized-system.csv")
    assert len(codes.commodities()) == sum(r["hscode"].isdigit() for r in hs) == len(hs) - 1
    assert len(codes.hs_sections()) == len(_csv(SHARED / "hs" / "sections.csv")) == 21

    # every line of the Comtrade country list is in the table (plus the 8 numbers added)
    lines = (SHARED / "comtrade" / "legacy-bulk-csv" / "country_data.csv").read_text(encoding="utf-8").splitlines()
    numbers = {int(line.split(",", 1)[0]) for line in lines[1:] if line.strip()}
    assert len(numbers) == len(lines) - 1 == 288
    assert {int(c) for c in codes.m49_codes()} == numbers | {380, 531, 534, 535, 652, 663, 728, 729}


@needs_shared
def test_english_names_match_sources() -> None:
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for item in _items("Currency.xml"):
        english = [n.text for n in item.iterfind("name/narrative") if n.get(lang) is None]
        cur = codes.currency(item.findtext("code", ""))
        assert cur is not None and [cur.name] == english


@needs_shared
def test_build_script_reproduces_committed_tables(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--shared", str(SHARED), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "dac5=" in result.stdout and "hs2022=" in result.stdout and "m49=296" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == TABLES
    for name in TABLES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_build_script_fails_cleanly_without_sources(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--shared",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "not found" in result.stderr
    assert list(tmp_path.iterdir()) == []
