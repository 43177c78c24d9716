"""The extraction pipeline: scan the words once, read the numbers, find periods and entities,
then give each figure the subject, status and period of its clause and link the claims that
share a clause."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal
from functools import lru_cache

from cooptrack.errors import InvalidInput
from cooptrack.extract.clauses import Layout, layout
from cooptrack.extract.entities import Entities, watch_words
from cooptrack.extract.figures import MONEY_SUBJECTS, Figures
from cooptrack.extract.html import looks_like_html, strip_html
from cooptrack.extract.language import detect_lower
from cooptrack.extract.lexicon import MANAT
from cooptrack.extract.model import Claim, Extraction
from cooptrack.extract.numbers import find_numbers
from cooptrack.extract.periods import Periods
from cooptrack.extract.scan import Hit, Lexicon, normalise
from cooptrack.extract.vocab import entries
from cooptrack.findings import Finding

LANGUAGES = ("auto", "en", "ru")
_FIGURES = frozenset({"money", "count", "percent", "multiple"})
_TRADE_SUBJECTS = frozenset({"trade_turnover", "exports", "imports"})
_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        ("project", "party", "money", "count", "percent", "multiple", "period", "status", "sector", "commodity")
    )
}


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon(entries(), watch_words())


def _invalid(code: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Finding(code, message)])


def extract(text: str, *, published: date | None = None, lang: str = "auto") -> Extraction:
    """Claims in ``text`` (plain text or HTML). ``published`` resolves "last year" and the like;
    ``lang`` is "auto", "en" or "ru". Raises InvalidInput for an empty text, an unknown
    ``lang`` or, with "auto", a text that is neither English nor Russian."""
    if lang not in LANGUAGES:
        raise _invalid("bad_language", f"language '{lang}' is not supported; use auto, en or ru")
    source = text
    omap = None
    if looks_like_html(text):
        text, omap = strip_html(text)
    if not text.strip():
        raise _invalid("empty_input", "the text is empty: there is nothing to extract")
    low = normalise(text)
    language = detect_lower(low) if lang == "auto" else lang
    if language is None:
        raise _invalid(
            "unsupported_language", "the text is not English or Russian; pass --lang en or --lang ru to force"
        )
    claims = _run(text, low, language, published)
    if omap is not None:
        for c in claims:
            c.start, c.end = omap.span(c.start, c.end)
            c.text = source[c.start : c.end]
    return Extraction(language, claims)


def _run(text: str, low: str, lang: str, published: date | None) -> list[Claim]:
    scan = lexicon().scan(low)
    hits = scan.hits
    lay = layout(text, low)
    numbers = find_numbers(text, hits, lang)
    for h in hits:
        if h.category in ("multiple", "ignore"):
            for n in numbers:
                if h.start <= n.start < h.end:
                    n.used = True
    figures = Figures(text, low, lang, numbers, lay.sentence)
    figure_claims = figures.run()
    found = Periods(text, low, numbers, hits, published).run()
    modifiers = {id(f.claim) for f in found if f.modifier}
    claims = figure_claims + [f.claim for f in found]
    for h in hits:
        if h.category == "multiple":
            claims.append(
                Claim.new("multiple", h.start, h.end, text[h.start : h.end], "multiple.word", value=Decimal(h.value))
            )
    trade = {
        lay.sentence(h.start)
        for h in hits
        if h.category == "trade" or (h.category == "subject" and h.value in _TRADE_SUBJECTS)
    }
    claims += Entities(text, low, lang).run(scan, lambda pos: lay.sentence(pos) in trade)
    subjects = [h for h in hits if h.category == "subject"]
    if figures.bare:
        claims += _resolve_bare(figures.bare, claims, subjects, lay)
    claims = _sorted_unique(claims)
    if any(c.currency == MANAT for c in figure_claims):
        _resolve_manat(claims)
    _attach(claims, [f.claim for f in found], subjects, modifiers, lay)
    return claims


def _sorted_unique(claims: list[Claim]) -> list[Claim]:
    """Claims in text order with their ids; a party claim overlapping an earlier one (a name
    found twice) is dropped."""
    order = _KIND_ORDER
    claims.sort(key=lambda c: (c.start, order.get(c.kind, 99), -c.end))
    out: list[Claim] = []
    party_end = -1
    for c in claims:
        if c.kind == "party":
            if c.start < party_end:
                continue
            party_end = c.end
        c.id = len(out)
        out.append(c)
    return out


def _resolve_manat(claims: list[Claim]) -> None:
    """ "manat" is Azerbaijan's (AZN) or Turkmenistan's (TMT): the country the text names more."""
    manats = [c for c in claims if c.kind == "money" and c.currency == MANAT]
    if not manats:
        return
    aze = sum(1 for c in claims if c.kind == "party" and c.country == "AZE")
    tkm = sum(1 for c in claims if c.kind == "party" and c.country == "TKM")
    code = "AZN" if aze > tkm else "TMT" if tkm > aze else None
    for c in manats:
        c.currency = code


def _resolve_bare(bare: list[Claim], claims: list[Claim], subjects: list[Hit], lay: Layout) -> list[Claim]:
    """Keep a scaled number without a currency ("2.5 billion") when its clause is about money
    or its sentence names a currency for another figure, which it then shares."""
    kept = []
    with_currency = [(lay.sentence(c.start), c) for c in claims if c.kind == "money" and c.currency]
    for b in bare:
        sentence = lay.sentence(b.start)
        clause = lay.clause(b.start)
        money = [c for s, c in with_currency if s == sentence]
        before = [c for c in money if c.end <= b.start]
        after = [c for c in money if c.start >= b.end]
        source = before[-1] if before else (after[0] if after else None)
        about_money = any(h.value in MONEY_SUBJECTS and lay.clause(h.start) == clause for h in subjects)
        if source is None and not about_money:
            continue
        b.currency = source.currency if source else None
        kept.append(b)
    return kept


def _distance(c: Claim, start: int, end: int, weight_after: int) -> int:
    if end <= c.start:
        return c.start - end
    if start >= c.end:
        return (start - c.end) * weight_after
    return 0


_GENERIC_SUBJECTS = frozenset({"cost"})


def _attach(claims: list[Claim], periods: list[Claim], subjects: list[Hit], modifiers: set[int], lay: Layout) -> None:
    """Links within each clause; subject, status and period for each figure. ``claims`` are
    sorted by start, so each clause's claims are contiguous."""
    cstarts, sstarts = lay.clause_starts, lay.sentence_starts
    clause_of = [bisect_right(cstarts, c.start) - 1 for c in claims]
    subj_clause: dict[int, list[Hit]] = {}
    subj_sentence: dict[int, list[Hit]] = {}
    for h in subjects:
        subj_clause.setdefault(bisect_right(cstarts, h.start) - 1, []).append(h)
        subj_sentence.setdefault(bisect_right(sstarts, h.start) - 1, []).append(h)
    periods_sentence: dict[int, list[Claim]] = {}
    for c in periods:
        if c.period is not None and id(c) not in modifiers:
            periods_sentence.setdefault(bisect_right(sstarts, c.start) - 1, []).append(c)
    n = len(claims)
    a = 0
    while a < n:
        b = a + 1
        while b < n and clause_of[b] == clause_of[a]:
            b += 1
        ids = list(range(a, b))
        group = claims[a:b]
        figures = [c for c in group if c.kind in _FIGURES]
        for k, c in enumerate(group):
            c.links = ids[:k] + ids[k + 1 :]
        if figures:
            _attributes(
                figures, group, subj_clause.get(clause_of[a], []), subj_sentence, periods_sentence, modifiers, sstarts
            )
        a = b


def _attributes(
    figures: list[Claim],
    group: list[Claim],
    subjects: list[Hit],
    subj_sentence: dict[int, list[Hit]],
    periods_sentence: dict[int, list[Claim]],
    modifiers: set[int],
    sstarts: list[int],
) -> None:
    statuses = [s for s in group if s.kind == "status"]
    periods = [p for p in group if p.kind == "period" and p.period is not None and id(p) not in modifiers]
    # "a package of 40 projects at a cost of about 7 billion": "cost" only says the figure is an
    # amount; a more specific subject in the same clause names what it is about.
    specific = [h for h in subjects if h.value not in _GENERIC_SUBJECTS]
    subjects = specific or subjects
    for c in figures:
        if len(subjects) == 1:
            c.subject = subjects[0].value
        elif subjects:
            c.subject = min(subjects, key=lambda h: _distance(c, h.start, h.end, 2)).value
        elif c.kind in ("money", "multiple"):
            before = [h for h in subj_sentence.get(bisect_right(sstarts, c.start) - 1, []) if h.end <= c.start]
            if before:
                c.subject = before[-1].value
        if len(statuses) == 1:
            c.status = statuses[0].status
        elif statuses:
            c.status = min(statuses, key=lambda s: _distance(c, s.start, s.end, 1)).status
        if len(periods) == 1:
            period: Claim | None = periods[0]
        else:
            period = min(periods, key=lambda p: _distance(c, p.start, p.end, 1)) if periods else None
        if period is None:
            in_sentence = periods_sentence.get(bisect_right(sstarts, c.start) - 1, [])
            before_p = [p for p in in_sentence if p.end <= c.start]
            after_p = [p for p in in_sentence if p.start >= c.end]
            period = before_p[-1] if before_p else (after_p[0] if after_p else None)
        if period is not None:
            c.period = period.period
            c.deadline = period.deadline
