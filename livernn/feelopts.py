"""Command-line flags of the session feel (graces, backing, swing, stagger; issue 13), shared
by ``livernn render`` and ``livernn serve`` (see docs/DESIGN.md, "ABC interpreter: session
feel"). Each flag names the abc2midi 4.84 option that does the same.
"""

from __future__ import annotations

import argparse

from livernn import limits as L
from livernn.abc.state import InterpreterOptions

__all__ = ["add_feel_arguments", "backing_channels", "feel_options"]


def add_feel_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group(
        "session feel", "played as abc2midi plays by default; each can be turned off"
    )
    g.add_argument(
        "--plain",
        action="store_true",
        help="the notes as written: all of the below off (abc2midi -NGRA -NGUI, no R:)",
    )
    g.add_argument("--no-graces", action="store_true", help="grace notes silent (-NGRA)")
    g.add_argument("--no-backing", action="store_true", help="chord names not accompanied (-NGUI)")
    g.add_argument("--no-swing", action="store_true", help="R:hornpipe tunes not swung")
    g.add_argument("--no-stagger", action="store_true", help="chord notes together (chordattack 0)")
    g.add_argument("--broken-2-1", action="store_true", help="a>b at 2:1 instead of 3:1 (-CS)")
    g.add_argument("--harp", action="store_true", help="rolls repeat their note (-HARP)")
    g.add_argument("--no-fermatas", action="store_true", help="fermatas not held (-NFER)")
    g.add_argument(
        "--no-dynamics", action="store_true", help="!p!..!fff! and %%%%MIDI beat not heard"
    )
    g.add_argument(
        "--bass-channel",
        type=int,
        default=None,
        metavar="N",
        help="MIDI channel of the backing's bass (default: the next after the melody's)",
    )
    g.add_argument(
        "--chord-channel",
        type=int,
        default=None,
        metavar="N",
        help="MIDI channel of the backing's chords (default: the next after the bass)",
    )
    g.add_argument(
        "--bass-program", type=int, default=None, metavar="P", help="GM program of the bass"
    )
    g.add_argument(
        "--chord-program", type=int, default=None, metavar="P", help="GM program of the chords"
    )


def feel_options(args: argparse.Namespace, **base: object) -> InterpreterOptions:
    """The interpreter options the flags ask for (``base``: other options)."""
    if args.plain:
        return InterpreterOptions.plain(**base)
    changes: dict[str, object] = dict(base)
    if args.no_graces:
        changes["graces"] = False
    if args.no_backing:
        changes["backing"] = False
    if args.no_swing:
        changes["hornpipe"] = False
    if args.no_stagger:
        changes["chord_attack"] = 0
    if args.broken_2_1:
        changes["broken_2_1"] = True
    if args.no_dynamics:
        changes["dynamics"] = False
    if args.harp:
        changes["harp"] = True
    if args.no_fermatas:
        changes["fermatas"] = False
    return InterpreterOptions(**changes)  # type: ignore[arg-type]


def _next_channel(after: int, taken: set[int]) -> int:
    """The first channel (1..16) after ``after`` not in ``taken`` and not 10 (drums)."""
    for step in range(1, 17):
        ch = (after - 1 + step) % 16 + 1
        if ch != 10 and ch not in taken:
            return ch
    return after


def backing_channels(args: argparse.Namespace, melody: set[int]) -> tuple[int, int]:
    """(bass, chord) MIDI channels 1..16: the flags', else the next free after the melody's
    (as abc2midi gives its accompaniment the next free channels)."""
    taken = set(melody)
    top = max(melody) if melody else 1
    bass = args.bass_channel if args.bass_channel is not None else _next_channel(top, taken)
    L.CHANNEL.check(bass, "--bass-channel")
    taken.add(bass)
    chord = args.chord_channel
    if chord is None:
        chord = _next_channel(bass, taken)
    L.CHANNEL.check(chord, "--chord-channel")
    for p, name in ((args.bass_program, "--bass-program"), (args.chord_program, "--chord-program")):
        if p is not None:
            L.PROGRAM.check(p, name)
    return bass, chord
