"""Text out of HTML, keeping a map back to the original offsets.

Scripts, styles, comments and tags are removed, block tags become line breaks, and entities
are decoded. Claims found in the cleaned text are mapped back, so their offsets and text are
those of the HTML as given.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right

_SNIFF = re.compile(r"<(?:!doctype|html|head|body|p|div|br|span|a|h[1-6]|table|li|article|script)\b", re.I)
_TOKENS = re.compile(
    r"<(script|style|noscript|template|svg|head)\b.*?</\1\s*>|<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)[^>]*>|<![^>]*>"
    r"|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});",
    re.S | re.I,
)
_BLOCK = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "th",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "pre",
        "title",
        "dd",
        "dt",
        "dl",
        "figure",
        "figcaption",
        "nav",
        "aside",
        "main",
        "hr",
        "form",
    ]
)


def looks_like_html(text: str) -> bool:
    head = text[:2000]
    return "<" in head and len(_SNIFF.findall(head)) >= 2


class OffsetMap:
    """Maps offsets in the cleaned text to offsets in the original. Each segment is a run of
    copied characters, or one character standing for a whole tag or entity."""

    def __init__(self) -> None:
        self.clean_starts: list[int] = []
        self.orig_starts: list[int] = []
        self.copied: list[bool] = []
        self.orig_lengths: list[int] = []

    def add(self, clean: int, orig: int, copied: bool, orig_length: int) -> None:
        self.clean_starts.append(clean)
        self.orig_starts.append(orig)
        self.copied.append(copied)
        self.orig_lengths.append(orig_length)

    def _segment(self, pos: int) -> int:
        return max(bisect_right(self.clean_starts, pos) - 1, 0)

    def span(self, start: int, end: int) -> tuple[int, int]:
        if not self.clean_starts:
            return start, end
        k = self._segment(start)
        a = self.orig_starts[k] + (start - self.clean_starts[k] if self.copied[k] else 0)
        if end <= start:
            return a, a
        k = self._segment(end - 1)
        if self.copied[k]:
            b = self.orig_starts[k] + (end - 1 - self.clean_starts[k]) + 1
        else:
            b = self.orig_starts[k] + self.orig_lengths[k]
        return a, b


def strip_html(source: str) -> tuple[str, OffsetMap]:
    out: list[str] = []
    omap = OffsetMap()
    clean = 0
    pos = 0
    for m in _TOKENS.finditer(source):
        if m.start() > pos:
            chunk = source[pos : m.start()]
            out.append(chunk)
            omap.add(clean, pos, True, len(chunk))
            clean += len(chunk)
        token = m.group()
        replacement = ""
        if token.startswith("&"):
            replacement = html.unescape(token)
            if replacement == token or len(replacement) != 1:
                replacement = " "
            if replacement == "\u00a0":
                replacement = " "
        elif m.group(1) or (m.group(3) and m.group(3).lower() in _BLOCK):
            replacement = "\n"
        if replacement:
            out.append(replacement)
            omap.add(clean, m.start(), False, len(token))
            clean += 1
        pos = m.end()
    if pos < len(source):
        out.append(source[pos:])
        omap.add(clean, pos, True, len(source) - pos)
    return "".join(out), omap
