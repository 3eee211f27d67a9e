"""``%%MIDI`` directives that change how a tune sounds, read as abc2midi 4.84 reads them (in
the header, or on a line of their own in the body, from where they are written; see
docs/DESIGN.md, "ABC interpreter: session feel"). A mixin of ``AbcInterpreter``. Pure code.

- ``ratio b a``: ``x>y`` plays x for b and y for a parts (abc2midi doubles both when
  ``a + b % 2 == 1``, its own precedence, and divides by ``(a + b) // 2``);
- ``chordattack n``: n ticks (480 a beat) between the onsets of a chord's notes;
- ``gracedivider b``: a grace note lasts its written length / b;
- ``gchord PATTERN`` (``f`` bass, ``c`` chord, ``b`` both, ``z`` rest, each with an optional
  length: ``f2c2``), ``gchordon``, ``gchordoff``, ``chordvol v``, ``bassvol v``: the backing;
- ``beat a b c n``: the velocities of the bar's first note, of notes every n beats of the
  meter, of the others; ``beatmod n`` adds n to the three.

Others (programs, drums, drones, transposition ...) are not read.
"""

from __future__ import annotations

from livernn.abc.backing import parse_pattern
from livernn.abc.tables import Meter


def _ints(words: list[str]) -> list[int]:
    out = []
    for w in words:
        digits = w.lstrip("-")
        if not digits.isdigit():
            break
        out.append(int(w[:6]))
    return out


class DirectiveReader:
    """Reads one ``%%MIDI`` directive into the interpreter's state."""

    _directives_on: bool
    _tune_ratio: tuple[float, float]
    _attack: float
    _grace_div: float
    _dyn: tuple[int, int, int, int] | None
    _velocity: int
    _bk_pat: tuple[tuple[str, float, float], ...]
    _bk_slot: float
    _bk_sound: bool
    _bk_vel: tuple[int, int]
    _meter: Meter

    def _directive(self, text: str) -> None:
        """``text``: what follows ``%%MIDI``."""
        if not self._directives_on:
            return
        words = text.split()
        if not words:
            return
        cmd, nums = words[0], _ints(words[1:])
        if cmd == "ratio" and len(nums) >= 2 and nums[0] > 0 and nums[1] > 0:
            b, a = nums[0], nums[1]
            if a + b % 2 == 1:
                a, b = 2 * a, 2 * b
            half = (a + b) // 2
            if half > 0:
                self._tune_ratio = (b / half, a / half)
        elif cmd == "chordattack" and nums and 0 <= nums[0] <= 480:
            self._attack = nums[0] / 480.0
        elif cmd == "gracedivider" and nums and 2 <= nums[0] <= 64:
            self._grace_div = float(nums[0])
        elif cmd == "gchord" and len(words) > 1:
            pattern = parse_pattern(words[1], self._meter.bar_beats)
            if pattern is not None:
                self._bk_pat, self._bk_slot = pattern
        elif cmd in ("gchordon", "gchordoff"):
            self._bk_sound = cmd == "gchordon"
        elif cmd in ("chordvol", "bassvol") and nums and 0 <= nums[0] <= 127:
            bass, chord = self._bk_vel
            self._bk_vel = (nums[0], chord) if cmd == "bassvol" else (bass, nums[0])
        elif cmd == "beat" and len(nums) >= 3:
            n = nums[3] if len(nums) > 3 and nums[3] > 0 else 0  # 0: the bar (abc2midi)
            a, b, c = (max(0, min(127, x)) for x in nums[:3])
            self._dyn = (a, b, c, n)
        elif cmd == "beatmod" and nums:
            v = self._velocity
            a, b, c, n = self._dyn or (v + 25, v + 15, v, -1)
            a, b, c = (max(0, min(127, x + nums[0])) for x in (a, b, c))
            self._dyn = (a, b, c, n)
