"""Money, counts, percentages and multiples: each number is read with what stands around it.

Left of a number: an approximation word ("about", "more than"; "около", "свыше") and a
currency written first ("US$", "USD", "€"). Right of it: a scale word ("billion", "млрд"),
a second number making a range ("2-3", "from 2 to 3", "от 2 до 3"), then a currency
("dollars", "тенге"), a percent sign, or a count noun ("projects", "предприятий") reached
across at most four describing words ("40 industrial and innovative projects").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from cooptrack.decimals import WIDE
from cooptrack.extract.lexicon import (
    APPROX,
    GAP_STOP_EN,
    GAP_STOP_RU,
    PREFIX_CURRENCIES,
    SUFFIX_CURRENCIES,
    UNITS_EN,
    UNITS_EN_SINGULAR,
    UNITS_RU,
)
from cooptrack.extract.model import Claim
from cooptrack.extract.numbers import Number, scale_after
from cooptrack.extract.scan import trie_regex

_PREFIX = trie_regex(PREFIX_CURRENCIES, boundary=False)
_SYMBOLS = frozenset(ch for key in PREFIX_CURRENCIES for ch in key if not ch.isalnum() and ch not in " .")
_PREFIX_WORDS = {k: v for k, v in PREFIX_CURRENCIES.items() if k.isalpha()}
_PREFIX_SYMBOLS = sorted((k for k in PREFIX_CURRENCIES if not k.isalpha()), key=len, reverse=True)
_SPACE = " \u00a0\u202f\u2009"


def words_before(low: str, pos: int, width: int = 40) -> list[str]:
    """The last few words before ``pos`` (commas dropped)."""
    return low[max(0, pos - width) : pos].replace(",", " ").split()[-4:]


def _approx_of(words: list[str]) -> tuple[str | None, int]:
    """The approximation phrase ending ``words``: (phrase, number of words)."""
    for n in (3, 2, 1):
        if len(words) >= n:
            phrase = " ".join(words[-n:])
            if phrase in APPROX:
                return phrase, n
    return None, 0


def prefix_currency(low: str, pos: int) -> tuple[str | None, int]:
    """A currency written right before ``pos`` ("US$", "USD ", "€") and where it starts."""
    k = pos
    if k and low[k - 1] in _SPACE:
        k -= 1
        if k and low[k - 1] in _SPACE:
            k -= 1
    if k and low[k - 1] in _SYMBOLS:
        for sym in _PREFIX_SYMBOLS:
            a = k - len(sym)
            if low.startswith(sym, a) and (a == 0 or not low[a - 1].isalpha()):
                return sym, a
    elif k > 2 and low[k - 3 : k] in _PREFIX_WORDS and (k == 3 or not low[k - 4].isalnum()):
        return low[k - 3 : k], k - 3
    return None, pos


def approx_before(low: str, pos: int) -> tuple[str | None, int]:
    """An approximation phrase ("about", "more than", "свыше") right before ``pos`` and where it starts."""
    approx, n = _approx_of(words_before(low, pos))
    if approx is None:
        return None, pos
    a = pos
    for _ in range(n):
        while a > 0 and low[a - 1] in _SPACE + ",\n":
            a -= 1
        while a > 0 and not low[a - 1].isspace():
            a -= 1
    return approx, a


_RANGE = re.compile(
    r"[\s\u00a0]*(?P<sep>[-–—]|to|until|through|and|or|до|или|и|по)[\s\u00a0]*(?:(?P<cur>" + _PREFIX + r")[\s\u00a0]*)?"
)
_TIMES_CONTEXT = frozenset(
    [
        "в",
        "by",
        "increase",
        "increased",
        "increases",
        "grow",
        "grew",
        "grown",
        "rose",
        "risen",
        "rise",
        "expand",
        "expanded",
        "multiplied",
        "jump",
        "jumped",
        "surge",
        "surged",
        "up",
    ]
)
_ELIDED = frozenset(
    {"of which", "of them", "of these", "among them", "из них", "из которых", "в том числе", "including"}
)
_YEAR_PREP = frozenset(
    [
        "in",
        "since",
        "by",
        "until",
        "till",
        "of",
        "the",
        "from",
        "for",
        "to",
        "during",
        "after",
        "before",
        "в",
        "с",
        "до",
        "к",
        "за",
        "на",
        "по",
        "от",
        "после",
        "году",
        "года",
    ]
)
_BETWEEN = frozenset({"between", "from", "между", "от"})
_ELIDED_HINTS = ("which", "them", "these", "including", "них", "которых", "числе")
_OF_THEM = re.compile(r"[\s\u00a0]+(?:of|из)[\s\u00a0]+(?:them|these|those|which|них|которых)(?!\w)")
_OF_THE = {
    "en": re.compile(
        r"[\s\u00a0]+of[\s\u00a0]+(?:the|these|those|its|their)[\s\u00a0]+(?:[\w-]+[\s\u00a0]+)?"
        r"(?P<unit>" + trie_regex(UNITS_EN) + ")"
    ),
    "ru": re.compile(
        r"[\s\u00a0]+из[\s\u00a0]+(?:этих|указанных|данных)[\s\u00a0]+(?P<unit>" + trie_regex(UNITS_RU) + ")"
    ),
}
_VERBS_AFTER = frozenset(
    [
        "are",
        "were",
        "have",
        "had",
        "is",
        "was",
        "remain",
        "will",
        "находятся",
        "находится",
        "реализуются",
        "строятся",
        "уже",
        "еще",
        "работают",
        "действуют",
    ]
)
_VERB_AFTER = re.compile(
    r"[\s\u00a0]+(?:are|were|have|had|is|was|remain|will|находятся|находится|реализуются|строятся|"
    r"уже|еще|работают|действуют)(?!\w)"
)
_NEXT_WORD = re.compile(r"[\s\u00a0]*(\w*)")
_BARE_FOLLOW = frozenset(
    [
        "in",
        "last",
        "this",
        "by",
        "and",
        "for",
        "to",
        "at",
        "on",
        "from",
        "during",
        "over",
        "with",
        "of",
        "as",
        "which",
        "that",
        "while",
        "year",
        "years",
        "in,",
        "a",
        "an",
        "the",
        "в",
        "за",
        "по",
        "и",
        "к",
        "на",
        "с",
        "из",
        "от",
        "а",
        "что",
        "который",
        "которая",
        "которые",
        "при",
        "год",
        "года",
        "году",
        "ожидается",
        "составил",
        "составила",
        "составит",
        "составило",
        "составили",
    ]
)
MONEY_SUBJECTS = frozenset(
    {
        "trade_turnover",
        "exports",
        "imports",
        "investment",
        "loan",
        "grant",
        "aid",
        "revenue",
        "package",
        "cost",
        "financing",
        "budget",
    }
)


# "the three largest investors" ranks rather than counts.
_RANKING = (
    "largest",
    "biggest",
    "leading",
    "main",
    "major",
    "top",
    "крупнейших",
    "ведущих",
    "главных",
    "основных",
    "крупнейшие",
    "ведущие",
)


def _tail_regex(units: dict[str, str], stop: frozenset[str]) -> re.Pattern[str]:
    """What follows a number (and its scale word), in one match: a currency, a percent sign,
    "-fold"/"times", or a count noun across up to four describing words."""
    return re.compile(
        r"(?:[\s\u00a0-]*(?P<cur>" + trie_regex(SUFFIX_CURRENCIES) + ")"
        r"|[\s\u00a0]*(?P<pct>%|percent(?!\w)|per cent(?!\w)|pct(?!\w)|процент(?:а|ов|ам|ах)?(?!\w)|проц\.)"
        r"|(?P<fold>-fold(?!\w)|fold(?!\w)|[\s\u00a0]*(?:times|раза|раз)(?!\w))"
        r"|(?:[\s\u00a0]+(?!"
        + trie_regex(stop)
        + r")(?!\d)[\w’'\-]+){0,4}?[\s\u00a0]+(?P<unit>"
        + trie_regex(units)
        + "))"
    )


_EN_UNITS = {**UNITS_EN, **UNITS_EN_SINGULAR}
_TAILS = {"en": _tail_regex(_EN_UNITS, GAP_STOP_EN), "ru": _tail_regex(UNITS_RU, GAP_STOP_RU)}
_UNIT_TABLES = {"en": _EN_UNITS, "ru": UNITS_RU}


@dataclass(slots=True)
class Part:
    number: Number
    scale: Decimal | None
    end: int  # end of the number and its scale word


def _whole(value: Decimal) -> Decimal:
    value = value.normalize(WIDE)  # exact however long the number written in the text
    if value == value.to_integral_value(context=WIDE):
        return value.quantize(Decimal(1), context=WIDE)
    return value


def _part(low: str, n: Number, attached: bool) -> Part:
    found = scale_after(low, n.end, attached and not n.word)
    if found is None:
        return Part(n, None, n.end)
    return Part(n, found[0], found[1])


class Figures:
    """Reads the numbers of one text in order; claims are appended to ``claims``."""

    def __init__(
        self, text: str, low: str, lang: str, numbers: list[Number], sentence_of: Callable[[int], int] = lambda pos: 0
    ) -> None:
        self.text, self.low, self.lang, self.numbers = text, low, lang, numbers
        self.sentence_of = sentence_of
        self.tail = _TAILS["ru" if lang == "ru" else "en"]
        self.claims: list[Claim] = []
        self.bare: list[Claim] = []  # scaled numbers without a currency, kept if the clause is about money

    def _claim(self, kind: str, start: int, end: int, rule: str, **fields: object) -> Claim:
        c = Claim.new(kind, start, end, self.text[start:end], rule, **fields)
        self.claims.append(c)
        return c

    def run(self) -> list[Claim]:
        nums = self.numbers
        i = 0
        while i < len(nums):
            n = nums[i]
            if n.used:
                i += 1
                continue
            i = self._read(i)
        return self.claims

    def _read(self, i: int) -> int:
        low, nums = self.low, self.numbers
        n = nums[i]
        cur_pre, cur_start = prefix_currency(low, n.start)
        first = _part(low, n, cur_pre is not None)
        parts = [first]
        cur_mid = None
        nxt = i + 1
        if nxt < len(nums) and not nums[nxt].used and nums[nxt].start - first.end <= 12:
            m = _RANGE.fullmatch(low, first.end, nums[nxt].start)
            if m is not None and self._range_ok(m.group("sep"), n, first):
                second = _part(low, nums[nxt], (cur_pre or m.group("cur")) is not None)
                word_sep = m.group("sep")[0].isalpha()
                low_value = n.value * (first.scale or second.scale or 1)
                high_value = nums[nxt].value * (second.scale or 1)
                if (
                    not (word_sep and first.scale is not None and second.scale is None and m.group("cur") is None)
                    and low_value < high_value
                    and not (word_sep and n.year_like)
                ):
                    parts.append(second)
                    cur_mid = m.group("cur")
        end = parts[-1].end
        tail = self.tail.match(low, end)
        if tail is not None and tail.group("cur") is not None:
            code = SUFFIX_CURRENCIES[" ".join(tail.group("cur").split())]
            self._money(parts, cur_start, tail.end(), code, "money.range" if len(parts) > 1 else "money.suffix")
            return i + len(parts)
        if cur_pre or cur_mid:
            code = PREFIX_CURRENCIES[" ".join((cur_pre or cur_mid or "").split())]
            self._money(parts, cur_start, end, code, "money.range" if len(parts) > 1 else "money.prefix")
            return i + len(parts)
        if tail is not None and tail.group("pct") is not None:
            approx, start = approx_before(low, n.start)
            for p in parts:
                p.number.used = True
                self._claim(
                    "percent",
                    start,
                    tail.end(),
                    "percent.range" if len(parts) > 1 else "percent",
                    value=_whole(p.number.value * (p.scale or 1)),
                    approximate=approx is not None,
                )
            return i + len(parts)
        if tail is not None and tail.group("fold") is not None:
            fold = tail.group("fold")
            if len(parts) == 1 and (
                fold.lstrip()[0] in "-f" or (words_before(low, n.start, 16)[-1:] or [""])[0] in _TIMES_CONTEXT
            ):
                n.used = True
                self._claim("multiple", n.start, tail.end(), "multiple.number", value=_whole(n.value))
                return i + 1
            tail = None
        if tail is not None and tail.group("unit") is not None and self._count(parts, tail):
            return i + len(parts)
        if len(parts) == 2:  # not a range of anything we know: read the first number alone
            parts = parts[:1]
            single = self.tail.match(low, first.end)
            if single is not None and single.group("unit") is not None and self._count(parts, single):
                return i + 1
        if not n.year_like and n.value > 1 and not first.scale and self._elided(n):
            return i + 1
        last = parts[-1]
        if last.scale is not None and last.end > last.number.end and not n.word and self._maybe_bare(parts, n.start):
            return i + len(parts)
        return i + 1

    def _range_ok(self, sep: str, n: Number, first: Part) -> bool:
        if sep in ("and", "и"):
            before = words_before(self.low, n.start, 16)
            return bool(before) and (before[-1] in _BETWEEN or before[-1][:-1] in _BETWEEN)
        return sep != "по"  # "с 2019 по 2022" is a period, never an amount

    def _money(self, parts: list[Part], start: int, end: int, code: str, rule: str) -> None:
        approx, a = approx_before(self.low, start)
        approximate, lower = APPROX[approx] if approx else (False, False)
        last_scale = parts[-1].scale
        for k, p in enumerate(parts):
            p.number.used = True
            scale = p.scale if p.scale is not None else (last_scale if k < len(parts) - 1 else None)
            amount = _whole(p.number.value * (scale or 1))
            self._claim("money", a, end, rule, amount=amount, currency=code, approximate=approximate, lower_bound=lower)

    def _count(self, parts: list[Part], tail: re.Match[str]) -> bool:
        low = self.low
        n = parts[0].number
        last = parts[-1]
        value = last.number.value * (last.scale or 1)
        unit_text = " ".join(tail.group("unit").split())
        if self.lang != "ru" and value != 1 and unit_text not in UNITS_EN:
            return False  # "the 2019 agreement": a singular noun after a number other than one
        if any(w in _RANKING for w in low[last.end : tail.start("unit")].split()):
            return False
        if n.year_like and len(parts) == 1 and (words_before(low, n.start, 12)[-1:] or [""])[0] in _YEAR_PREP:
            return False
        values = []
        for k, p in enumerate(parts):
            scale = p.scale if p.scale is not None else (last.scale if k < len(parts) - 1 else None)
            v = p.number.value * (scale or 1)
            if v != v.to_integral_value() or v < 0:
                return False
            values.append(int(v))
        unit = _UNIT_TABLES["ru" if self.lang == "ru" else "en"][unit_text]
        self._counts(parts, values, unit, tail.end(), "count.range" if len(parts) > 1 else "count")
        return True

    def _counts(self, parts: list[Part], values: list[int], unit: str, end: int, rule: str) -> None:
        approx, start = approx_before(self.low, parts[0].number.start)
        approximate, lower = APPROX[approx] if approx else (False, False)
        for p, v in zip(parts, values, strict=True):
            p.number.used = True
            self._claim("count", start, end, rule, count=v, unit=unit, approximate=approximate, lower_bound=lower)

    def _elided(self, n: Number) -> bool:
        """A count whose noun is left out ("of which 19 ...", "19 of them", "12 of the projects",
        "... and 10 are under construction"): the unit comes from the count it refers to."""
        if not n.is_integer:
            return False
        found = self._elided_unit(n)
        if found is None:
            return False
        unit, end = found
        self._counts([Part(n, None, n.end)], [int(n.value)], unit, end, "count.elided")
        return True

    def _elided_unit(self, n: Number) -> tuple[str, int] | None:
        """The unit of a count whose noun is left out: "of which 19 ...", "19 of them", "12 of the
        projects", "... and 10 are under construction" (the noun of the count before it)."""
        low = self.low
        if n.value <= 1:
            return None  # "one of them" is not a count
        after = low[n.end : n.end + 16].split(None, 2)
        if not after:
            return None
        if (
            after[0] not in ("of", "из")
            and after[0] not in _VERBS_AFTER
            and not any(w in low[max(0, n.start - 30) : n.start] for w in _ELIDED_HINTS)
        ):
            return None
        tables = UNITS_RU if self.lang == "ru" else {**UNITS_EN, **UNITS_EN_SINGULAR}
        m = _OF_THE["ru" if self.lang == "ru" else "en"].match(low, n.end)
        if m is not None:
            return tables[" ".join(m.group("unit").split())], m.end()
        of_them = _OF_THEM.match(low, n.end)
        if of_them is not None or self._after_which(n.start):
            unit = self._antecedent_unit(n.start)
            return None if unit is None else (unit, of_them.end() if of_them else n.end)
        if _VERB_AFTER.match(low, n.end) and n.is_integer:
            unit = self._antecedent_unit(n.start, previous_sentence=False)
            return None if unit is None else (unit, n.end)
        return None

    def _after_which(self, pos: int) -> bool:
        window = self.low[max(0, pos - 30) : pos]
        if not any(w in window for w in _ELIDED_HINTS):
            return False
        words = words_before(self.low, pos)
        _, n = _approx_of(words)
        if n:
            words = words[:-n]
        return " ".join(words[-2:]) in _ELIDED or " ".join(words[-3:]) in _ELIDED or words[-1:] == ["including"]

    def _antecedent_unit(self, pos: int, previous_sentence: bool = True) -> str | None:
        """The unit of the first count in this sentence (usually its subject: "40 projects, of
        which 19 ..."), else of the first count of the sentence before. Jobs are left out: text
        rarely counts "of them" among jobs."""
        here = self.sentence_of(pos)
        counts = [c for c in self.claims if c.kind == "count" and c.end <= pos and c.unit != "job"]
        for sentence in (here, here - 1) if previous_sentence else (here,):
            for c in counts:
                if self.sentence_of(c.start) == sentence:
                    return c.unit
        return None

    def _maybe_bare(self, parts: list[Part], pos: int) -> bool:
        """A scaled number without a currency ("2.5 billion"): kept aside; the pipeline keeps it
        as money if its clause is about money or its sentence names a currency."""
        end = parts[-1].end
        nxt = _NEXT_WORD.match(self.low, end)
        word = nxt.group(1) if nxt else ""
        if word and word not in _BARE_FOLLOW:
            return False
        approx, start = approx_before(self.low, pos)
        approximate, lower = APPROX[approx] if approx else (False, False)
        last_scale = parts[-1].scale
        rule = "money.bare" if len(parts) == 1 else "money.bare.range"
        for k, p in enumerate(parts):
            scale = p.scale if p.scale is not None else (last_scale if k < len(parts) - 1 else None)
            claim = Claim.new(
                "money",
                start,
                end,
                self.text[start:end],
                rule,
                amount=_whole(p.number.value * (scale or 1)),
                approximate=approximate,
                lower_bound=lower,
            )
            self.bare.append(claim)
            p.number.used = True
        return True
