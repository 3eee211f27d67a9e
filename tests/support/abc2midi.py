"""Compare the interpreter with abc2midi (Debian package abcmidi), the reference player.

Used by tests/test_abc_golden.py and bench/abc_agreement.py. Not runtime code: it runs a
subprocess and writes temporary files.

How abc2midi is run, and why:
- once per file, on a copy whose tunes are renumbered ``X:1..N`` (the corpora reuse X:
  numbers, and abc2midi names its outputs by X:), with ``-NGRA`` (grace notes are not
  played; the interpreter skips them too) and ``-NGUI`` (no accompaniment from chord names);
- ``R:`` lines are dropped from the copy: abc2midi swings every ``R:hornpipe`` tune by itself
  (``ab`` played as ``a>b``), which is a performance choice, not what the notes say;
- ``%%MIDI chordattack 0`` is added to every tune: abc2midi otherwise staggers the notes of a
  chord by 10 ticks.
Notes are compared as (pitch, onset, duration) in 1/96 beats, sorted; velocities are not
compared (abc2midi accents the beats of the bar).
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from livernn.abc.events import NoteEvent
from livernn.abc.interpreter import AbcInterpreter, InterpreterOptions
from livernn.abc.tunes import split_tunes

__all__ = [
    "abc2midi_notes",
    "agreement",
    "event_keys",
    "have_abc2midi",
    "interpreter_notes",
    "midi_notes",
    "split_tunes",
]

GRID = 96  # comparison resolution: ticks per beat
NoteKey = tuple[int, int, int]  # pitch, onset, duration in 1/GRID beats


def _for_abc2midi(tune: str, number: int) -> str:
    lines = tune.splitlines(keepends=True)
    body = [ln for ln in lines[1:] if not ln.startswith("R:")]
    return f"X:{number}\n%%MIDI chordattack 0\n" + "".join(body).rstrip("\n") + "\n\n"


def have_abc2midi() -> bool:
    return shutil.which("abc2midi") is not None


def _run_abc2midi(tunes: list[str], first: int, last: int, workdir: Path) -> None:
    src = workdir / f"b{first}_.abc"
    src.write_text("".join(_for_abc2midi(tunes[i], i + 1) for i in range(first, last)))
    subprocess.run(
        ["abc2midi", src.name, "-NGRA", "-NGUI", "-quiet", "-silent"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def abc2midi_notes(tunes: list[str], workdir: Path) -> list[list[NoteKey] | None]:
    """Run abc2midi over ``tunes``; the sorted notes of each (None: no .mid came out).

    One process reads the whole list; abc2midi 4.84 sometimes aborts in the middle of a long
    file (a buffer overflow in ryans_mammoth.abc), so after a crash the tune where it
    stopped is run on its own and the rest as a new batch.
    """
    import mido

    workdir.mkdir(parents=True, exist_ok=True)
    paths: list[Path | None] = [None] * len(tunes)
    first = 0
    while first < len(tunes):
        _run_abc2midi(tunes, first, len(tunes), workdir)
        i = first
        while i < len(tunes):
            path = workdir / f"b{first}_{i + 1}.mid"
            if not path.exists():
                break
            paths[i] = path
            i += 1
        if i < len(tunes):  # crashed (or skipped) at tune i: run it alone
            _run_abc2midi(tunes, i, i + 1, workdir)
            path = workdir / f"b{i}_{i + 1}.mid"
            paths[i] = path if path.exists() else None
        first = i + 1
    result: list[list[NoteKey] | None] = []
    for path in paths:
        if path is None:
            result.append(None)
            continue
        try:
            result.append(midi_notes(mido.MidiFile(path)))
        except (EOFError, OSError, ValueError, KeyError):  # abc2midi wrote a broken file
            result.append(None)
    return result


def midi_notes(mid) -> list[NoteKey]:  # noqa: ANN001 - a mido.MidiFile
    """All notes of a MIDI file except drums, as sorted (pitch, onset, duration) keys."""
    tpb = mid.ticks_per_beat
    notes: list[NoteKey] = []
    for track in mid.tracks:
        t = 0
        on: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            t += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            k = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                on.setdefault(k, []).append(t)
            elif on.get(k):
                start = on[k].pop(0)
                notes.append((msg.note, round(start * GRID / tpb), round((t - start) * GRID / tpb)))
    notes.sort()
    return notes


def event_keys(events: Iterable[object]) -> list[NoteKey]:
    keys = [
        (e.pitch, math.floor(e.onset * GRID + 0.5), math.floor(e.duration * GRID + 0.5))
        for e in events
        if isinstance(e, NoteEvent)
    ]
    keys.sort()
    return keys


def interpreter_notes(tune: str, options: InterpreterOptions | None = None) -> list[NoteKey]:
    """The interpreter's notes for one tune text, fed all at once."""
    it = AbcInterpreter(options)
    events = it.feed(tune)
    events += it.flush()
    return event_keys(events)


def agreement(tunes: list[str], reference: list[list[NoteKey] | None]) -> tuple[int, list[int]]:
    """(number of tunes whose note lists are equal, indices of the others)."""
    same = 0
    differ: list[int] = []
    for i, (tune, ref) in enumerate(zip(tunes, reference, strict=True)):
        if ref is not None and interpreter_notes(tune) == ref:
            same += 1
        else:
            differ.append(i)
    return same, differ
