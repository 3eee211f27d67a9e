"""Throughput of the streaming ABC interpreter.

    python bench/abc_throughput.py [--data DIR] [--repeats 5]

Measures, on each corpus: characters per second fed all at once and fed one character at a
time (the serve engine's way), and the cost of ``copy()`` + ``feed(c)`` for one candidate
character (what a constraint mask does for every vocabulary entry at every step): median
and p99 over all positions of a corpus sample.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livernn.abc import AbcInterpreter  # noqa: E402
from tests.support.corpora import CORPORA, corpus_text  # noqa: E402


def rate_all_at_once(text: str) -> float:
    it = AbcInterpreter()
    t = time.perf_counter()
    it.feed(text)
    it.flush()
    return len(text) / (time.perf_counter() - t)


def rate_per_char(text: str) -> float:
    it = AbcInterpreter()
    feed = it.feed
    t = time.perf_counter()
    for c in text:
        feed(c)
    it.flush()
    return len(text) / (time.perf_counter() - t)


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


def p99(xs: list[float]) -> float:
    return sorted(xs)[int(0.99 * (len(xs) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=None, help="read DIR/NAME.abc instead of the package corpora"
    )
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
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
