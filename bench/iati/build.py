"""Build a large IATI activity file from real ones: the activities of the valid real-publisher
files (D-Portal copies in ../shared/data), repeated with unique identifiers (``-r2``, ``-r3``...)
into one ``iati-activities`` document of at least the size asked for.

    .venv/bin/python bench/iati/build.py OUT.xml --mb 50
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lxml import etree

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
SOURCES = [SHARED / "iati/activities/real-publishers-2.03-via-dportal" / name
           for name in ("dportal_33-nl-ngos.xml", "dportal_84-ec-intpa.xml", "foodsecurity-dportal.xml")]


def activities() -> list[tuple[str, bytes]]:
    """Each activity of the source files as (identifier, XML with a {n} slot for the repeat)."""
    result = []
    for path in SOURCES:
        for _, el in etree.iterparse(str(path), events=("end",), tag="iati-activity"):
            ident = el.find("iati-identifier")
            identifier = (ident.text or "").strip()
            ident.text = "@@ID@@"
            etree.cleanup_namespaces(el)
            xml = etree.tostring(el, encoding="utf-8")
            result.append((identifier, xml))
            el.clear()
    return result


def build(out: Path, mb: float) -> tuple[int, int]:
    """Write the file; returns (bytes, activities)."""
    target = int(mb * 1024 * 1024)
    items = activities()
    written = count = repeat = 0
    with out.open("wb") as handle:
        head = b'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">\n'
        handle.write(head)
        written += len(head)
        while written < target:
            repeat += 1
            for identifier, xml in items:
                suffix = "" if repeat == 1 else f"-r{repeat}"
                chunk = xml.replace(b"@@ID@@", f"{identifier}{suffix}".encode(), 1) + b"\n"
                handle.write(chunk)
                written += len(chunk)
                count += 1
                if written >= target:
                    break
        handle.write(b"</iati-activities>\n")
        written += 19
    return written, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=50.0, help="size in MB (default: %(default)s)")
    args = parser.parse_args()
    size, count = build(args.out, args.mb)
    print(f"{args.out}: {size / 1024 / 1024:.1f} MB, {count:,} activities")


if __name__ == "__main__":
    main()
