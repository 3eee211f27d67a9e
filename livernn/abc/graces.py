"""Grace notes ``{g}A``, ``{gAg}A``, ``{/g}A``, as abc2midi 4.84 plays them by default (see
docs/DESIGN.md, "ABC interpreter: session feel"). Pure functions.

abc2midi (store.c ``applygrace_new``, the default unless ``%%MIDI grace a/b`` is given;
``-NGRA`` drops them): each grace note lasts its written length divided by the grace
divider (4 by default, ``%%MIDI gracedivider b``), the group is played from the onset of
the following note (the host, a note, chord or rest), and the host starts that much later
and is that much shorter. When the group is as long as the host or longer, the graces are
dropped; a bar line ``|`` or ``||`` between the group and its host drops them too. The
slash of an acciaccatura changes nothing. Accidentals written in a group hold to the end of
the bar, as on any note; of a chord in a group only its first note counts for the length.
"""

from __future__ import annotations

from livernn.abc.between import _NOTE_BASE

__all__ = ["GraceNote", "parse_graces", "split_host"]

#: (letter 0..6, MIDI pitch of the C of its octave, written accidental or None, length in
#: unit note lengths, counts: False for the second and later notes of a chord)
GraceNote = tuple[int, int, int | None, float, bool]

_ACC = {"^": 1, "_": -1, "=": 0}
_MAX_GRACES = 16


def parse_graces(text: str) -> list[GraceNote]:
    """The notes of a grace group's text (what is between the braces); unreadable
    characters are passed over."""
    out: list[GraceNote] = []
    i, n = 0, len(text)
    in_chord = False
    first_in_chord = False
    while i < n and len(out) < _MAX_GRACES:
        c = text[i]
        if c == "[":
            in_chord, first_in_chord = True, True
            i += 1
            continue
        if c == "]":
            in_chord = False
            i += 1
            continue
        acc: int | None = None
        while c in _ACC and i < n:
            acc = (acc or 0) + _ACC[c] if c != "=" else 0
            i += 1
            c = text[i] if i < n else ""
        nb = _NOTE_BASE.get(c)
        if nb is None:
            i += 1
            continue
        letter, base = nb
        i += 1
        while i < n and text[i] in "',":
            base += 12 if text[i] == "'" else -12
            i += 1
        num_s = ""
        while i < n and text[i].isdigit():
            num_s += text[i]
            i += 1
        units = float(int(num_s[:3])) if num_s else 1.0
        while i < n and text[i] == "/":
            i += 1
            den_s = ""
            while i < n and text[i].isdigit():
                den_s += text[i]
                i += 1
            units /= float(int(den_s[:3])) if den_s and int(den_s[:3]) > 0 else 2.0
        counts = not in_chord or first_in_chord
        first_in_chord = False
        if units > 0:
            out.append((letter, base, acc, units, counts))
    return out


def split_host(
    graces: tuple[tuple[int, float], ...], onset: float, dur: float
) -> tuple[list[tuple[int, float, float]], float, float]:
    """The grace notes ``(pitch, beats)`` played before a host at ``onset`` lasting ``dur``:
    ``(notes (pitch, onset, duration), host onset, host duration)``. A chord in the group
    is given as its notes, the second and later with 0 beats (they sound with the first)."""
    total = 0.0
    for _, beats in graces:
        total += beats
    if total >= dur - 1e-9:
        return [], onset, dur  # abc2midi: "Grace sequence exceeds host note", dropped
    notes: list[tuple[int, float, float]] = []
    t = onset
    last = 0.0
    for pitch, beats in graces:
        if beats > 0:
            notes.append((pitch, t, beats))
            last = beats
            t += beats
        else:  # another note of a chord in the group: with the previous one
            notes.append((pitch, t - last, last))
    return notes, round(onset + total, 9), dur - total
