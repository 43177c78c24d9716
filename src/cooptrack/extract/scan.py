"""Fast phrase lookup in a lower-cased text, and compact regex alternations.

A :class:`Lexicon` holds phrases (lower-case words separated by spaces). To scan a text it
intersects the text's set of words with the phrases' first words, so only the few phrases
whose first word occurs are tried, each with one anchored regex. Overlapping hits resolve
to the longest, then the leftmost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, compress
from typing import Any

WORD = re.compile(r"\w+")
_FIRST = re.compile(r"\w+")
DASHES = "-‐‑‒–—"


def normalise(text: str) -> str:
    """Lower case, ``ё`` as ``е``, same length as the input so offsets still hold."""
    return text.lower().replace("ё", "е")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def phrase_key(text: str) -> str:
    """The lexicon key of matched text: words joined by single spaces, dashes as ``-``."""
    out = " ".join(text.split())
    for d in DASHES[1:]:
        out = out.replace(d, "-")
    return out


def trie_regex(words: Iterable[str], boundary: bool = True) -> str:
    """One alternation for many literal strings, factored by common prefixes (fast to match).

    Longer strings win over their prefixes. With ``boundary``, a string ending in a letter or
    digit only matches where a word ends. A space matches any run of white space and a dash
    any dash.
    """
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any], last: str) -> str:
        alts = []
        for ch in sorted(k for k in node if k):
            if ch == " ":
                head = r"\s+"
            elif ch in DASHES:
                head = f"[{DASHES}]"
            else:
                head = re.escape(ch)
            alts.append(head + emit(node[ch], ch))
        if "" in node:
            alts.append(r"(?!\w)" if boundary and _is_word_char(last) else "")
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(root, "")


@dataclass(slots=True)
class Hit:
    start: int
    end: int
    category: str
    value: str
    key: str


# Punctuation and spaces that separate words: the text's words come from one split.
_SPLIT = str.maketrans(
    {ch: " " for ch in "!\"#$%&()*+,./:;<=>?@[\\]^`{|}~«»“”„‘’'…•·№€£₸₩₽¥\t\n\r\f\v\u00a0\u202f\u2009" + DASHES}
)


@dataclass(slots=True)
class Scan:
    """The words of a text (split at spaces and punctuation, an empty word between two
    separators), the lexicon's hits, and the indexes of watched words."""

    tokens: list[str]
    ends: list[int]  # cumulative lengths of tokens[:k + 1]
    hits: list[Hit]
    watched: list[int]

    def start(self, k: int) -> int:
        return self.ends[k] - len(self.tokens[k]) + k

    def end(self, k: int) -> int:
        return self.ends[k] + k


# Short, frequent words that are never looked up themselves: a phrase starting with one
# ("в этом году", "by the end of the year") is found by its next word, then the lead word
# is checked before it.
LEADS = frozenset(
    [
        "a",
        "an",
        "the",
        "in",
        "to",
        "is",
        "at",
        "of",
        "on",
        "by",
        "be",
        "are",
        "for",
        "and",
        "from",
        "will",
        "has",
        "have",
        "with",
        "as",
        "it",
        "its",
        "that",
        "this",
        "в",
        "во",
        "с",
        "со",
        "к",
        "ко",
        "на",
        "до",
        "за",
        "по",
        "о",
        "об",
        "от",
        "из",
        "и",
        "а",
        "у",
        "не",
    ]
)


def _lead_start(low: str, pos: int, lead: str) -> int:
    """Where the words of ``lead`` start if they stand right before ``pos``, else -1."""
    k = pos
    for word in reversed(lead.split(" ")):
        j = k - 1
        if j < 0 or not low[j].isspace():
            return -1
        while j >= 0 and low[j].isspace():
            j -= 1
        a = j + 1 - len(word)
        if a < 0 or not low.startswith(word, a) or (a > 0 and (low[a - 1].isalnum() or low[a - 1] == "_")):
            return -1
        k = a
    return k


class Lexicon:
    """Phrases mapped to ``(category, value)``; a phrase belongs to one category only."""

    def __init__(self, entries: Iterable[tuple[str, str, str]], watch: Iterable[str] = ()) -> None:
        """``watch``: words whose positions :meth:`scan` reports as well (see :class:`Scan`)."""
        by_first: dict[str, set[str]] = {}
        self.values: dict[str, tuple[str, str]] = {}
        # body -> lead words that may stand before it, longest phrase first
        self.leads: dict[str, list[str]] = {}
        for phrase, category, value in entries:
            key = phrase_key(phrase.lower())
            if not key:
                continue
            words = key.split(" ")
            n = 0
            while n < len(words) - 1 and words[n] in LEADS:
                n += 1
            body = " ".join(words[n:])
            if n and key not in self.values:
                self.leads.setdefault(body, []).append(" ".join(words[:n]))
            first = _FIRST.match(body)
            if first is None:
                raise ValueError(f"lexicon phrase {phrase!r} must start with a letter or digit")
            self.values.setdefault(key, (category, value))
            by_first.setdefault(first.group(), set()).add(body)
        for leads in self.leads.values():
            leads.sort(key=len, reverse=True)
        # Regexes are compiled on first use: most first words never occur in a given text.
        self._sources = {head: trie_regex(phrases) for head, phrases in by_first.items()}
        # For first words that only begin longer phrases, the words that may follow them: a
        # cheap test before the regex ("2" is tried only before "раза", "months"...).
        self._nexts: dict[str, frozenset[str]] = {}
        for head, phrases in by_first.items():
            seconds = set()
            for phrase in phrases:
                words = phrase.translate(_SPLIT).split(" ")
                if len(words) < 2:
                    break
                seconds.add(words[1])
            else:
                self._nexts[head] = frozenset(seconds)
        self._patterns: dict[str, re.Pattern[str]] = {}
        self.firsts = frozenset(self._sources)
        self.watch = frozenset(watch)
        self._wanted = self.firsts | self.watch

    def scan(self, low: str) -> Scan:
        """Every phrase in ``low`` (a text from :func:`normalise`), longest first, no overlaps,
        and where the watched words are."""
        found: list[Hit] = []
        values = self.values
        leads_of = self.leads
        patterns = self._patterns
        tokens = low.translate(_SPLIT).split(" ")
        wanted = self._wanted
        watch = self.watch
        ends = list(accumulate(map(len, tokens)))
        watched: list[int] = []
        nexts_of = self._nexts
        last = len(tokens) - 1
        for k in compress(range(len(tokens)), map(wanted.__contains__, tokens)):
            first = tokens[k]
            if first in watch:
                watched.append(k)
                if first not in self._sources:
                    continue
            nexts = nexts_of.get(first)
            if nexts is not None and (k == last or tokens[k + 1] not in nexts):
                continue
            i = ends[k] - len(first) + k
            pattern = patterns.get(first)
            if pattern is None:
                pattern = patterns[first] = re.compile(self._sources[first])
            m = pattern.match(low, i)
            if m is not None:
                body = m.group()
                if body not in values and body not in leads_of:
                    body = phrase_key(body)
                start, key = i, body
                leads = leads_of.get(body)
                if leads is not None:
                    for lead in leads:
                        a = _lead_start(low, i, lead)
                        if a >= 0:
                            start, key = a, lead + " " + body
                            break
                entry = values.get(key)
                if entry is not None:
                    found.append(Hit(start, m.end(), entry[0], entry[1], key))
        found.sort(key=lambda h: (h.start, -h.end))
        kept: list[Hit] = []
        last_end = -1
        for h in found:
            if h.start >= last_end:
                kept.append(h)
                last_end = h.end
        return Scan(tokens, ends, kept, watched)
