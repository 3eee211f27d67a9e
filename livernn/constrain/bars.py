"""Bars, repeats and pickups for the constraint automaton (pure; see docs/DESIGN.md).

At ``meter`` level every bar holds exactly what the meter says, in ticks
(``tables.WHOLE`` to a whole note). A section (from the tune's start or a closing bar line
to the next closing one: ``||``, ``|]``, ``:|``, ``::``) may start with a pickup shorter
than a bar; the bar that closes the section then completes it, so that the two make one
full bar, as folk tunes are written and as abc2midi checks ("Bar 0 has 1 time units ... in
repeat"). Repeats and endings follow https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols
as abc2midi reads them: ``||`` or ``|]`` inside ``|: ... :|`` is refused ("Assuming
repeat"), a first ending closes with ``:|`` and a second one follows at once.
"""

from __future__ import annotations

from livernn.constrain import tables as T

_BAR_PREFIXES = T.prefixes(T.BARS)
_BAR_COMPLETIONS = {p: tuple(w for w in T.BARS if w.startswith(p)) for p in _BAR_PREFIXES}


class Bars:
    """The bar being filled, the section's pickup, the repeat and ending in force."""

    SLOTS = (
        "meter", "bar", "unit", "fill", "first_bar", "pickup", "ending", "in_repeat",
        "need2", "last_bar", "free", "after_bar", "may_pickup", "carry", "to_close", "gstep",
        "chords",
    )  # fmt: skip
    __slots__ = SLOTS

    def __init__(self, meter: bool) -> None:
        self.meter = meter  # count bars (``meter`` level), or only check the syntax
        self.bar = 0  # ticks in a bar (0: no countable meter)
        self.unit = T.WHOLE // 8  # ticks in the unit length
        self.gstep = 0  # ticks of a step of abc2midi's chord accompaniment (T.gchord_step)
        self.reset_bars()

    def reset_bars(self) -> None:
        self.fill = 0  # ticks written in the bar
        self.first_bar = True  # the bar is a section's first (it may be a pickup)
        self.pickup = 0  # ticks of the section's pickup
        self.ending = 0  # in a first (1) or second (2) ending
        self.in_repeat = False  # after |: until :|
        self.need2 = False  # after :| closing a first ending: [2 comes next
        self.last_bar = 0  # the last bar line: 0 none yet, 1 plain, 2 closing, 3 |]
        self.free = False  # this bar is not counted (a performer's text overfilled it)
        self.after_bar = False  # a bar line (and at most a space) was the last thing
        # only the tune's first section may start with a pickup (abc2midi counts a later
        # one as a short bar unless the layout is just so)
        self.may_pickup = True
        # a section that closed short (its pickup completed) is followed by a section whose
        # first bar is that pickup again: abc2midi adds the closing bar to the next one
        self.carry = 0
        # the tune is being steered to its end: set at a bar line past STEER_AT (never in
        # the middle of a bar, where what is written may no longer fit what is left)
        self.to_close = False
        # a chord name was written: abc2midi accompanies the tune, in steps of ``gstep``
        self.chords = False

    @property
    def counting(self) -> bool:
        return self.meter and self.bar > 0 and not self.free

    def room(self, ticks: int) -> bool:
        """Whether ``ticks`` more fit in the bar. Near the tune's end (``to_close``) a
        section with a pickup fills only what completes it, so that the closing bar line
        comes."""
        if self.first_bar and self.carry:
            top = self.carry
        elif self.to_close and self.pickup and self.fill <= self.bar - self.pickup:
            top = self.bar - self.pickup
        else:
            top = self.bar
        return not self.counting or self.fill + ticks <= top

    def add(self, ticks: int) -> None:
        self.fill += ticks

    def set_bar(self, meter: str) -> None:
        """The meter ``meter`` (``6/8``, ``C|`` ...) from here."""
        self.bar, self.gstep = T.meter_ticks(meter), T.gchord_step(meter)

    def set_meter(self, meter: str) -> None:
        """A meter change in the body (``M:`` line or ``[M:]``): bars are counted in it from
        here."""
        self.set_bar(meter)
        self.first_bar, self.pickup, self.carry = True, 0, 0

    def aligned(self, ticks: int) -> bool:
        """Whether ``ticks`` is whole steps of the chord accompaniment. A pickup must be once
        chord names are written: the bar that completes it ends the tune, and abc2midi plays
        a step's chord past a bar that ends inside the step ("Sustained notes beyond end of
        track", an error; its accompaniment only, so only with chord names)."""
        return not (self.counting and self.gstep) or ticks % self.gstep == 0

    def chord_name_ok(self) -> bool:
        """Whether a chord name may be written (the pickup in force is whole steps)."""
        return self.aligned(self.pickup) and self.aligned(self.carry)

    def field_ok(self, f: str, fin: bool) -> bool:
        """Whether the model may write a body field ``f`` (``K``, ``M``, ``L``) now."""
        if fin or self.fill:
            return False
        if f == "M":
            return self.first_bar and not self.pickup and not self.in_repeat and not self.ending
        return True

    def ending_ok(self, n: int, fin: bool) -> bool:
        """``[1`` (n = 1) right after a bar line, in a repeat."""
        ok = self.after_bar and self.in_repeat and not self.ending and not fin and not self.fill
        return n == 1 and ok

    def start_ending(self, n: int) -> None:
        self.ending, self.after_bar = n, False
        if n == 2:
            self.need2 = False

    def bar_viable(self, prefix: str, fin: bool, tied: bool = False) -> bool:
        """Whether some bar line starting with ``prefix`` may be written now."""
        words = _BAR_COMPLETIONS.get(prefix)
        return words is not None and any(self.bar_ok(w, fin, tied) for w in words)

    def bar_ok(self, tok: str, fin: bool, tied: bool = False) -> bool:
        """Whether bar line ``tok`` may be written now (``tied``: a tie crosses it, so only
        a plain bar line may)."""
        if tok not in T.CLOSING and tok not in ("|", "|1") or self.need2 or tied and tok != "|":
            return False
        e, rep = self.ending, self.in_repeat
        # :| without |: repeats from the tune's start or the last closing bar line (abc2midi:
        # "Assuming repeat", a warning; the interpreter plays it the same); an ending or ::
        # needs a |: (abc2midi: "found [1 or like before |:" is an error)
        if tok in ("::", "|1") and not rep:
            return False
        if tok == "|:" and (rep or e or fin) or tok == "::" and (e or fin):
            return False
        if tok == ":|2" and e != 1 or tok == ":|" and e == 2 or tok == "|1" and (e or fin):
            return False
        if tok in ("||", "|]") and (e == 1 or (rep and not e)):
            return False
        if tok == "|]" and (rep or e == 1):
            return False  # |] ends the tune (abc2midi miscounts music after one)
        fill, bar = self.fill, self.bar
        if fill == 0 and not self.free:
            return tok == "|:" and self.first_bar
        closing = tok in T.CLOSING
        if not self.counting:
            return not (fin and tok == "|" and not tied)
        target = bar - self.pickup if closing and self.pickup else bar
        if self.first_bar and self.carry:
            return tok == "|" and fill == self.carry  # the pickup the last section left
        if self.first_bar and not self.pickup and fill < bar:
            pickup = self.may_pickup and 2 * fill <= bar and (not self.chords or self.aligned(fill))
            return tok == "|" and pickup
        if fin and tok == "|" and not tied and fill == bar - self.pickup:
            return False  # at the end, a bar that can close the tune must
        return fill == target or fill > bar or 0 < target - fill < self.unit * T.GRID

    def bar_done(self, tok: str, fin: bool) -> None:
        closing = tok in T.CLOSING and not (tok == "|:" and self.fill == 0)
        first = self.counting and self.first_bar and not self.pickup and tok == "|"
        if first and 0 < self.fill < self.bar:
            self.pickup = self.fill
        if tok in ("|:", "::"):
            self.in_repeat = True
        elif tok == ":|":
            self.in_repeat = False
            self.need2 = self.ending == 1
        elif tok == ":|2":
            self.in_repeat, self.ending = False, 2
        elif tok == "|1":
            self.ending = 1
        elif tok in ("||", "|]"):
            self.ending = 0
        self.may_pickup = self.may_pickup and tok == "|:" and self.fill == 0
        if closing and not self.need2 and tok != ":|2":
            self.first_bar, self.pickup, self.carry = True, 0, self.pickup
        elif self.first_bar and self.carry and self.fill:
            self.first_bar, self.carry = False, 0
        elif not (tok == "|:" and self.fill == 0):
            self.first_bar = False
        self.last_bar = 3 if tok == "|]" else 2 if closing else 1
        self.fill, self.free, self.after_bar = 0, False, True
        self.to_close = fin

    def can_end(self, notes: int, need: int) -> bool:
        """Whether the tune may end here (a blank line)."""
        if not notes or need or self.in_repeat or self.ending or self.need2 or self.fill:
            return False
        if self.counting and self.last_bar == 1 and self.pickup:
            return False
        return self.last_bar > 0

    @property
    def final(self) -> bool:
        """After ``|]``: the tune ends with the line."""
        return self.last_bar == 3
