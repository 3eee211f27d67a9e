"""How ornaments and articulations sound, as abc2midi 4.84 plays them (measured, see
tests/test_abc_golden.py). Pure functions of one note.

- staccato ``.``: the note sounds for half its length (the beat position is unchanged);
- fermata ``H`` / ``!fermata!``: the note lasts twice as long (the position moves too);
- trill ``T`` / ``!trill!``: alternating upper neighbour and main note, starting above, in
  n = max(1, floor(length / (1/8 beat))) equal steps;
- roll ``~`` / ``!roll!`` is ``~`` only: on a note three units long, main (one unit), upper
  (1/4 unit), main (3/4), lower (1/4), main (3/4); otherwise upper (1/4 unit) then main.
"""

from __future__ import annotations

STACCATO = 1
ROLL = 2
TRILL = 4
FERMATA = 8

TRILL_STEP = 0.125  # beats

Note = tuple[int, float, float]


def trill(pitch: int, upper: int, onset: float, dur: float) -> list[Note]:
    n = int(dur / TRILL_STEP + 1e-9)
    if n < 2:
        return [(pitch, onset, dur)]
    step = dur / n
    return [(upper if i % 2 == 0 else pitch, onset + i * step, step) for i in range(n)]


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
