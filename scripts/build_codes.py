"""Build the compact reference code tables shipped in ``src/cooptrack/codes/data/``.

Reads the third-party source files under ``<repo>/../shared/data`` (see ``SOURCES.md`` there)
and writes small, sorted UTF-8 CSV tables with LF line endings. The output is deterministic:
running the script twice on the same sources gives byte-identical files.

Tables and where they come from:

- ``dac5.csv`` (``code,name,category,group,withdrawn``): DAC 5-digit sectors from
  ``iati/codelists/non-embedded/Sector.xml``. ``group`` (DAC sector group such as ``110``) comes
  from ``dac/sectors_groups.csv``; a sector not listed there takes the group of its 3-digit
  category, and is empty when the category is not listed either.
- ``dac3.csv`` (``code,name,withdrawn``): DAC 3-digit sector categories from
  ``iati/codelists/non-embedded/SectorCategory.xml``.
- ``dac_groups.csv`` (``code,name``): distinct DAC sector groups from ``dac/sectors_groups.csv``.
- ``hs2022.csv`` (``code,description,level,parent,section``): HS 2022 nomenclature from
  ``hs/harmonized-system.csv``. The aggregate ``TOTAL`` row is left out; ``parent`` is empty for
  the 2-digit chapters (``TOTAL`` in the source).
- ``hs_sections.csv`` (``section,name``): HS sections I to XXI from ``hs/sections.csv``.
- ``currencies.csv`` (``code,name,withdrawn``): ISO 4217 currencies from
  ``iati/codelists/non-embedded/Currency.xml``.
- ``m49.csv`` (``code,alpha3,name``): the UN Comtrade country and area codes (M49-style numbers,
  written with three digits) and their ISO 3166 alpha-3 codes, from
  ``comtrade/legacy-bulk-csv/country_data.csv``. ``alpha3`` is empty for areas that are not a
  country ("Areas, nes", "Bunkers", "EU-27", "World"...). See ``build_m49`` for the few rows
  corrected or added and why.

Names are the English texts (the ``<narrative>`` without ``xml:lang``); ``withdrawn`` is ``1`` for
``status="withdrawn"`` codelist items and ``0`` otherwise.

Origins and licences (as stated in ``SOURCES.md``):

- IATI codelists (Sector, SectorCategory, Currency): IATI/IATI-Codelists-NonEmbedded, licence
  CC BY 4.0, attribution "IATI Standard (http://iatistandard.org/)".
- HS 2022 (harmonized-system.csv, sections.csv): datasets/harmonized-system, from the UN Comtrade
  classification API, licence ODC-PDDL-1.0.
- DAC sector groups (sectors_groups.csv): codeforIATI/dac-sector-groups, licence MIT
  (data scraped from OECD.Stat CRS1).
- Comtrade country codes (country_data.csv): gianni77/comtrade-imports-and-exports-data-vis, a
  copy of the comtrade.un.org country list of about 2012 (UN Comtrade terms of use).

Usage::

    python scripts/build_codes.py [--shared DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "src" / "cooptrack" / "codes" / "data"

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
CODELISTS = Path("iati") / "codelists" / "non-embedded"
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

Row = tuple[str, ...]


class SourceError(Exception):
    """A source file does not look as expected."""


def roman_value(numeral: str) -> int:
    """Integer value of a Roman numeral such as ``XVII`` (used to order HS sections)."""
    total = 0
    for i, ch in enumerate(numeral):
        value = ROMAN[ch]
        nxt = ROMAN[numeral[i + 1]] if i + 1 < len(numeral) else 0
        total += -value if value < nxt else value
    return total


def read_csv(path: Path) -> list[dict[str, str]]:
    # utf-8-sig drops the BOM that starts hs/sections.csv (and is harmless elsewhere).
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def codelist_items(path: Path) -> list[tuple[str, str, bool, ET.Element]]:
    """(code, English name, withdrawn, element) for every item of an IATI codelist file."""
    items = ET.parse(path).getroot().find("codelist-items")
    if items is None:
        raise SourceError(f"{path}: no <codelist-items>")
    out = []
    for item in items.iterfind("codelist-item"):
        code = (item.findtext("code") or "").strip()
        names = [
            (n.text or "").strip()
            for n in item.iterfind("name/narrative")
            if n.get(XML_LANG) is None
        ]
        if not code or len(names) != 1 or not names[0]:
            raise SourceError(f"{path}: item {code!r} has no single English name")
        out.append((code, names[0], item.get("status") == "withdrawn", item))
    return out


def unique_sorted(rows: Iterable[Row], what: str) -> list[Row]:
    result = sorted(rows)
    for prev, cur in zip(result, result[1:], strict=False):
        if prev[0] == cur[0]:
            raise SourceError(f"{what}: duplicate code {cur[0]!r}")
    return result


def flag(value: bool) -> str:
    return "1" if value else "0"


def build_dac(shared: Path) -> dict[str, tuple[Row, list[Row]]]:
    groups_src = read_csv(shared / "dac" / "sectors_groups.csv")
    group_of = {r["code"].strip(): r["group_code"].strip() for r in groups_src}
    # Sectors newer than the groups list: every 3-digit category sits in exactly one group,
    # so a sector missing from the list takes its category's group.
    group_of_category = {r["category_code"].strip(): r["group_code"].strip() for r in groups_src}
    group_names = {(r["group_code"].strip(), r["group_name_en"].strip()) for r in groups_src}

    dac5: list[Row] = []
    for code, name, withdrawn, item in codelist_items(shared / CODELISTS / "Sector.xml"):
        category = (item.findtext("category") or "").strip()
        if len(code) != 5 or len(category) != 3:
            raise SourceError(f"Sector.xml: unexpected code/category {code!r}/{category!r}")
        group = group_of.get(code) or group_of_category.get(category, "")
        dac5.append((code, name, category, group, flag(withdrawn)))

    dac3 = [
        (code, name, flag(withdrawn))
        for code, name, withdrawn, _ in codelist_items(shared / CODELISTS / "SectorCategory.xml")
    ]
    return {
        "dac5.csv": (
            ("code", "name", "category", "group", "withdrawn"),
            unique_sorted(dac5, "dac5"),
        ),
        "dac3.csv": (("code", "name", "withdrawn"), unique_sorted(dac3, "dac3")),
        "dac_groups.csv": (("code", "name"), unique_sorted(group_names, "dac_groups")),
    }


def build_hs(shared: Path) -> dict[str, tuple[Row, list[Row]]]:
    hs: list[Row] = []
    for r in read_csv(shared / "hs" / "harmonized-system.csv"):
        code = r["hscode"].strip()
        if not code.isdigit():  # the single aggregate "TOTAL" row
            continue
        level = r["level"].strip()
        if level not in ("2", "4", "6") or len(code) != int(level):
            raise SourceError(f"harmonized-system.csv: unexpected level {level!r} for {code!r}")
        parent = r["parent"].strip()
        parent = "" if parent == "TOTAL" else parent
        hs.append((code, r["description"].strip(), level, parent, r["section"].strip()))
    sections: list[Row] = [
        (r["section"].strip(), r["name"].strip()) for r in read_csv(shared / "hs" / "sections.csv")
    ]
    sections.sort(key=lambda row: roman_value(row[0]))
    if len({s for s, _ in sections}) != len(sections):
        raise SourceError("sections.csv: duplicate section")
    return {
        "hs2022.csv": (
            ("code", "description", "level", "parent", "section"),
            unique_sorted(hs, "hs"),
        ),
        "hs_sections.csv": (("section", "name"), sections),
    }


def build_currencies(shared: Path) -> dict[str, tuple[Row, list[Row]]]:
    rows = [
        (code, name, flag(withdrawn))
        for code, name, withdrawn, _ in codelist_items(shared / CODELISTS / "Currency.xml")
    ]
    return {"currencies.csv": (("code", "name", "withdrawn"), unique_sorted(rows, "currencies"))}


# country_data.csv is a CSV whose names are not quoted although some hold commas ("China, Hong
# Kong SAR"). In every such name the comma is followed by a space, and no field separator is, so
# splitting on commas not followed by a space gives the nine fields back.
_M49_SPLIT = re.compile(r",(?! )")
_M49_FIELDS = 9
# Where the 2012 list's ISO3 column is not the ISO 3166 code of the entry: Comtrade's own codes
# (ARB), codes ISO has since changed (ROM -> ROU in 2002, TMP -> TLS in 2002), Antarctica given
# the Netherlands Antilles' ANT, and aggregates that are no country at all. Codes of former
# countries (SUN, YUG, CSK, DDR, ANT for the Netherlands Antilles...) are ISO 3166-3 codes and stay.
M49_ALPHA3_FIXES = {"10": "ATA", "533": "ABW", "642": "ROU", "626": "TLS", "97": "", "0": ""}
# Codes UN Comtrade uses today that the 2012 list lacks (UN M49 and ISO 3166-1).
M49_ADDED: tuple[Row, ...] = (
    ("380", "ITA", "Italy"),  # the 2012 list has Comtrade's older 381
    ("531", "CUW", "Curaçao"),
    ("534", "SXM", "Sint Maarten"),
    ("535", "BES", "Bonaire, Sint Eustatius and Saba"),
    ("652", "BLM", "Saint Barthélemy"),
    ("663", "MAF", "Saint Martin (French part)"),
    ("728", "SSD", "South Sudan"),
    ("729", "SDN", "Sudan"),  # Sudan after 2011; 736 is the former Sudan
)


def build_m49(shared: Path) -> dict[str, tuple[Row, list[Row]]]:
    path = shared / "comtrade" / "legacy-bulk-csv" / "country_data.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if not lines or not lines[0].startswith("Country Code,Country Name English,"):
        raise SourceError(f"{path.name}: unexpected header")
    rows: list[Row] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [f.strip() for f in _M49_SPLIT.split(line)]
        if len(fields) != _M49_FIELDS or not fields[0].isdigit():
            raise SourceError(f"{path.name} line {number}: cannot split into {_M49_FIELDS} fields: {line!r}")
        code, name, alpha3 = fields[0], fields[1], fields[6]
        alpha3 = M49_ALPHA3_FIXES.get(code, "" if alpha3 == "NULL" else alpha3)
        if alpha3 and not (len(alpha3) == 3 and alpha3.isalpha() and alpha3.isupper()):
            raise SourceError(f"{path.name} line {number}: ISO3 {alpha3!r} is not three capital letters")
        rows.append((code, alpha3, name))
    known = {r[0] for r in rows}
    rows.extend(r for r in M49_ADDED if r[0] not in known)
    padded = [(f"{int(code):03d}", alpha3, name) for code, alpha3, name in rows]
    return {"m49.csv": (("code", "alpha3", "name"), unique_sorted(padded, "m49"))}


def write_table(path: Path, header: Row, rows: Sequence[Row]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)

    shared: Path = args.shared
    if not shared.is_dir():
        print(f"error: shared data folder not found: {shared}", file=sys.stderr)
        return 2
    try:
        tables = {**build_dac(shared), **build_hs(shared), **build_currencies(shared), **build_m49(shared)}
    except (OSError, KeyError, ET.ParseError, SourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in tables.items():
        write_table(out / name, header, rows)
    counts = (f"{name.removesuffix('.csv')}={len(rows)}" for name, (_, rows) in tables.items())
    print(", ".join(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
