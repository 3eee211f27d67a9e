"""Agreement of the ABC interpreter with abc2midi over the corpora, and what differs.

    python bench/abc_agreement.py [--data DIR] [--mode default|plain|both]

For every tune of each corpus, the note lists (pitch, onset, duration in 1/96 beats, role:
melody, bass or chord, repeats expanded) of the interpreter and of abc2midi (run as in
tests/support/abc2midi.py) are compared, in each mode: ``default`` (abc2midi as it plays by
default, the interpreter's default options) and ``plain`` (abc2midi -NGRA -NGUI, no R:,
chordattack 0; ``InterpreterOptions.plain()``). Prints the rate per file and the differing
tunes grouped by the first thing that differs, with one example each (Markdown tables for
BENCHMARKS.md), and the interpreter's throughput in each mode (chars/s fed all at once,
median of 3). The corpora are data/irish.abc and the music21 package's collections
(tests/support/corpora.py), or DIR/NAME.abc with ``--data DIR``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livernn.abc import AbcInterpreter, InterpreterOptions, NoteEvent  # noqa: E402
from tests.support.abc2midi import (  # noqa: E402
    MODES,
    abc2midi_notes,
    event_keys,
    mode_options,
    split_tunes,
)
from tests.support.corpora import CORPORA, corpus_text, where  # noqa: E402


def first_difference(tune: str, ref: list, options: InterpreterOptions) -> tuple[int, bool]:
    """Character index where the interpreter emitted the first note that differs, and
    whether the interpreter's notes are a strict prefix of abc2midi's (or the reverse)."""
    it = AbcInterpreter(options)
    mine: list[tuple[tuple[int, int, int, int], int]] = []
    for i, c in enumerate(tune):
        mine.extend((k, i) for k in event_keys(e for e in it.feed(c) if isinstance(e, NoteEvent)))
    mine.extend((k, len(tune)) for k in event_keys(it.flush()))
    a = sorted(mine, key=lambda x: (x[0][1], x[0][3], x[0][0]))
    b = sorted(ref, key=lambda x: (x[1], x[3], x[0]))
    for (key, at), other in zip(a, b, strict=False):
        if key != other:
            return at, False
    return len(tune), True


CATEGORIES = (
    ("abc2midi wrote no MIDI file or no notes", None),
    (
        "a trill or roll on a note with grace notes, e.g. `{f}Tf4`",
        re.compile(r"\}\s*[.~TH]*[~T]|\}\s*!(trill|roll)!"),
    ),
    ("the backing (bass or chords) differs", None),
    ("`[|]` bar lines (abc2midi plays them as chords of stray notes)", re.compile(r"\[\|\]")),
    ("voices (V:) in a tune with parts", None),
    ("a slur or decoration inside a tuplet, e.g. `(3(uEFG)`", re.compile(r"\(\d\(|\(\(\d|\(\d\.")),
    (
        "ties or broken rhythm inside or between chords",
        re.compile(r"\][<>-]|[-<>]\[|\[[^\]]*[<>-][^\]]*\]"),
    ),
    (
        "decorations next to a broken rhythm, e.g. `a.>f`, `e>~f`",
        re.compile(r"[.~TH!]\s*[<>]|[<>]\s*[.~TH]"),
    ),
    (
        "endings in unusual places, e.g. `||1`, `|[1`, `::` mid-line",
        re.compile(r"\|\|\d|::|\[\d|\|\d"),
    ),
    ("parts (P:) with repeats", None),
    ("other", None),
)


def categorise(tune: str, ref: list | None, mine: list, at: int) -> str:
    """The first category (in table order) that fits the first difference."""
    names = [c[0] for c in CATEGORIES]
    if not ref:
        return names[0]
    context = tune[max(0, at - 40) : at + 6]
    if CATEGORIES[1][1].search(context):  # type: ignore[union-attr]
        return names[1]
    if {k for k in set(ref) ^ set(mine)} and all(k[3] for k in set(ref) ^ set(mine)):
        return names[2]
    if CATEGORIES[3][1].search(context):  # type: ignore[union-attr]
        return names[3]
    if re.search(r"^\[?V:", tune, re.M):
        return names[4]
    for name, pattern in CATEGORIES[5:9]:
        if pattern.search(context):  # type: ignore[union-attr]
            return name
    if re.search(r"^\[?P:", tune, re.M):
        return names[9]
    return names[-1]


def throughput(text: str, options: InterpreterOptions, repeats: int = 3) -> float:
    """Characters per second, the whole text fed at once (median of ``repeats``)."""
    rates = []
    for _ in range(repeats):
        it = AbcInterpreter(options)
        t = time.perf_counter()
        it.feed(text)
        it.flush()
        rates.append(len(text) / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=None, help="read DIR/NAME.abc instead of the package corpora"
    )
    ap.add_argument("--mode", choices=(*MODES, "both"), default="both")
    args = ap.parse_args()
    modes = MODES if args.mode == "both" else (args.mode,)
    texts = {name: corpus_text(name, args.data) for name in CORPORA}
    with tempfile.TemporaryDirectory(prefix="abc-agreement-") as tmp:
        for mode in modes:
            report(mode, texts, Path(tmp) / mode, args.data)
    print("\n| corpus | chars | " + " | ".join(f"{m}: chars/s" for m in modes) + " |")
    print("|---|---|" + "---|" * len(modes))
    for name, text in texts.items():
        if text is not None:
            rates = " | ".join(f"{throughput(text, mode_options(m)):,.0f}" for m in modes)
            print(f"| {name} | {len(text):,} | {rates} |")


def report(mode: str, texts: dict, work: Path, data: Path | None) -> None:
    """The agreement table and the table of differences for one mode."""
    options = mode_options(mode)
    counts: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, str] = {}
    print(f"\nMode {mode}:\n")
    print("| corpus | tunes | same notes as abc2midi | rate |\n|---|---|---|---|")
    for name, text in texts.items():
        if text is None:
            missing = data / f"{name}.abc" if data else where(name)
            print(f"| {name} | (missing: {missing}) | | |")
            continue
        tunes = split_tunes(text)
        refs = abc2midi_notes(tunes, work / name, mode)
        same = 0
        for tune, ref in zip(tunes, refs, strict=True):
            it = AbcInterpreter(options)
            mine = event_keys(it.feed(tune) + it.flush())
            if ref is not None and mine == ref:
                same += 1
                continue
            at, _ = first_difference(tune, ref or [], options)
            cat = categorise(tune, ref, mine, at)
            counts[cat][name] += 1
            if cat not in examples:
                x = tune.splitlines()[0]
                snippet = tune[max(0, at - 30) : at + 10].replace("\n", "⏎").replace("|", "\\|")
                examples[cat] = f"{name} {x}: `…{snippet}…`"
        print(f"| {name} | {len(tunes)} | {same} | {same / len(tunes):.1%} |")
    print(
        "\n| what differs first | "
        + " | ".join(CORPORA)
        + " | example (first differing note is emitted at the end) |"
    )
    print("|---|" + "---|" * len(CORPORA) + "---|")
    for cat, _ in CATEGORIES:
        if cat in counts:
            row = " | ".join(str(counts[cat][n]) for n in CORPORA)
            print(f"| {cat.replace('|', chr(92) + '|')} | {row} | {examples[cat]} |")


if __name__ == "__main__":
    main()
