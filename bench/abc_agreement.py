"""Agreement of the ABC interpreter with abc2midi over the corpora, and what differs.

    python bench/abc_agreement.py [--data DIR]

For every tune of each corpus, the note lists (pitch, onset, duration in 1/96 beats, repeats
expanded) of the interpreter and of abc2midi (run as in tests/support/abc2midi.py) are
compared. Prints the rate per file and the differing tunes grouped by the first thing that
differs, with one example each (a Markdown table for BENCHMARKS.md). The corpora are
data/irish.abc and the music21 package's collections (tests/support/corpora.py), or
DIR/NAME.abc with ``--data DIR``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livernn.abc import AbcInterpreter, NoteEvent  # noqa: E402
from tests.support.abc2midi import GRID, abc2midi_notes, split_tunes  # noqa: E402
from tests.support.corpora import CORPORA, corpus_text, where  # noqa: E402


def first_difference(tune: str, ref: list) -> tuple[int, bool]:
    """Character index where the interpreter emitted the first note that differs, and
    whether the interpreter's notes are a strict prefix of abc2midi's (or the reverse)."""
    it = AbcInterpreter()
    mine: list[tuple[tuple[int, int, int], int]] = []
    for i, c in enumerate(tune):
        for e in it.feed(c):
            if isinstance(e, NoteEvent):
                mine.append(((e.pitch, int(e.onset * GRID + 0.5), int(e.duration * GRID + 0.5)), i))
    for e in it.flush():
        if isinstance(e, NoteEvent):
            mine.append(
                ((e.pitch, int(e.onset * GRID + 0.5), int(e.duration * GRID + 0.5)), len(tune))
            )
    a = sorted(mine, key=lambda x: (x[0][1], x[0][0]))
    b = sorted(ref, key=lambda x: (x[1], x[0]))
    for (key, at), other in zip(a, b, strict=False):
        if key != other:
            return at, False
    return len(tune), True


CATEGORIES = (
    ("abc2midi wrote no MIDI file or no notes", None),
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


def categorise(tune: str, ref: list | None, at: int, prefix: bool) -> str:
    if not ref:
        return CATEGORIES[0][0]
    context = tune[max(0, at - 40) : at + 6]
    if CATEGORIES[1][1].search(context):
        return CATEGORIES[1][0]
    if re.search(r"^\[?V:", tune, re.M):
        return CATEGORIES[2][0]
    for name, pattern in CATEGORIES[3:7]:
        if pattern.search(context):
            return name
    if re.search(r"^\[?P:", tune, re.M):
        return CATEGORIES[7][0]
    return CATEGORIES[-1][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=None, help="read DIR/NAME.abc instead of the package corpora"
    )
    args = ap.parse_args()
    counts: dict[str, Counter] = defaultdict(Counter)
    examples: dict[str, str] = {}
    print("| corpus | tunes | same notes as abc2midi | rate |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="abc-agreement-") as tmp:
        for name in CORPORA:
            text = corpus_text(name, args.data)
            if text is None:
                missing = args.data / f"{name}.abc" if args.data else where(name)
                print(f"| {name} | (missing: {missing}) | | |")
                continue
            tunes = split_tunes(text)
            refs = abc2midi_notes(tunes, Path(tmp) / name)
            same = 0
            for tune, ref in zip(tunes, refs, strict=True):
                it = AbcInterpreter()
                events = it.feed(tune) + it.flush()
                mine = sorted(
                    (e.pitch, int(e.onset * GRID + 0.5), int(e.duration * GRID + 0.5))
                    for e in events
                    if isinstance(e, NoteEvent)
                )
                if ref is not None and mine == ref:
                    same += 1
                    continue
                at, prefix = first_difference(tune, ref or [])
                cat = categorise(tune, ref, at, prefix)
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
