"""Numbers in English and Russian news: digits with thousands separators (1,250,000;
1 250 000; 1.250.000), decimal points and Russian decimal commas (1,2 млрд), number words
(six, twenty-five; шесть, шести, двадцать пять) and scale words (2.5 billion, $5m, 1,2 млрд)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from cooptrack.extract.lexicon import SCALES, SUFFIX_SCALES
from cooptrack.extract.scan import Hit, trie_regex

_SPACES = " \u00a0\u202f\u2009"
# The first digit comes first so the regex engine can skip quickly to digits.
DIGITS = re.compile(
    r"\d(?<![\w.,]\d)(?:\d{0,2}(?:(?:,\d{3})+|(?:[ \u00a0\u202f\u2009]\d{3})+|(?:\.\d{3}){2,})(?:[.,]\d+)?(?!\d)"
    r"|\d*(?:[.,]\d+)?)"
)
SCALE = re.compile(r"(?:[ \u00a0\u202f\u2009]*|-)(?:" + trie_regex(SCALES) + ")")
ATTACHED_SCALE = re.compile(trie_regex(SUFFIX_SCALES))
_JOIN_EN = re.compile(r"(?:\s*-\s*|\s+(?:and\s+)?)")
_JOIN_RU = re.compile(r"\s+")


@dataclass(slots=True)
class Number:
    start: int
    end: int
    value: Decimal
    word: bool  # written in words
    plain: bool  # digits only, no separator or decimal mark (a possible year)
    used: bool = False

    @property
    def is_integer(self) -> bool:
        return self.value == self.value.to_integral_value()

    @property
    def year_like(self) -> bool:
        return self.plain and self.end - self.start == 4 and 1950 <= self.value <= 2100


def parse_digits(raw: str, lang: str) -> Decimal | None:
    """The value of a digit string as written in ``lang`` ("en" or "ru")."""
    if raw.isdigit():
        return Decimal(raw)
    s = raw
    for ch in _SPACES:
        s = s.replace(ch, "")
    if "," in s and "." in s:
        # the last mark is the decimal one: 1,234.5 or 1.234,5
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        # 1,234,567 and English 1,200 group thousands; 1,2 and Russian 1,200 are decimals
        parts = s.split(",")
        grouped = len(parts) > 2 or (lang == "en" and len(parts[1]) == 3)
        s = s.replace(",", "") if grouped else s.replace(",", ".")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def find_numbers(text: str, hits: list[Hit], lang: str) -> list[Number]:
    """Every number in the text, digits and words, in order."""
    out: list[Number] = []
    for m in DIGITS.finditer(text):
        raw = m.group()
        value = parse_digits(raw, lang)
        if value is None:
            continue
        out.append(Number(m.start(), m.end(), value, False, raw.isdigit()))
    words = [h for h in hits if h.category == "num"]
    join = _JOIN_RU if lang == "ru" else _JOIN_EN
    i = 0
    while i < len(words):
        h = words[i]
        total = int(h.value)
        end = h.end
        j = i + 1
        while j < len(words):
            nxt = words[j]
            gap = join.fullmatch(text, end, nxt.start)
            if gap is None:
                break
            v = int(nxt.value)
            if total % 10 == 0 and total % 100 >= 20 and v < 10:
                total += v
            elif total < 10 and v == 100:
                total *= 100
            elif total % 100 == 0 and total >= 100 and v < 100:
                total += v
            else:
                break
            end = nxt.end
            j += 1
        out.append(Number(h.start, end, Decimal(total), True, False))
        i = j
    out.sort(key=lambda n: n.start)
    return out


def scale_after(low: str, pos: int, attached: bool) -> tuple[Decimal, int] | None:
    """A scale word right after ``pos``: ``(multiplier, end)``. ``attached`` also allows the
    letters written straight after digits ($5m, $2.5bn, $500k)."""
    m = SCALE.match(low, pos)
    if m is not None:
        word = m.group().strip(_SPACES + "-")
        return SCALES[word], m.end()
    if attached:
        m = ATTACHED_SCALE.match(low, pos)
        if m is not None:
            return SUFFIX_SCALES[m.group()], m.end()
    return None
