"""Repeat expansion, played the way abc2midi 4.84 plays repeats and endings.

Spec: https://abcnotation.com/wiki/abc:standard:v2.1#repeat_bar_symbols . abc2midi reads a
tune in two steps, and this module does both as the characters stream in:

1. Missing start repeats are assumed (abc2midi's ``fixreps``): a ``:|`` (or ``::``, or the
   first ``[1``) with no ``|:`` before it turns the last ``:|`` before it into ``::``, or
   the last ``||``, ``|]`` or ``[|`` after that ``:|`` into ``|:`` (or assumes ``|:`` at
   the tune start: a ``||`` before the first ``:|`` plays no part). After the tune's first
   ending, ``:|`` no longer assumes anything.
2. A small machine plays the bar lines: ``|:`` remembers where a section starts; ``:|`` on
   the first pass goes back there (pass 2); an ending ``[n`` is played on pass n and
   otherwise skipped, with what follows, up to the next ``:|``, ``|:``, ``||``, ``|]``,
   ``[|`` or ending (that bar line is skipped too); playing ending n lets a later ``:|`` go
   back once more.

Everything the tune has written so far is kept on a tape (an immutable linked list, so
copying the machine is O(1)); going back replays the tape at once with later onsets, so a
``:|`` emits the repeated notes together. Tape times are "written" beats (no repeats);
``shift`` maps them to played beats.
"""

from __future__ import annotations

# Bar kinds (abc2midi's feature names)
SINGLE, DOUBLE, THIN_THICK, THICK_THIN, BAR_REP, REP_BAR, DOUBLE_REP, PLAY_ON_REP = range(8)
_STOPS = frozenset((REP_BAR, BAR_REP, DOUBLE, THICK_THIN, THIN_THICK, PLAY_ON_REP))

MAX_TAPE = 20000  # entries kept per tune; a longer tune stops repeating (bounded memory)

Note = tuple[int, float, float]  # pitch, played onset, duration
# Tape entries: (0, pitch, written onset, duration) for a note, (1, kind, written beat,
# ending number) for a bar line, (2, chord code, written beat, 0) for a chord name (played
# back as marker notes for the backing, backing.py). The tape is a cons list, newest first.
Entry = tuple[int, int, float, float]
Tape = tuple[Entry, "Tape"] | None


def bar_kinds(sym: str) -> int:
    """The kind of a bar-line symbol such as ``|``, ``||``, ``:|``, ``|:``, ``::``."""
    if sym == "||:":  # abc2midi reads '||' and a stray ':'
        return DOUBLE
    if len(sym) > 1 and sym[0] == ":" and sym[-1] == ":":
        return DOUBLE_REP
    if sym[0] == ":":
        return REP_BAR
    if sym[-1] == ":":
        return BAR_REP
    if sym == "||":
        return DOUBLE
    if sym.startswith("["):
        return THICK_THIN
    if "]" in sym:
        return THIN_THICK
    return SINGLE


class RepeatMachine:
    """The tape, abc2midi's repeat fix-ups, and the pass machine that plays the tape."""

    __slots__ = (
        "tape", "n", "conv", "pc", "pass_", "expect", "maxpass", "save", "save_w",
        "shift", "skipping", "skip_w", "skipped", "f_expect", "f_nplays", "f_rep", "f_rep_kind",
        "f_rep_w", "overflow", "parts", "max_section", "marks",
    )  # fmt: skip

    def __init__(self, max_section: float = float("inf")) -> None:
        self.max_section = max_section  # a longer section (written beats) is not played again
        self.marks = False  # play back bar lines as markers (the backing follows them)
        self.tape: Tape = None
        self.n = 0
        self.conv: dict[int, int] = {}  # bar kinds changed by the fix-ups (never mutated)
        self.pc = 0  # next tape entry to play; == n when live
        self.pass_ = 1
        self.expect = 0
        self.maxpass = 2
        self.save = -1  # tape index of the section start (-1: the tune start)
        self.save_w = 0.0
        self.shift = 0.0  # played beat = written beat + shift
        self.skipping = False  # inside an ending that this pass does not play
        self.skip_w = 0.0
        # the written beats the last skipped ending covered: a note held open from inside it
        # (a broken rhythm waiting for its pair) is settled after the skip, and stays unheard
        self.skipped = (0.0, 0.0)
        self.f_expect = 0
        self.f_nplays = 0
        self.f_rep = -1  # where a missing |: would go (-1: the tune start)
        self.f_rep_kind = DOUBLE
        self.f_rep_w = 0.0
        self.overflow = False
        self.parts = False  # parts or voices: no assumed |: but one at each part/voice start

    def copy(self) -> RepeatMachine:
        new = RepeatMachine.__new__(RepeatMachine)
        new.tape, new.n, new.conv, new.pc = self.tape, self.n, self.conv, self.pc
        new.pass_, new.expect, new.maxpass = self.pass_, self.expect, self.maxpass
        new.save, new.save_w, new.shift = self.save, self.save_w, self.shift
        new.skipping, new.skip_w, new.overflow = self.skipping, self.skip_w, self.overflow
        new.skipped = self.skipped
        new.f_expect, new.f_nplays, new.f_rep = self.f_expect, self.f_nplays, self.f_rep
        new.f_rep_kind, new.f_rep_w = self.f_rep_kind, self.f_rep_w
        new.parts, new.max_section, new.marks = self.parts, self.max_section, self.marks
        return new

    def part_start(self, beat: float, out: list[Note]) -> None:
        """A part (``P:`` in the body of a tune with parts) or a voice starts: abc2midi
        assumes a ``|:`` here and assumes nothing else in the tune."""
        self.parts = True
        self.f_expect = 1
        self.bar(BAR_REP, beat, 0, out)

    def played(self, written: float) -> float:
        """The played beat of the written beat ``written`` (the cursor)."""
        return (self.skip_w if self.skipping else written) + self.shift

    # ------------------------------------------------------------------ input
    def note(self, pitch: int, onset: float, duration: float) -> float | None:
        """A note at written beat ``onset``: its played onset when it is heard now, None
        inside an ending this pass skips."""
        lo, hi = self.skipped
        played = None if self.skipping or lo <= onset < hi else onset + self.shift
        if self.overflow or self.n >= MAX_TAPE:
            self._append((0, pitch, onset, duration))
        else:  # (self._append, inlined: once per note)
            self.tape = ((0, pitch, onset, duration), self.tape)
            self.n += 1
            self.pc = self.n
        return played

    def chord(self, code: int, beat: float) -> float | None:
        """A chord name at written ``beat`` (kept for the backing's repeats): its played
        beat, None inside an ending this pass skips."""
        self._append((2, code, beat, 0.0))
        return None if self.skipping else beat + self.shift

    def bar(self, kind: int, beat: float, ending: int, out: list[Note]) -> None:
        """A bar line (or an ending when ``kind`` is PLAY_ON_REP) at written ``beat``."""
        kind = self._fix(kind, beat)
        idx = self.n
        self._append((1, kind, beat, float(ending)))
        if self.overflow:
            return
        self._exec(kind, beat, ending, idx, out)
        if self.pc != self.n:
            self._run(out)

    def _append(self, entry: Entry) -> None:
        if self.overflow:
            return
        if self.n >= MAX_TAPE:
            self.overflow = True  # stop repeating: drop the tape and play on as written
            self.tape = None
            self.skipping = False
            return
        self.tape = (entry, self.tape)
        self.n += 1
        self.pc = self.n

    # ------------------------------------------------------------------ abc2midi fixreps
    def _fix(self, kind: int, beat: float) -> int:
        if self.parts:
            return kind
        if kind in (DOUBLE, THIN_THICK, THICK_THIN):
            if self.f_rep_kind != DOUBLE or self.f_rep >= 0:  # only after a ':|' (abc2midi)
                self.f_rep, self.f_rep_kind, self.f_rep_w = self.n, DOUBLE, beat
        elif kind == BAR_REP:
            if self.f_expect:
                kind = DOUBLE_REP
            self.f_expect = 1
        elif kind == REP_BAR:
            if not self.f_expect and self.f_nplays < 1:
                self._assume_start()
            self.f_expect = 0
            self.f_rep, self.f_rep_kind, self.f_rep_w = self.n, REP_BAR, beat
        elif kind == PLAY_ON_REP:
            if self.f_nplays == 0 and not self.f_expect:
                self._assume_start()
            self.f_nplays += 1
        elif kind == DOUBLE_REP:
            if not self.f_expect:
                self._assume_start()
            self.f_expect = 1
        return kind

    def _assume_start(self) -> None:
        """Make the remembered bar a ``|:`` (``::`` if it was ``:|``); the machine has
        already played it, so it starts the section now, as that bar would have."""
        if self.f_rep_kind == DOUBLE:
            new = BAR_REP
        elif self.f_rep_kind == REP_BAR:
            new = DOUBLE_REP
        else:
            return
        if self.f_rep >= 0:
            conv = dict(self.conv)
            conv[self.f_rep] = new
            self.conv = conv
        self.f_rep_kind = new
        if not self.skipping:
            self.save = self.f_rep
            self.save_w = self.f_rep_w
            self.expect = 1
            self.pass_ = 1
            self.maxpass = 2

    # ------------------------------------------------------------------ the pass machine
    def _exec(self, kind: int, beat: float, ending: int, idx: int, out: list[Note]) -> None:
        if self.skipping:
            if kind in _STOPS:  # the skipped ending ends here; this bar is skipped too
                self.skipping = False
                self.shift -= beat - self.skip_w
                self.skipped = (self.skip_w, beat)
            return
        if kind == BAR_REP:
            self._start(idx, beat)
        elif kind == REP_BAR:
            if self.pass_ == 1:
                if self.expect:
                    self.pass_ += 1
                    self.expect = 0
                    self._jump(beat)
            elif self.pass_ < self.maxpass:
                self.expect = 0
                self.pass_ += 1
                self._jump(beat)
        elif kind == DOUBLE_REP:
            if self.pass_ > 1:
                self._start(idx, beat)
            elif not self.expect:
                self.expect = 1
                self.save, self.save_w, self.pass_ = idx, beat, 1
            else:
                self.pass_ += 1
                self._jump(beat)
        elif kind == PLAY_ON_REP:
            passnum = self.pass_ if (self.expect or self.pass_ > 1) else 1
            if ending != passnum:
                self.skipping = True
                self.skip_w = beat
            elif self.maxpass < 4:
                self.maxpass = self.pass_ + 1

    def _start(self, idx: int, beat: float) -> None:
        self.save, self.save_w = idx, beat
        self.expect = 1
        self.pass_ = 1
        self.maxpass = 2

    def _jump(self, beat: float) -> None:
        if beat - self.save_w > self.max_section:
            return  # too long to replay (live bound on how far ahead notes go): play on
        self.shift += beat - self.save_w
        self.pc = self.save + 1

    def _run(self, out: list[Note]) -> None:
        """Play the tape from ``pc`` to its end (a jump back: the repeated notes)."""
        while self.pc < self.n:
            start = self.pc
            entries: list[Entry] = []
            cell = self.tape
            for _ in range(self.n - start):
                entries.append(cell[0])  # type: ignore[index]
                cell = cell[1]  # type: ignore[index]
            entries.reverse()
            self.pc = self.n
            conv = self.conv
            for i, e in enumerate(entries):
                if e[0] == 0:
                    # a note held open across the section's |: (a broken rhythm waiting for
                    # its pair) is on the tape after it but began before it: not repeated
                    if not self.skipping and e[2] >= self.save_w - 1e-9:
                        out.append((e[1], e[2] + self.shift, e[3]))
                    continue
                if e[0] == 2:  # a chord name: a marker for the backing (backing.py)
                    if not self.skipping:
                        out.append((-3 - e[1], e[2] + self.shift, 0.0))
                    continue
                idx = start + i
                if self.marks and not self.skipping and e[1] != PLAY_ON_REP:
                    single = conv.get(idx, e[1]) == SINGLE  # a bar line: a backing marker
                    out.append((-1 if single else -2, e[2] + self.shift, 0.0))
                self._exec(conv.get(idx, e[1]), e[2], int(e[3]), idx, out)
                if self.pc != self.n:  # jumped again
                    break
