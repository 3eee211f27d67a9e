"""How ornaments and articulations sound, as abc2midi 4.84 plays them (measured, see
tests/test_abc_golden.py). Pure functions of one note.

- staccato ``.``: the note sounds for half its length (the beat position is unchanged);
- fermata ``H`` / ``!fermata!``: the note lasts twice as long (the position moves too);
- trill ``T`` / ``!trill!``: alternating upper neighbour and main note, starting above, in
  n = floor(length / step) equal steps; the step is 1/8 beat at 75..149 quarter notes per
  minute (the tune's Q:, 120 when none), halved below and doubled above each octave of
  tempo, so that it lasts 50..100 ms;
- roll ``~`` / ``!roll!`` is ``~`` only: on a note three units long, main (one unit), upper
  (1/4 unit), main (3/4), lower (1/4), main (3/4); otherwise upper (1/4 unit) then main.
  With abc2midi's ``-HARP`` (``harp_roll``) the roll repeats the main note: on three units
  1/2, 1/2, 2 units; otherwise a quarter, a quarter and half of the note.
"""

from __future__ import annotations

STACCATO = 1
ROLL = 2
TRILL = 4
FERMATA = 8

Note = tuple[int, float, float]


def trill_step(tempo: float) -> float:
    """Beats per trill note at ``tempo`` quarter notes per minute."""
    step = 0.125
    t = max(1.0, min(tempo, 4000.0))
    while t >= 150.0:
        t /= 2.0
        step *= 2.0
    while t < 75.0:
        t *= 2.0
        step /= 2.0
    return step


def trill(pitch: int, upper: int, onset: float, dur: float, step: float = 0.125) -> list[Note]:
    n = int(dur / step + 1e-9)
    if n < 2:
        return [(pitch, onset, dur)]
    step = dur / n
    return [(upper if i % 2 == 0 else pitch, onset + i * step, step) for i in range(n)]


def harp_roll(pitch: int, onset: float, dur: float, unit: float) -> list[Note]:
    """A roll as abc2midi -HARP plays it (store.c makeharproll, makeharproll3)."""
    if abs(dur - 3.0 * unit) < 1e-9:
        parts = (unit / 2.0, unit / 2.0, 2.0 * unit)
    else:
        parts = (dur / 4.0, dur / 4.0, dur / 2.0)
    out, t = [], onset
    for d in parts:
        out.append((pitch, t, d))
        t += d
    return out


def roll(pitch: int, upper: int, lower: int, onset: float, dur: float, unit: float) -> list[Note]:
    q = unit / 4.0
    if abs(dur - 3.0 * unit) < 1e-9:
        t = onset
        out = []
        for p, d in ((pitch, unit), (upper, q), (pitch, 3 * q), (lower, q), (pitch, 3 * q)):
            out.append((p, t, d))
            t += d
        return out
    if dur <= q + 1e-9:
        return [(pitch, onset, dur)]
    return [(upper, onset, q), (pitch, onset + q, dur - q)]
