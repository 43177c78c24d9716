"""Sentences and clauses: the scope within which claims are linked.

A sentence ends at . ! ? or … followed by a capital, digit, quote or dash (not after an
abbreviation or an initial), at a blank line, and at a line break unless the text is
hard-wrapped. A clause ends at ; and at conjunctions that start a new statement
(", and", "while", "whereas", ", but", ", of which", ", including"; ", а", ", но",
", тогда как", ", в то время как", ", при этом", ", из них", ", из которых", ", в том числе").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_END = re.compile(r"[.!?…]+")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_CLOSERS = ".!?…\"'»”’)]"
_CONJ = re.compile(
    r",\s*(?:and|but|while|whereas|whilst|of which|of them|of these|including|а|но|и|при этом|тогда как|"
    r"в то время как|из них|из которых|в том числе|причем)(?!\w)"
)
_INNER_CONJ = (" while ", " whereas ", " whilst ", ";")
_NO_SPLIT = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
        "nos",
        "vs",
        "prof",
        "gen",
        "jr",
        "sr",
        "sen",
        "rep",
        "gov",
        "col",
        "lt",
        "capt",
        "messrs",
        "approx",
        "fig",
        "art",
        "para",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "г-н",
        "г-жа",
        "им",
        "ул",
        "пр",
        "т.е",
        "т.к",
        "т.н",
        "см",
        "рис",
        "ст",
        "п",
    ]
)


@dataclass(slots=True)
class Layout:
    sentence_starts: list[int]
    clause_starts: list[int]

    def sentence(self, pos: int) -> int:
        return bisect_right(self.sentence_starts, pos) - 1

    def clause(self, pos: int) -> int:
        return bisect_right(self.clause_starts, pos) - 1

    def clause_span(self, index: int, text_length: int) -> tuple[int, int]:
        end = self.clause_starts[index + 1] if index + 1 < len(self.clause_starts) else text_length
        return self.clause_starts[index], end


def _hard_wrapped(text: str) -> bool:
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]
    if len(lines) < 4:
        return False
    wrapped = sum(1 for ln in lines if len(ln) >= 40 and ln[-1] not in ".!?:;\"'»”")
    return wrapped * 2 >= len(lines)


def layout(text: str, low: str) -> Layout:
    """Sentence and clause starts; ``low`` is ``text`` lower-cased (same length)."""
    starts = [0]
    size = len(text)
    if "\n" in text:
        if _hard_wrapped(text):
            starts += [m.end() for m in _BLANK_LINE.finditer(text)]
        else:
            i = text.find("\n")
            while i >= 0:
                starts.append(i + 1)
                i = text.find("\n", i + 1)
    for m in _END.finditer(text):
        pos = m.start()
        end = m.end()
        while end < size and text[end] in _CLOSERS:
            end += 1
        if end < size and not text[end].isspace():
            continue
        k = end
        while k < size and text[k] in " \t\u00a0\r\n":
            k += 1
        if k < size:
            nxt = text[k]
            if nxt in "\"'«“([-–—•*":
                nxt = text[k + 1] if k + 1 < size else "A"
            if not (nxt.isupper() or nxt.isdigit()):
                continue
        if text[pos] == ".":
            word = text[text.rfind(" ", max(0, pos - 15), pos) + 1 : pos].lower()
            if word in _NO_SPLIT or (len(word) == 1 and word.isalpha()) or (len(word) == 3 and word[1] == "."):
                continue
        starts.append(end)
    clauses = [m.start() for m in _CONJ.finditer(low)]
    for conj in _INNER_CONJ:
        i = low.find(conj)
        while i >= 0:
            clauses.append(i)
            i = low.find(conj, i + 1)
    sentence_starts = sorted(set(starts))
    return Layout(sentence_starts, sorted(set(sentence_starts + clauses)))
