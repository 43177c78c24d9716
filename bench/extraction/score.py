"""Score cooptrack's extractor on the labelled corpus, time it, and compare with quantulum3.

    python bench/extraction/score.py [--seconds 5] [--no-write] [--verbose]

Prints precision, recall and F1 for money (amount + currency) and counts (number + unit),
per language and overall, then articles per second on one core for English articles of
2-3 KB (built from the English corpus texts), and the same for quantulum3 on the money
part of the same texts. Writes the results between the markers
``<!-- extraction:start -->`` and ``<!-- extraction:end -->`` in ``bench/RESULTS.md``,
leaving the rest of that file alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
RESULTS = HERE.parent / "RESULTS.md"
START, END = "<!-- extraction:start -->", "<!-- extraction:end -->"

Item = tuple[str, str]  # ("2500000000", "USD") or ("19", "project")


@dataclass
class Doc:
    name: str
    language: str
    text: str
    money: list[Item]
    counts: list[Item]


@dataclass
class Score:
    tp: int = 0
    predicted: int = 0
    gold: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, name: str, predicted: Iterable[Item], gold: Iterable[Item]) -> None:
        p, g = Counter(predicted), Counter(gold)
        hit = sum((p & g).values())
        self.tp += hit
        self.predicted += sum(p.values())
        self.gold += sum(g.values())
        for item, n in (g - p).items():
            self.misses.append(f"{name}: missed {item} x{n}")
        for item, n in (p - g).items():
            self.misses.append(f"{name}: extra {item} x{n}")

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self, label: str) -> str:
        precision = f"{self.precision:.3f}" if self.predicted else "n/a"
        return (
            f"| {label} | {precision} | {self.recall:.3f} | **{self.f1:.3f}** | "
            f"{self.tp} | {self.predicted} | {self.gold} |"
        )


def amount_text(value: Decimal | float | str) -> str:
    d = Decimal(str(value))
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def load_corpus() -> list[Doc]:
    docs = []
    for txt in sorted(CORPUS.glob("*.txt")):
        label = json.loads(txt.with_suffix(".json").read_text(encoding="utf-8"))
        docs.append(
            Doc(
                txt.stem,
                label["language"],
                txt.read_text(encoding="utf-8"),
                [(amount_text(m["amount"]), m["currency"] or "") for m in label["money"]],
                [(str(c["count"]), c["unit"]) for c in label["counts"]],
            )
        )
    return docs


def ours(text: str) -> tuple[list[Item], list[Item]]:
    from cooptrack.extract import extract

    result = extract(text)
    money = [
        (amount_text(c.amount), c.currency or "") for c in result.claims if c.kind == "money" and c.amount is not None
    ]
    counts = [(str(c.count), c.unit or "") for c in result.claims if c.kind == "count"]
    return money, counts


def quantulum_parser() -> Callable[[str], list[object]] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from quantulum3 import parser
    except Exception:  # noqa: BLE001 - not installed or broken: reported, not fatal
        return None

    def parse(text: str) -> list[object]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(parser.parse(text))

    return parse


def quantulum_money(parse: Callable[[str], list[object]], text: str) -> list[Item]:
    out = []
    for q in parse(text):
        unit = getattr(q, "unit", None)
        entity = getattr(getattr(unit, "entity", None), "name", "")
        if entity != "currency":
            continue
        code = getattr(unit, "currency_code", None) or ""
        out.append((amount_text(Decimal(str(q.value)).quantize(Decimal("0.01"))), code))
    return out


def timing_articles(docs: list[Doc], low: int = 2048, high: int = 3072) -> list[str]:
    """English articles of 2-3 KB: corpus texts, paragraphs of the next ones appended to the short ones."""
    paragraphs = [p for d in docs if d.language == "en" for p in d.text.split("\n\n") if p.strip()]
    articles, current = [], ""
    for p in paragraphs * 3:
        if len(current.encode()) >= low:
            articles.append(current)
            current = ""
        if len((current + "\n\n" + p).encode()) > high and current:
            articles.append(current)
            current = ""
        current = (current + "\n\n" + p).strip()
    return [a for a in articles if low <= len(a.encode()) <= high]


def rate(func: Callable[[str], object], articles: list[str], seconds: float) -> float:
    """Articles per second: whole passes over ``articles`` until ``seconds`` have gone (best pass kept)."""
    for a in articles[:3]:
        func(a)
    best = 0.0
    spent = 0.0
    while spent < seconds or best == 0.0:
        t0 = time.perf_counter()
        for a in articles:
            func(a)
        elapsed = time.perf_counter() - t0
        spent += elapsed
        best = max(best, len(articles) / elapsed)
    return best


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def write_results(section: str) -> None:
    block = f"{START}\n{section.rstrip()}\n{END}"
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if START in old and END in old and old.index(START) < old.index(END):
        new = old[: old.index(START)] + block + old[old.index(END) + len(END) :]
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + block + "\n"
    RESULTS.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="time spent measuring our speed")
    ap.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    ap.add_argument("--verbose", action="store_true", help="list every missed or extra figure")
    args = ap.parse_args(argv)

    docs = load_corpus()
    parse = quantulum_parser()
    scores: dict[tuple[str, str], Score] = {}
    for lang in ("en", "ru", "all"):
        for kind in ("money", "counts", "quantulum"):
            scores[(kind, lang)] = Score()
    for d in docs:
        money, counts = ours(d.text)
        for lang in (d.language, "all"):
            scores[("money", lang)].add(d.name, money, d.money)
            scores[("counts", lang)].add(d.name, counts, d.counts)
            if parse is not None:
                scores[("quantulum", lang)].add(d.name, quantulum_money(parse, d.text), d.money)

    pinned = pin_one_core()
    articles = timing_articles(docs)
    size = sum(len(a.encode()) for a in articles) / len(articles)
    our_rate = rate(ours, articles, args.seconds)
    q_rate = rate(lambda a: quantulum_money(parse, a), articles, 0.0) if parse is not None else None

    n_en = sum(1 for d in docs if d.language == "en")
    lines = [
        "## Extraction",
        "",
        f"`python bench/extraction/score.py` on {date.today().isoformat()}; {cpu_model()}, "
        f"Python {platform.python_version()}, one core ({pinned}).",
        "",
        f"Corpus: {len(docs)} labelled texts ({n_en} English, {len(docs) - n_en} Russian) in "
        "`bench/extraction/corpus/`. Money is scored on amount + currency, counts on number + unit; "
        "figures are matched as multisets per text.",
        "",
        "| figure, language | precision | recall | F1 | matched | extracted | labelled |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, title in (("money", "money"), ("counts", "counts")):
        for lang in ("en", "ru", "all"):
            lines.append(scores[(kind, lang)].row(f"{title}, {lang}"))
    if parse is not None:
        for lang in ("en", "ru", "all"):
            lines.append(scores[("quantulum", lang)].row(f"quantulum3 money, {lang}"))
    lines += [
        "",
        f"Speed: {len(articles)} English articles of 2-3 KB (mean {size / 1024:.1f} KB) built from the corpus.",
        "",
        "| extractor | articles per second |",
        "|---|---|",
        f"| cooptrack.extract (all claim kinds) | {our_rate:,.0f} |",
    ]
    if q_rate is not None:
        lines.append(f"| quantulum3 (money only) | {q_rate:,.1f} |")
        lines += ["", f"cooptrack.extract is {our_rate / q_rate:,.0f} times as fast as quantulum3 on the same texts."]
    else:
        lines += ["", "quantulum3 is not importable here: no comparison (pip install quantulum3)."]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.verbose:
        for key in (("money", "all"), ("counts", "all")):
            print(f"--- {key[0]} differences")
            print("\n".join(scores[key].misses) or "(none)")
    if not args.no_write:
        write_results(section)
        print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    sys.exit(main())
