"""Throughput of the streaming ABC interpreter.

    python bench/abc_throughput.py [--data DIR] [--repeats 5]
    python bench/abc_throughput.py --compare REF_DIR [--repeats 9]

Measures, on each corpus: characters per second fed all at once and fed one character at a
time (the serve engine's way), and the cost of ``copy()`` + ``feed(c)`` for one candidate
character (what a constraint mask does for every vocabulary entry at every step): median
and p99 over all positions of a corpus sample.

``--compare REF_DIR`` measures another checkout's interpreter (REF_DIR/livernn/abc, e.g. a
``git worktree add /tmp/ref COMMIT``) against this one in the same process, side by side
in blocks of 5,000 characters (see ``paired_rates``), timed with process CPU time (less
noisy than the wall clock on a shared machine). copy()+feed(c) is then the median over the first 20,000 positions of the
mean of 8 copies of the same state (see ``copy_feed_pair``).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livernn.abc import AbcInterpreter  # noqa: E402
from tests.support.corpora import CORPORA, corpus_text  # noqa: E402


def rate_all_at_once(text: str, cls: Any = AbcInterpreter, clock: Any = time.perf_counter) -> float:
    it = cls()
    t = clock()
    it.feed(text)
    it.flush()
    return len(text) / (clock() - t)


def rate_per_char(text: str, cls: Any = AbcInterpreter, clock: Any = time.perf_counter) -> float:
    it = cls()
    feed = it.feed
    t = clock()
    for c in text:
        feed(c)
    it.flush()
    return len(text) / (clock() - t)


def copy_feed_costs(text: str, limit: int = 50_000) -> list[float]:
    """Seconds for ``copy(); feed(next char)`` at each of the first ``limit`` positions."""
    it = AbcInterpreter()
    costs = []
    clock = time.perf_counter
    for c in text[:limit]:
        t = clock()
        it.copy().feed(c)
        costs.append(clock() - t)
        it.feed(c)
    return costs


def copy_feed_pair(text: str, a: Any, b: Any, limit: int = 20_000, k: int = 8) -> tuple:
    """CPU seconds of ``copy(); feed(next char)`` at each of the first ``limit`` positions,
    for interpreter classes ``a`` and ``b`` side by side (blocks of 500 positions, in turn
    first): each cost is the mean of ``k`` copies of the same state (warm, as a constraint
    mask copies one state for every candidate), the clock's own cost taken off."""
    clock = time.process_time
    t = clock()
    for _ in range(1000):
        clock()
    tick = (clock() - t) / 1000
    its, costs = (a(), b()), ([], [])
    text = text[:limit]
    for start in range(0, len(text), 500):
        block = text[start : start + 500]
        for j in (0, 1) if start % 1000 == 0 else (1, 0):
            it, out = its[j], costs[j]
            for c in block:
                t = clock()
                for _ in range(k):
                    it.copy().feed(c)
                out.append((clock() - t - tick) / k)
                it.feed(c)
    return costs


def p99(xs: list[float]) -> float:
    return sorted(xs)[int(0.99 * (len(xs) - 1))]


def load_interpreter(tree: Path) -> Any:
    """``AbcInterpreter`` of the checkout at ``tree``, imported beside this one's: its
    ``livernn`` modules are loaded, kept by the class, and taken out of ``sys.modules``."""
    saved = {k: m for k, m in sys.modules.items() if k == "livernn" or k.startswith("livernn.")}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(tree))
    try:
        cls = importlib.import_module("livernn.abc").AbcInterpreter
        where = Path(sys.modules[cls.__module__].__file__ or "")
    finally:
        sys.path.remove(str(tree))
        for k in [k for k in sys.modules if k == "livernn" or k.startswith("livernn.")]:
            del sys.modules[k]
        sys.modules.update(saved)
    if not where.is_relative_to(tree):
        raise SystemExit(f"{tree}: its livernn.abc was not the one imported ({where})")
    cls.source = str(where)
    return cls


def _ratio(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.0f}%"


def paired_rates(text: str, a: Any, b: Any, whole: bool, block: int = 5000) -> tuple:
    """Chars/s of interpreter classes ``a`` and ``b`` over ``text``, read side by side in
    blocks of ``block`` characters (each block fed at once when ``whole``, else one
    character at a time), the one that goes first changing every block; CPU time."""
    clock = time.process_time
    its, spent = (a(), b()), [0.0, 0.0]
    for k, start in enumerate(range(0, len(text), block)):
        chunk = text[start : start + block]
        for j in (0, 1) if k % 2 == 0 else (1, 0):
            it = its[j]
            t = clock()
            if whole:
                it.feed(chunk)
            else:
                feed = it.feed
                for c in chunk:
                    feed(c)
            spent[j] += clock() - t
    for j in (0, 1):
        t = clock()
        its[j].flush()
        spent[j] += clock() - t
    return len(text) / spent[0], len(text) / spent[1]


def compare(ref: Path, data: Path | None, repeats: int) -> None:
    old = load_interpreter(ref.resolve())
    print(f"old: {old.source}")
    print(f"new: {sys.modules[AbcInterpreter.__module__].__file__}")
    print(
        f"CPU time (time.process_time), old and new side by side in blocks of 5,000 characters,"
        f" medians of {repeats} runs; copy()+feed(c): median over the first 20,000 positions"
    )
    print()
    print(
        "| corpus | chars | all at once: k chars/s old / new | one char at a time: k chars/s "
        "old / new | copy()+feed(c): µs old / new |"
    )
    print("|---|---|---|---|---|")
    for name in CORPORA:
        text = corpus_text(name, data)
        if text is None:
            continue
        whole = [paired_rates(text, old, AbcInterpreter, True) for _ in range(repeats)]
        single = [paired_rates(text, old, AbcInterpreter, False) for _ in range(repeats)]
        wo, wn = (statistics.median(r[j] for r in whole) for j in (0, 1))
        so, sn = (statistics.median(r[j] for r in single) for j in (0, 1))
        co, cn = map(statistics.median, copy_feed_pair(text, old, AbcInterpreter))
        print(
            f"| {name} | {len(text):,} "
            f"| {wo / 1e3:,.0f} / {wn / 1e3:,.0f} ({_ratio(wn, wo)}) "
            f"| {so / 1e3:,.0f} / {sn / 1e3:,.0f} ({_ratio(sn, so)}) "
            f"| {co * 1e6:.2f} / {cn * 1e6:.2f} ({_ratio(cn, co)}) |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=None, help="read DIR/NAME.abc instead of the package corpora"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="REF_DIR",
        help="also measure REF_DIR's livernn.abc (another checkout), alternating, CPU time",
    )
    args = ap.parse_args()
    if args.compare is not None:
        compare(args.compare, args.data, args.repeats)
        return
    print(
        "| corpus | chars | all at once: chars/s (median, min) | one char at a time: chars/s (median, min) | copy()+feed(c): median µs | p99 µs |"
    )
    print("|---|---|---|---|---|---|")
    for name in CORPORA:
        text = corpus_text(name, args.data)
        if text is None:
            continue
        whole = [rate_all_at_once(text) for _ in range(args.repeats)]
        single = [rate_per_char(text) for _ in range(args.repeats)]
        costs = copy_feed_costs(text)
        print(
            f"| {name} | {len(text):,} | {statistics.median(whole):,.0f} ({min(whole):,.0f}) "
            f"| {statistics.median(single):,.0f} ({min(single):,.0f}) "
            f"| {statistics.median(costs) * 1e6:.2f} | {p99(costs) * 1e6:.2f} |"
        )


if __name__ == "__main__":
    main()
