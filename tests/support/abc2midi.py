"""Compare the interpreter with abc2midi (Debian package abcmidi), the reference player.

Used by tests/test_abc_golden.py and bench/abc_agreement.py. Not runtime code: it runs a
subprocess and writes temporary files.

How abc2midi is run, and why: once per file, on a copy whose tunes are renumbered
``X:1..N`` (the corpora reuse X: numbers, and abc2midi names its outputs by X:), in one of
two modes:

- ``default``: abc2midi as it plays by default (``abc2midi FILE -quiet -silent``): grace
  notes, accompaniment from chord names (its "gchord track", bass and chord channels),
  R:hornpipe swing and the 10-tick chord stagger. The interpreter runs with its default
  ``InterpreterOptions`` (all of these on).
- ``plain``: the notes as written. ``-NGRA`` (grace notes are not played) and ``-NGUI`` (no
  accompaniment from chord names); ``R:`` lines are dropped from the copy (abc2midi swings
  every ``R:hornpipe`` tune by itself); ``%%MIDI chordattack 0`` is added to every tune
  (abc2midi otherwise staggers the notes of a chord by 10 ticks). The interpreter runs with
  ``InterpreterOptions.plain()``.

Notes are compared as (pitch, onset, duration in 1/96 beats, role), sorted; the role is 0
for the melody, 1 for the bass and 2 for the chords of the accompaniment (abc2midi's bass
channel is the lower of the two channels of its gchord track). Velocities are not compared
(abc2midi accents the beats of the bar).
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
    "mode_options",
    "split_tunes",
]

GRID = 96  # comparison resolution: ticks per beat
NoteKey = tuple[int, int, int, int]  # pitch, onset, duration in 1/GRID beats, role
MODES = ("default", "plain")


def mode_options(mode: str) -> InterpreterOptions:
    """The interpreter's options that correspond to abc2midi run in ``mode``."""
    return InterpreterOptions() if mode == "default" else InterpreterOptions.plain()


def _for_abc2midi(tune: str, number: int, mode: str) -> str:
    lines = tune.splitlines(keepends=True)
    if mode == "default":
        return f"X:{number}\n" + "".join(lines[1:]).rstrip("\n") + "\n\n"
    body = [ln for ln in lines[1:] if not ln.startswith("R:")]
    return f"X:{number}\n%%MIDI chordattack 0\n" + "".join(body).rstrip("\n") + "\n\n"


def have_abc2midi() -> bool:
    return shutil.which("abc2midi") is not None


def _run_abc2midi(tunes: list[str], first: int, last: int, workdir: Path, mode: str) -> None:
    src = workdir / f"b{first}_.abc"
    src.write_text("".join(_for_abc2midi(tunes[i], i + 1, mode) for i in range(first, last)))
    flags = [] if mode == "default" else ["-NGRA", "-NGUI"]
    subprocess.run(
        ["abc2midi", src.name, *flags, "-quiet", "-silent"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def abc2midi_notes(
    tunes: list[str], workdir: Path, mode: str = "plain"
) -> list[list[NoteKey] | None]:
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
        _run_abc2midi(tunes, first, len(tunes), workdir, mode)
        i = first
        while i < len(tunes):
            path = workdir / f"b{first}_{i + 1}.mid"
            if not path.exists():
                break
            paths[i] = path
            i += 1
        if i < len(tunes):  # crashed (or skipped) at tune i: run it alone
            _run_abc2midi(tunes, i, i + 1, workdir, mode)
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
    """All notes of a MIDI file except drums, as sorted (pitch, onset, duration, role) keys."""
    tpb = mid.ticks_per_beat
    notes: list[NoteKey] = []
    for track in mid.tracks:
        t = 0
        on: dict[tuple[int, int], list[int]] = {}
        backing = any(  # abc2midi's accompaniment track, or livernn render's
            (m.type == "text" and m.text == "gchord track")
            or (m.type == "track_name" and m.name == "backing")
            for m in track
        )
        channels = sorted({m.channel for m in track if m.type == "note_on"})
        bass = channels[0] if channels else -1
        for msg in track:
            t += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            role = (1 if msg.channel == bass else 2) if backing else 0
            k = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                on.setdefault(k, []).append(t)
            elif on.get(k):
                start = on[k].pop(0)
                dur = round((t - start) * GRID / tpb)
                notes.append((msg.note, round(start * GRID / tpb), dur, role))
    notes.sort()
    return notes


def event_keys(events: Iterable[object]) -> list[NoteKey]:
    keys = [
        (
            e.pitch,
            math.floor(e.onset * GRID + 0.5),
            math.floor(e.duration * GRID + 0.5),
            e.backing,
        )
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


def agreement(
    tunes: list[str],
    reference: list[list[NoteKey] | None],
    options: InterpreterOptions | None = None,
) -> tuple[int, list[int]]:
    """(number of tunes whose note lists are equal, indices of the others)."""
    same = 0
    differ: list[int] = []
    for i, (tune, ref) in enumerate(zip(tunes, reference, strict=True)):
        if ref is not None and interpreter_notes(tune, options) == ref:
            same += 1
        else:
            differ.append(i)
    return same, differ
