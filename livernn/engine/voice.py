"""One voice: a stream of generated text and the notes it makes, with its own behaviour.

A ``Voice`` owns its sampling state, its interpreter, the header it is asked to force
(``/livernn/key``, ``/livernn/meter``), the line it is writing, and where its tune sits on
the global beat line (``origin``). It knows nothing of the scheduler, the clock or the
outputs: the engine asks it for the next character, gives it characters, and places the
events it returns.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from livernn.abc import tunes
from livernn.abc.events import BASS, Bar, NoteEvent, TuneChange, TuneEnd, TuneStart
from livernn.budget import TokenBucket
from livernn.config import VoiceConfig
from livernn.constrain.automaton import Automaton, MaskCache, make
from livernn.constrain.tables import HORNPIPE_METERS
from livernn.engine.fork import Forks
from livernn.engine.listen import Ear
from livernn.sampling import SamplingParams, entropy_bits, sample

SEED_CHUNK = 64  # seed characters the model reads per engine iteration at most
TEXT_TAIL = 4000  # characters of the current tune kept per voice for the live view
BAR_MEMORY = 16  # bar lines remembered (to quantize a seed to the next one)


@dataclass(frozen=True, slots=True)
class Placed:
    """A note of a voice on the global beat line."""

    pitch: int
    velocity: int
    on: float
    off: float
    backing: int = 0  # abc.events MELODY, BASS or CHORD
    bits: float = 0.0  # the model's entropy at the characters that wrote it


class Voice:
    """One stream of generated text and the notes it makes."""

    def __init__(
        self,
        index: int,
        cfg: VoiceConfig,
        interpreter: Any,
        seeds_per_second: float,
        masks: MaskCache,
    ) -> None:
        self.index = index
        self.cfg = cfg
        self.params = SamplingParams(cfg.temperature, cfg.top_k, cfg.top_p).validate()
        self.rng = np.random.default_rng(cfg.rng_seed)
        self.interp = interpreter
        self.logits: np.ndarray | None = None
        self.unread = ""  # seed text the model has not read yet (read a chunk per tick)
        self.running = False
        self.origin = 0.0  # global beat of the current tune's beat 0
        self.floor = 0.0  # the next tune starts no earlier than this global beat
        self.forced: collections.deque[str] = collections.deque()
        # a key or meter asked for: at the next bar line (an inline field), or (``/next``)
        # in the next tune's header; in a header, either goes into it
        self.pending_key: str | None = None
        self.pending_meter: str | None = None
        self.bar_key: str | None = None
        self.bar_meter: str | None = None
        # (text, global beat) for a quantized seed; beat None: seeded while stopped
        self.pending_seed: tuple[str, float | None] | None = None
        # A seed that came faster than the voice's reseed budget: the latest one waits
        self.deferred_seed: str | None = None
        self.seed_budget = TokenBucket(seeds_per_second, burst=max(1.0, seeds_per_second / 4))
        self.line = ""  # the line being written
        self.in_header = False
        self.silent = 0  # characters since the last note
        self.bars: collections.deque[float] = collections.deque(maxlen=BAR_MEMORY)
        self.bar_beats = 4.0
        self.seed = cfg.seed
        self.title = ""
        self.key = ""
        self.meter = ""
        self.tune_tempo: float | None = None
        self.tunes = 0
        self.chars = 0
        self.notes = 0
        self.tail = ""  # the current tune's text (for the view)
        self.new_text: list[str] = []
        # what the sampler lets the model write (livernn/constrain), from the text it reads
        self.masks = masks
        # confidence: the model's entropy (bits) summed over the characters it sampled since
        # the last note was placed; that note carries it, and the view shows the last one
        self.bits = 0.0
        self.last_bits = 0.0
        # a state you can fork (engine/fork.py): the bar lines it wrote, and its loop
        self.forks = Forks()
        # call and response (engine/listen.py): the performer's phrase being heard
        self.ear = Ear(cfg.midi_in)
        self.listening = False  # silent while the performer plays (listen mode)
        self.bar_written: float | None = None  # a bar line the last feed placed (global beat)
        # in time with the band (livernn/sync): where tunes start, and the notes of a new
        # tune held until its first bar line says where the grid puts them (its pickup)
        self.grid: Callable[[float], float] | None = None
        self.held: list[Placed] | None = None
        self.ready: list[Placed] = []  # held notes placed on the grid, for the scheduler
        self.catching_up = False  # the beat line jumped ahead: late notes are skipped
        self._soon: Callable[[], float] = lambda: -math.inf
        self.constraint: Automaton | None = None
        self.constrain(cfg.constrain)

    # -- controls ----------------------------------------------------------------------

    def retune(self, **fields: Any) -> None:
        """Change sampling fields (temperature, top_k, top_p); ConfigError when invalid."""
        self.params = replace(self.params, **fields).validate()
        self.cfg = replace(self.cfg, **fields)

    def constrain(self, level: str) -> None:
        """Constrain from the next character: the automaton reads the current tune's text
        so far to know where the bar stands (ConfigError for an unknown level)."""
        self.constraint = make(level, self.masks)
        self.cfg = replace(self.cfg, constrain=level)
        if self.constraint is not None and self.tail:
            self.constraint.feed(self.tail)

    def channel_of(self, backing: int) -> int:
        """The MIDI channel of a note: the voice's, or its bass or chord channel."""
        if not backing:
            return self.cfg.channel
        return self.cfg.bass_channel if backing == BASS else self.cfg.chord_channel

    def channels(self) -> tuple[int, ...]:
        """Every channel the voice may sound on (panic silences them all)."""
        return (self.cfg.channel, self.cfg.bass_channel, self.cfg.chord_channel)

    def programs(self) -> list[tuple[int, int]]:
        """(channel, program) to send at start: the voice's, its bass's, its chords'."""
        c = self.cfg
        pairs = ((c.channel, c.program), (c.bass_channel, c.bass_program))
        pairs += ((c.chord_channel, c.chord_program),)
        return [(ch, p) for ch, p in pairs if p is not None]

    def reshape(self, **fields: Any) -> None:
        """Change MIDI shaping fields of the config (channel, program, velocity, transpose)."""
        self.cfg = replace(self.cfg, **fields)

    def reseed(self, text: str, at: float) -> None:
        """Forget the tune: the interpreter restarts, the model will read ``text`` (the
        engine resets the model state), and the music restarts at global beat ``at``."""
        self.pending_seed = None
        self.deferred_seed = None
        self.held = None
        self.ready.clear()
        self.catching_up = False
        self.forks.loop = None  # a new seed ends a loop (the ring stays: rewind still works)
        self.seed = text
        self.interp.reset()
        self.origin = self.floor = at
        self.forced.clear()
        self.line = ""
        self.in_header = False
        self.silent = 0
        self.tail = ""
        self.bars.clear()
        self.logits = None
        self.unread = text
        self.constraint = make(self.cfg.constrain, self.masks)

    def take_unread(self, n: int) -> str:
        chunk, self.unread = self.unread[:n], self.unread[n:]
        return chunk

    # -- writing ---------------------------------------------------------------------------

    def write_beat(self) -> float:
        """Global beat up to which the voice's notes are all known (a note still held open
        by the interpreter is not: writing goes on until it is)."""
        return self.origin + float(getattr(self.interp, "settled", self.interp.position))

    def next_char(self, chars: str) -> str:
        """The next character: forced text first (primes, forced headers), else sampled
        from the logits. A key or meter asked for goes into the header being written
        (``M:`` before ``K:``, as ABC wants) or, in the body, right after the next bar line
        as an inline field (``[M:6/8][K:Dmix]``; the sampled character is dropped: the model
        reads the field and writes on from it)."""
        if self.forced:
            return self.forced.popleft()
        assert self.logits is not None
        mask = None if self.constraint is None else self.constraint.mask()
        c = chars[int(sample(self.logits, self.params, self.rng, mask))]
        self.bits += entropy_bits(self.logits)
        if self.in_header:
            if self.line == "" and c in "MKR":
                c = self._header_field(c)
        elif (self.bar_key or self.bar_meter) and c not in "|:]12[\n" and self._after_bar():
            field = (f"[M:{self.bar_meter}]" if self.bar_meter else "") + (
                f"[K:{self.bar_key}]" if self.bar_key else ""
            )
            self.bar_key = self.bar_meter = None
            self.forced.extend(field[1:])
            c = field[0]
        return c

    def _header_field(self, c: str) -> str:
        """The model starts an ``M:``, ``K:`` or ``R:`` line: write the asked meter and key."""
        meter = self.bar_meter or self.pending_meter
        key = self.bar_key or self.pending_key
        if c == "M" and meter is not None:
            self.forced.extend(f":{meter}\n")
            self.pending_meter = self.bar_meter = None
        elif c == "K" and meter is not None:  # no M: line yet: it goes first
            c = "M"
            self.forced.extend(f":{meter}\n" + (f"K:{key}\n" if key is not None else "K"))
            self.pending_meter = self.bar_meter = None
            if key is not None:
                self.pending_key = self.bar_key = None
        elif c == "K" and key is not None:
            self.forced.extend(f":{key}\n")
            self.pending_key = self.bar_key = None
        elif c == "R" and meter is not None and meter not in HORNPIPE_METERS:
            # abc2midi refuses R:hornpipe in such a meter: the meter goes first, so the
            # constraint knows it when the R: line is written
            c = "M"
            self.forced.extend(f":{meter}\nR")
            self.pending_meter = self.bar_meter = None
        return c

    def _after_bar(self) -> bool:
        """The text so far ends with a bar line (``|``, ``:|``, ``||``, ``|:``, ``::``; not
        ``|]``), maybe a space or a line break after it, and the tune has not ended."""
        t = self.tail
        body = t.rstrip(" \n")
        if "\n\n" in t[len(body) :]:
            return False
        return body.endswith("|") or body.endswith("|:") or body.endswith("::")

    def track(self, text: str) -> None:
        """Follow the lines of the text (header or body, the tune's text for the view)."""
        self.chars += len(text)
        self.new_text.append(text)
        if self.constraint is not None:
            self.constraint.feed(text)
        for c in text:
            if c == "\n":
                if tunes.starts_tune(self.line):
                    self.in_header = True
                elif self.line.startswith("K:"):
                    self.in_header = False
                self.line = ""
            else:
                self.line += c
                if self.line == tunes.TUNE_START:
                    self.tail = ""
        self.tail = (self.tail + text)[-TEXT_TAIL:]
        self.silent += len(text)

    def take_text(self) -> str:
        text = "".join(self.new_text)
        self.new_text.clear()
        return text

    # -- placing events on the global beat line --------------------------------------------

    def place(
        self, ev: Any, playhead: float, soon: Callable[[], float], max_beats: float
    ) -> Placed | None:
        """Apply one interpreter event; a note comes back placed on the global beat line.
        ``soon()``: the earliest beat a new note can still be sent on time (a note that
        would be late shifts the tune instead, so time is kept; not "now": a note due at
        once would be sent late); ``max_beats``: the note cap."""
        self._soon = soon
        if isinstance(ev, NoteEvent):
            self.silent = 0
            g = self.origin + ev.onset
            if g < playhead and self.catching_up:  # the beat line jumped over it (sync)
                return None
            self.catching_up = False
            if g < playhead and self.held is None:  # late (a long header, a slow step): shift
                at = soon()
                self.origin += at - g
                g = at
            self.notes += 1
            off = g + min(max(ev.duration, 1e-3), max_beats)
            if not ev.backing:
                self.last_bits = self.bits
            placed = Placed(ev.pitch, ev.velocity, g, off, ev.backing, self.bits)
            if self.held is not None:
                self.held.append(placed)
                if ev.onset >= self.bar_beats:  # no bar line in the first bar: start on it
                    self._on_grid(0.0)
                return None
            return placed
        if isinstance(ev, TuneStart):
            self.origin = self.floor if self.floor >= playhead else max(self.floor, soon())
            if self.held:
                self._on_grid(0.0)
            self.held = [] if self.grid is not None else None
            self.bars.clear()
            self.tunes += 1
            self.title, self.key, self.meter, self.tune_tempo = (
                ev.title, ev.key, ev.meter, ev.tempo,
            )  # fmt: skip
            if ev.bar_beats and ev.bar_beats > 0:
                self.bar_beats = float(ev.bar_beats)
        elif isinstance(ev, TuneEnd):
            if self.held is not None:
                self._on_grid(0.0)
            self.floor = self.origin + ev.beat
        elif isinstance(ev, Bar):
            if self.held is not None:
                self._on_grid(ev.beat)
            self.bars.append(self.origin + ev.beat)
            self.bar_written = self.bars[-1]
        elif isinstance(ev, TuneChange):
            if ev.field == "K":
                self.key = ev.value
            elif ev.field == "M":
                self.meter = ev.value
            elif ev.field == "Q":
                self.tune_tempo = ev.tempo
        return None

    def _on_grid(self, first_bar: float) -> None:
        """A new tune's first bar line is at tune beat ``first_bar``: move the tune (and the
        notes held so far, its pickup) so that it lands on the grid, no earlier than planned."""
        held, self.held = self.held or [], None
        if self.grid is None:
            self.ready.extend(held)
            return
        bar = self.origin + first_bar
        if held:  # the pickup's first note must still be sent on time
            bar = max(bar, self._soon() + bar - min(p.on for p in held))
        shift = self.grid(bar) - first_bar - self.origin
        self.origin += shift
        self.ready.extend(replace(p, on=p.on + shift, off=p.off + shift) for p in held)

    def take_ready(self) -> list[Placed]:
        ready, self.ready = self.ready, []
        return ready

    def bar_on_grid(self, beat: float) -> float:
        """The first bar line at or after ``beat`` on the grid of the last bar line placed
        before it (a replayed section places no bar lines of its own)."""
        before = [b for b in self.bars if b <= beat]
        base = max(before) if before else self.origin
        n = math.ceil((beat - base) / self.bar_beats - 1e-9)
        return base + max(n, 0) * self.bar_beats

    def cut_to(self, at: float) -> None:
        """What is placed after global beat ``at`` was dropped (the engine cut it): what the
        interpreter gives next lands at ``at``."""
        self.origin -= self.write_beat() - at
        self.floor = min(self.floor, at)
        while self.bars and self.bars[-1] > at:
            self.bars.pop()

    def rest(self, horizon: float, silent_chars: int) -> None:
        """Headers or garbage with no notes for ``silent_chars``: let the playhead move on."""
        if self.silent > silent_chars:
            self.silent = 0
            self.origin += max(0.0, horizon - self.write_beat()) + 1.0

    def next_bar(self, playhead: float) -> float:
        """The global beat of the next bar line at or after the playhead."""
        ahead = [b for b in self.bars if b >= playhead]
        if ahead:
            return min(ahead)
        base = self.bars[-1] if self.bars else self.origin
        n = math.ceil((playhead - base) / self.bar_beats)
        return base + max(n, 0) * self.bar_beats

    def describe(self) -> dict[str, Any]:
        return {
            "voice": self.index + 1,
            "running": self.running,
            "channel": self.cfg.channel,
            "backing": int(self.cfg.backing),
            "temperature": self.params.temperature,
            "top_k": self.params.top_k,
            "top_p": self.params.top_p,
            "constrain": self.cfg.constrain,
            "bits": self.last_bits,
            "title": self.title,
            "key": self.key,
            "meter": self.meter,
            "tune_tempo": self.tune_tempo,
            "tunes": self.tunes,
            "chars": self.chars,
            "notes": self.notes,
            "skipped": int(getattr(self.interp, "skipped", 0)),
            "text": self.tail,
        }
