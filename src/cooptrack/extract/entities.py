"""Parties (countries), named projects, sectors, commodities and statuses.

Countries: capitalised words and word groups ("Kazakhstan", "Republic of Korea", "Korean",
"Kazakh-Korean"; "Казахстана", "Республики Корея") looked up through ``countrynames``, and
Russian adjectives ("казахстанско-корейских") from the lexicon. Only words that begin a
name ``countrynames`` knows are looked up, so common capitalised words cost nothing.

Named projects: capitalised names ending in a project noun ("Big Almaty Ring Road",
"Ekibastuz Power Plant"; "Большой Алматинской кольцевой автодороги"), with an acronym in
parentheses after them ("(BAKAD)"), whose later mentions are claims too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import countrynames

from cooptrack.extract.lexicon import forms
from cooptrack.extract.model import Claim
from cooptrack.extract.scan import Scan

_ACRONYM = re.compile(r"[ \u00a0]*\(([A-ZА-ЯЁ][A-ZА-ЯЁ0-9-]{1,11})\)")
_NAME_CHARS = re.compile(r"[a-zа-яё' .,()&-]+")
_SHORT_OK = {
    "us": "USA",
    "usa": "USA",
    "uk": "GBR",
    "uae": "ARE",
    "rok": "KOR",
    "prc": "CHN",
    "dprk": "PRK",
    "сша": "USA",
    "рф": "RUS",
    "кнр": "CHN",
    "оаэ": "ARE",
    "фрг": "DEU",
}
_DENY = frozenset(
    {
        "man",
        "island",
        "islands",
        "norfolk",
        "jersey",
        "washington",
        "european",
        "reunion",
        "europe",
        "asia",
        "africa",
        "the",
        "and",
        "can",
        "per",
        "are",
        "bar",
        "moon",
        "republic",
        "kingdom",
        "union",
        "state",
        "states",
        "republic of",
        "new",
        "south",
        "north",
        "east",
        "west",
        "central",
    }
)
_RU_ENDINGS = ("ами", "ями", "ом", "ем", "ой", "ей", "ию", "ии", "ия", "а", "я", "е", "у", "ю", "и", "ы")
_RU_ADJ_END = (
    "ая",
    "ой",
    "ую",
    "ый",
    "ого",
    "ому",
    "ом",
    "ий",
    "его",
    "ему",
    "ее",
    "ое",
    "ые",
    "ых",
    "ей",
    "ем",
    "им",
    "их",
    "ими",
    "ыми",
)

EN_PROJECT_NOUNS = frozenset(
    [
        "road",
        "highway",
        "expressway",
        "motorway",
        "railway",
        "railroad",
        "pipeline",
        "plant",
        "factory",
        "park",
        "airport",
        "port",
        "seaport",
        "station",
        "bridge",
        "terminal",
        "tunnel",
        "dam",
        "hub",
        "refinery",
        "mine",
        "zone",
        "centre",
        "center",
        "complex",
        "field",
        "corridor",
    ]
)
RU_PROJECT_NOUNS = frozenset(
    forms("завод", "", "а", "е", "у", "ом")
    + forms("автодорог", "а", "и", "е", "у", "ой")
    + forms("дорог", "а", "и", "е", "у", "ой")
    + forms("трасс", "а", "ы", "е", "у", "ой")
    + forms("магистрал", "ь", "и", "ью")
    + forms("парк", "", "а", "е", "у", "ом")
    + forms("терминал", "", "а", "е", "у", "ом")
    + forms("станци", "я", "и", "ю", "ей")
    + forms("электростанци", "я", "и", "ю", "ей")
    + forms("аэропорт", "", "а", "е", "у", "ом")
    + forms("порт", "", "а", "е", "у", "ом")
    + forms("мост", "", "а", "е", "у", "ом")
    + forms("центр", "", "а", "е", "у", "ом")
    + forms("комбинат", "", "а", "е", "у", "ом")
    + forms("трубопровод", "", "а", "е", "у", "ом")
    + forms("газопровод", "", "а", "е", "у", "ом")
    + forms("нефтепровод", "", "а", "е", "у", "ом")
    + forms("месторождени", "е", "я", "ю", "ем", "и")
    + forms("рудник", "", "а", "е", "у", "ом")
    + forms("зон", "а", "ы", "е", "у", "ой")
    + forms("комплекс", "", "а", "е", "у", "ом")
    + forms("хаб", "", "а", "е", "у", "ом")
    + ["гэс", "тэц", "тэс", "аэс", "грэс"]
)
# Short forms in Russian that countrynames resolves but does not list.
_EXTRA_NAMES = (
    "корея",
    "южная корея",
    "северная корея",
    "кыргызстан",
    "туркмения",
    "соединенные штаты",
    "соединенные штаты америки",
    "объединенные арабские эмираты",
    "белоруссия",
    "молдавия",
    "англия",
    "британия",
)
_LEADING_DROP = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "at",
        "on",
        "for",
        "by",
        "of",
        "from",
        "with",
        "and",
        "to",
        "this",
        "that",
        "its",
        "their",
        "our",
    ]
)
_CONNECTORS = frozenset({"of", "and", "the", "de"})


def _ru_variants(word: str) -> list[str]:
    """Case forms of a Russian noun: Корея -> Кореи, Корее, Корею, Кореей."""
    if word.endswith(("я", "а")):
        stem = word[:-1]
        soft = word.endswith("я")
        return [stem + e for e in (("и", "е", "ю", "ей") if soft else ("ы", "е", "у", "ой", "и"))]
    if word.endswith("й"):
        return [word[:-1] + e for e in ("я", "ю", "е", "ем")]
    if word[-1:].isalpha() and word[-1] not in "аеёиоуыэюяь":
        return [word + e for e in ("а", "у", "е", "ом")]
    return []


@lru_cache(maxsize=1)
def _names() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(every name countrynames knows in Latin or Cyrillic letters, the first words of those
    names with Russian case forms, the first words of names of several words)."""
    try:
        from countrynames.data import DATA
    except ImportError:  # pragma: no cover - a countrynames without its data module
        return frozenset(), frozenset(), frozenset()
    names: set[str] = set()
    for code, values in DATA.items():
        if code in ("FAIL", "ZZ", "UN") or len(code) > 3:
            continue
        for v in values:
            name = " ".join(v.lower().replace("ё", "е").split())
            if _NAME_CHARS.fullmatch(name):
                names.add(name)
    try:
        from babel import Locale

        for locale in ("en", "ru"):
            names.update(
                " ".join(v.lower().replace("ё", "е").split())
                for k, v in Locale.parse(locale).territories.items()
                if k.isalpha() and len(k) == 2
            )
    except Exception:  # pragma: no cover - Babel without CLDR data
        pass
    names.update(_EXTRA_NAMES)
    firsts: set[str] = set(_SHORT_OK)
    multi: set[str] = set()
    for name in names:
        words = name.replace("-", " ").replace(",", " ").split()
        if not words:
            continue
        first = words[0]
        if len(first) <= 3 or first in _DENY and len(words) == 1:
            continue
        variants = [first] + (_ru_variants(first) if "а" <= first[-1] <= "я" else [])
        firsts.update(variants)
        if len(words) > 1:
            multi.update(variants)
    return frozenset(names), frozenset(firsts), frozenset(multi)


def watch_words() -> frozenset[str]:
    """Words the lexicon scan reports positions of: country name starts and project nouns."""
    return _names()[1] | EN_PROJECT_NOUNS | RU_PROJECT_NOUNS


_CACHE: dict[str, str | None] = {}


def country(name: str) -> str | None:
    """Alpha-3 code for a country name or demonym in any language (also Russian case forms)."""
    try:
        return _CACHE[name]
    except KeyError:
        pass
    code = _country(name)
    if len(_CACHE) > 50_000:
        _CACHE.clear()
    _CACHE[name] = code
    return code


def _country(name: str) -> str | None:
    key = " ".join(name.lower().replace("ё", "е").replace("’", "'").split())
    if key.endswith("'s"):
        key = key[:-2]
    if key in _SHORT_OK:
        return _SHORT_OK[key]
    if len(key) <= 3 or key in _DENY:
        return None
    candidates = [key]
    first, _, rest = key.partition(" ")
    if rest and "а" <= first[-1:] <= "я":  # "республики корея" -> "республика корея"
        for e in _RU_ENDINGS:
            if first.endswith(e) and len(first) - len(e) >= 3:
                stem = first[: -len(e)]
                candidates += [f"{stem}{n} {rest}" for n in ("а", "я", "ая", "ия", "")]
    elif "а" <= key[-1] <= "я":
        for e in _RU_ENDINGS:
            if key.endswith(e) and len(key) - len(e) >= 3:
                stem = key[: -len(e)]
                candidates += [stem, stem + "а", stem + "я", stem + "й", stem + "ия"]
    known = _names()[0]
    for cand in candidates:
        if known and cand not in known:
            continue
        code: str | None = countrynames.to_code_3(cand, fuzzy=False)
        if code is not None and len(code) == 3 and code != "EUU":
            return code
    return None


def _is_ru_adjective(word: str) -> bool:
    return word.lower().endswith(_RU_ADJ_END)


class Entities:
    def __init__(self, text: str, low: str, lang: str) -> None:
        self.text, self.low, self.lang = text, low, lang
        self.claims: list[Claim] = []

    def _claim(self, kind: str, start: int, end: int, rule: str, **fields: object) -> Claim:
        c = Claim.new(kind, start, end, self.text[start:end], rule, **fields)
        self.claims.append(c)
        return c

    def _party(self, start: int, end: int, rule: str, code: str) -> None:
        c = Claim.new("party", start, end, self.text[start:end], rule)
        c.country = code
        self.claims.append(c)

    def run(self, scan: Scan, commodity_ok: Callable[[int], bool]) -> list[Claim]:
        """``commodity_ok(pos)`` tells whether a commodity named at ``pos`` is in a trade context."""
        _, firsts, multi = _names()
        acronyms: dict[str, str] = {}
        tokens = scan.tokens
        text = self.text
        skip_to = -1
        for k in scan.watched:
            word = tokens[k]
            start = scan.start(k)
            if word in firsts and k >= skip_to and text[start].isupper():
                skip_to = self._parties(scan, k, word in multi)
            if word in EN_PROJECT_NOUNS or word in RU_PROJECT_NOUNS:
                self._project(scan, k, acronyms)
        if acronyms:
            self._acronym_mentions(acronyms)
        for h in scan.hits:
            if h.category == "party":
                self._party(h.start, h.end, "party.adjective", h.value)
            elif h.category == "status":
                self._claim("status", h.start, h.end, "status", status=h.value)
            elif h.category == "sector":
                self._claim("sector", h.start, h.end, "sector", code=h.value)
            elif h.category == "commodity" and commodity_ok(h.start):
                self._claim("commodity", h.start, h.end, "commodity", code=h.value)
        return self.claims

    def _parties(self, scan: Scan, k: int, multiword: bool) -> int:
        """A country name starting at word ``k``; returns the index of the word after it."""
        tokens, text = scan.tokens, self.text
        start = scan.start(k)
        if scan.end(k) < len(text) and text[scan.end(k)] == "$":
            return k + 1  # "US$"
        nxt = k + 1
        if (
            multiword
            and nxt < len(tokens)
            and tokens[nxt]
            and (tokens[nxt] in _CONNECTORS or text[scan.start(nxt)].isupper())
        ):
            for size in (4, 3, 2):
                last = k + size - 1
                if last >= len(tokens) or "" in tokens[k : last + 1]:
                    continue
                if not all(text[scan.start(j)].isupper() or tokens[j] in _CONNECTORS for j in range(k, last + 1)):
                    continue
                code = country(" ".join(tokens[k : last + 1]))
                if code is not None:
                    self._party(start, scan.end(last), "party.name", code)
                    return last + 1
        code = country(tokens[k])
        if code is not None:
            self._party(start, scan.end(k), "party.name", code)
        return k + 1

    def _project(self, scan: Scan, k: int, acronyms: dict[str, str]) -> None:
        tokens, text = scan.tokens, self.text
        end = scan.end(k)
        if tokens[k] in EN_PROJECT_NOUNS:
            if not text[scan.start(k)].isupper():
                return
            j = k
            while (
                j > 0
                and tokens[j - 1]
                and (
                    text[scan.start(j - 1)].isupper()
                    or (tokens[j - 1] in _CONNECTORS and j > 1 and tokens[j - 2] and text[scan.start(j - 2)].isupper())
                )
            ):
                j -= 1
            while j < k and tokens[j] in _LEADING_DROP:
                j += 1
            if j == k:
                return
        else:
            j = k
            adjectives = 0
            while (
                j > 0
                and tokens[j - 1]
                and adjectives < 2
                and not text[scan.start(j - 1)].isupper()
                and _is_ru_adjective(tokens[j - 1])
            ):
                j -= 1
                adjectives += 1
            caps = j
            while j > 0 and tokens[j - 1] and text[scan.start(j - 1)].isupper() and _is_ru_adjective(tokens[j - 1]):
                j -= 1
            if j == caps:
                return
        start = scan.start(j)
        name = " ".join(text[start:end].split())
        acr = _ACRONYM.match(text, end)
        if acr is not None:
            acronyms.setdefault(acr.group(1), name)
            end = acr.end()
        self._claim("project", start, end, "project.name", name=name)

    def _acronym_mentions(self, acronyms: dict[str, str]) -> None:
        text = self.text
        taken = [(c.start, c.end) for c in self.claims if c.kind == "project"]
        for acr, name in acronyms.items():
            pos = text.find(acr)
            while pos >= 0:
                end = pos + len(acr)
                bounded = (pos == 0 or not text[pos - 1].isalnum()) and (end == len(text) or not text[end].isalnum())
                if bounded and not any(a <= pos < b for a, b in taken):
                    self._claim("project", pos, end, "project.acronym", name=name)
                pos = text.find(acr, end)
