"""The engine: voices + scheduler + outputs, driven by ``tick()``; no thread of its own.

``tick()`` does one iteration (send what is due, apply commands, generate up to the
lookahead horizon, send again) and says when it wants to run next, so tests drive it on a
``FakeClock`` and ``livernn.server.Server`` runs it on a thread.

Beats: every voice writes on one global beat line (quarter notes); the tempo map turns beats
into absolute times on one monotonic clock, so a tempo change re-anchors at the current beat
and applies from the next note. The interpreter's tune-local beats are placed on the global
line by each voice's ``origin``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from livernn.abc.events import TuneStart
from livernn.clock import Clock, MonotonicClock, TempoMap
from livernn.config import EngineConfig
from livernn.constrain.automaton import MaskCache
from livernn.engine import commands, fork, listen, status, sync
from livernn.engine.early import Early
from livernn.engine.inbox import Inbox
from livernn.engine.interfaces import StepModel, Subscriptions, make_interpreter, tune_info
from livernn.engine.sending import Sending
from livernn.engine.voice import SEED_CHUNK, Voice
from livernn.errors import LivernnError
from livernn.osc import Command
from livernn.outputs.base import Monitor, NoteSink
from livernn.scheduler import Scheduler, Sounding

log = logging.getLogger(__name__)

Reply = Callable[[tuple[str, int], str, Sequence[Any]], None]


class Engine(Sending):
    """Voices + scheduler + outputs, driven by ``tick()``. Not thread-safe except ``submit``.

    ``outputs``: note sinks and monitors (an output may be both); ``reply``: how replies
    reach a sender (the server's rate-limited socket); ``subscriptions``: the OSC echo."""

    def __init__(
        self,
        model: StepModel,
        outputs: Sequence[NoteSink | Monitor],
        config: EngineConfig,
        clock: Clock | None = None,
        reply: Reply | None = None,
        subscriptions: Subscriptions | None = None,
        interpreter_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.config = config.validate()
        if model.voices != len(config.voices):
            raise LivernnError(
                f"the model has {model.voices} voices, the config {len(config.voices)}"
            )
        self.model = model
        self.vocab = model.vocab
        self.sinks = [o for o in outputs if isinstance(o, NoteSink)]
        self.monitors = [o for o in outputs if isinstance(o, Monitor)]
        self._early_sinks = [s for s in self.sinks if s.early]  # told ahead (OSC bundles out)
        self.clock_sinks = [s for s in self.sinks if s.takes_clock]  # --clock-out
        self.early = Early() if self._early_sinks else None
        self.clock = clock or MonotonicClock()
        self.reply = reply
        self.subscriptions = subscriptions
        self.commands = Inbox(config.command_queue)
        self.scheduler = Scheduler()
        self.sounding = Sounding()
        self.tempo = TempoMap(time=self.clock.now(), beat=0.0, bpm=config.tempo)
        factory = interpreter_factory or (lambda: make_interpreter(self.config))
        self.bookmarks: dict[str, dict[int, fork.Snapshot]] = {}  # name -> voice -> state
        self.heard = listen.queue()  # the performer's keys (--midi-in), from any thread
        self.ignored: set[int] = set()  # pitches heard that were our own notes coming back
        self.thru: dict[int, int] = {}  # --midi-thru: pitch -> its id in ``sounding``
        self.thru_ids = itertools.count(-1, -1)  # below the scheduler's ids
        self.masks = MaskCache(self.vocab.chars)  # one cache of constraint masks for all voices
        self.voices = [
            Voice(i, vc, factory(), config.seeds_per_second, self.masks)
            for i, vc in enumerate(config.voices)
        ]
        self.sched_errors: collections.deque[float] = collections.deque(maxlen=100_000)
        self.sched_voices: collections.deque[int] = collections.deque(maxlen=100_000)  # whose
        self.clock_errors: collections.deque[float] = collections.deque(maxlen=100_000)
        self.sync = sync.Sync(config.sync)  # in time with the band (engine/sync.py)
        self._delayed: list[tuple[float, int, Any, str, tuple]] = []  # engine/sending.py
        self.errors = 0
        self._read_cost = 1e-4  # seconds per seed character read by the model (measured)
        self.closed = False
        self._last_status = -math.inf
        self._failed_outputs: set[str] = set()
        self._failures = 0  # generation failures in a row
        self._backoff = 0.0
        self._paused_until = -math.inf
        self._suspended_beat: float | None = None
        self._chars = self.vocab.chars
        self._want_status = any(type(m).status is not Monitor.status for m in self.monitors)
        for vc in config.voices:  # refuse an unknown character before anything plays
            self.vocab.encode(vc.seed)
        now = self.clock.now()
        for v in self.voices:
            for ch, prog in v.programs():
                self.program(now, ch, prog)
            v.running = config.autostart
            self.seed(v, v.cfg.seed, self.tempo.beat_at(now))
        if config.sync.clock_out and config.autostart:
            sync.clock_start(self, self.tempo.beat_at(now))

    # -- the loop --------------------------------------------------------------------------

    def submit(self, cmd: Command) -> bool:
        """Queue a command (any thread); False when the queue is full."""
        return self.commands.put(cmd)

    def tick(self) -> tuple[float, bool]:
        """One iteration. Returns (when to run next, whether that is a note deadline that
        deserves a precise wake-up)."""
        if self.sync.source is not None:
            try:
                sync.poll(self)
            except Exception as e:  # a broken sync source must not stop the show
                log.error("%s failed (%s): keeping time alone", self.sync.source.name, e)
                sync.attach(self, None)
        self._send_due()
        self._apply_commands()
        if self.heard or any(v.ear.tr is not None for v in self.voices):
            listen.hear_all(self)
        if self.clock.now() >= self._paused_until:
            try:
                if self._generate():
                    self._failures = 0
            except Exception as e:  # a model or interpreter failure must not stop the show
                self._recover(e)
        self._send_due()
        now = self.clock.now()
        if now - self._last_status >= self.config.status_interval:
            self._last_status = now
            self._each(self.sinks, "tick", lambda s: s.tick(now))
            if self._want_status:
                info = self.status()
                self._each(self.monitors, "status", lambda m: m.status(now, info))
        deadline = self._next_deadline()  # notes, clock ticks, timed commands, early notes
        oldest = self.sounding.oldest()
        if oldest is not None:  # a note stretched by a slower tempo ends at the cap, on time
            deadline = min(deadline, oldest + self.config.max_note)
        wake = now + self.config.tick
        if self._wants_chars():
            wake = now if deadline - now > self.config.guard else deadline
        if deadline <= wake:
            return deadline, True
        return wake, False

    def run_until(self, t_end: float) -> None:
        """Drive the engine on its (fake) clock until ``t_end`` (tests and simulations)."""
        while True:
            wake, _ = self.tick()
            if wake >= t_end:
                self.clock.sleep_until(t_end)
                self.tick()
                return
            self.clock.sleep_until(wake)

    def wait(self, wake: float, precise: bool) -> None:
        """Sleep until ``wake``, returning early when a command arrives (real clock)."""
        spin = getattr(self.clock, "spin", 0.0) if precise else 0.0
        remaining = wake - self.clock.now() - spin
        if remaining > 0 and self.commands.wait(remaining):
            return
        if precise:
            self.clock.sleep_until(wake)

    def playhead(self) -> float:
        return self.tempo.beat_at(self.clock.now())

    # -- generation ------------------------------------------------------------------------

    def _soon(self) -> float:
        """The earliest beat a newly placed note can still be sent on time."""
        return self.tempo.beat_at(self.clock.now() + 2 * self.config.guard + self.lead())

    def _horizon(self, now: float) -> float:
        return self.tempo.beat_at(now + self.config.lookahead + self.lead())

    def _limit(self, v: Voice, horizon: float) -> float:
        if v.pending_seed is not None and v.pending_seed[1] is not None:
            return min(horizon, v.pending_seed[1])
        return horizon

    def _wants_chars(self) -> bool:
        if self.clock.now() < self._paused_until:
            return False
        h = self._horizon(self.clock.now())
        return any(
            v.unread or (v.running and not v.listening and self._behind(v, h)) for v in self.voices
        )

    def _behind(self, v: Voice, horizon: float) -> bool:
        """The voice has to write on: its notes are not known up to the horizon, or it holds
        a new tune's pickup until its first bar line puts it on the band's grid."""
        return v.write_beat() < self._limit(v, horizon) or v.held is not None

    def _generate(self) -> int:
        """Write characters up to the horizon; the number of model steps taken."""
        now = self.clock.now()
        horizon = self._horizon(now)
        playhead = self.tempo.beat_at(now)
        for v in self.voices:
            ps = v.pending_seed
            if v.running and ps is not None and ps[1] is not None and horizon >= ps[1]:
                self.seed(v, ps[0], ps[1])
            elif v.running and v.deferred_seed is not None and v.seed_budget.take(now):
                self.seed(v, v.deferred_seed, playhead)
        for v in self.voices:
            if v.unread:
                self._read_seed(v)
        steps = 0
        while steps < self.config.steps_per_tick:
            active = [
                v
                for v in self.voices
                if v.running and not v.unread and not v.listening and self._behind(v, horizon)
            ]
            if not active:
                break
            # Leave time to send the next note on time (a late voice catches up by shifting
            # its tune, so it need not delay the others).
            if self.clock.now() > self._next_deadline() - self.config.guard:
                break
            steps += 1
            chars = [v.next_char(self._chars) for v in active]
            ids = [self.vocab[c] for c in chars]
            logits = self.model.step(ids, [v.index for v in active])
            for i, (v, c) in enumerate(zip(active, chars, strict=True)):
                v.logits = logits[i]
                self._feed(v, c, playhead)
                if v.bar_written is not None or v.forks.loop is not None:
                    fork.after_char(self, v)  # a fork point, a loop's round
        t = self.clock.now()
        for v in self.voices:
            if v.new_text:
                args = (t, v.index, v.take_text())
                self._each(self.monitors, "text", lambda m, a=args: m.text(*a))
        return steps

    def _feed(self, v: Voice, text: str, playhead: float) -> None:
        """Give characters (already fed to the model) to the voice's interpreter and place
        what comes out on the beat line."""
        v.track(text)
        max_beats = self.config.max_note * self.tempo.bpm / 60.0
        wrote = False
        for ev in v.interp.feed(text):
            placed = v.place(ev, playhead, self._soon, max_beats)
            for p in ([placed] if placed is not None else []) + v.take_ready():
                note = self.scheduler.add(
                    v.index, p.pitch, p.velocity, p.on, p.off, p.backing, p.bits
                )
                if self.early is not None:
                    self.early.add(note, self.scheduler.is_pending, len(self.scheduler))
                wrote = wrote or not p.backing
            if placed is None and isinstance(ev, TuneStart):
                args = (self.clock.now(), v.index, tune_info(ev))
                self._each(self.monitors, "tune", lambda m, a=args: m.tune(*a))
        if self.early is not None:
            self._send_early()  # a note placed within the lookahead is told at once
        if wrote:
            v.bits = 0.0  # the next note's characters start here
        v.rest(self._horizon(self.clock.now()), self.config.silent_chars)

    def seed(self, v: Voice, text: str, at: float) -> None:
        """Reset a voice and prime it with ``text`` (already checked against the
        vocabulary); its music restarts at beat ``at``. A stopped voice keeps the seed until
        it starts."""
        if not v.running:
            v.pending_seed = (text, None)
            v.seed = text
            return
        playhead = self.playhead()
        if at <= playhead:
            at = playhead
            t = self.clock.now()
            self._flush_offs()
            for vi, ch, pitch in self.sounding.release(v.index):
                self._note_off(t, vi, ch, pitch)
            self.scheduler.drop(v.index)
        else:
            self.scheduler.cut(at, v.index)
        v.reseed(text, at)
        self.model.reset(v.index)
        self._read_seed(v, at)

    def _read_seed(self, v: Voice, at: float | None = None) -> None:
        """Read the next chunk of a voice's seed: the interpreter first (its notes go out at
        once), then the model. A long seed is read over several ticks, between deadlines, so
        it never holds the notes of any voice (4000 characters are about 0.3 s of model and
        interpreter time for a 3x256 GRU on one core). ``at``: the seed's start beat (first
        chunk)."""
        room = self._next_deadline() - self.config.guard - self.clock.now()
        n = min(len(v.unread), SEED_CHUNK)
        if room < math.inf:
            n = min(n, int(room / self._read_cost))
        if n < 1:
            return  # a note is due first; the next tick reads on
        chunk = v.take_unread(n)
        t0 = time.perf_counter()  # compute cost, on the real clock whatever the engine's
        self._feed(v, chunk, self.playhead() if at is None else at)
        self._send_due()  # the seed's own notes do not wait for the model
        v.logits = self.model.prefill(v.index, chunk)
        v.bar_written = None  # no fork point inside a seed (the model read it in one go)
        per_char = (time.perf_counter() - t0) / n
        self._read_cost = max(1e-6, 0.8 * self._read_cost + 0.2 * per_char)

    def _recover(self, e: Exception) -> None:
        """After a failure: release every note, reseed, and pause generation a little
        (longer each time it fails again in a row), so a broken model cannot spin."""
        self.errors += 1
        self._failures += 1
        now = self.clock.now()
        self._backoff = min(2.0, 0.1 * 2 ** min(self._failures - 1, 5))
        self._paused_until = now + self._backoff
        if self._failures <= 3 or self._failures % 100 == 0:
            log.error(
                "generation failed (%s: %s); notes released, retrying in %.1f s",
                type(e).__name__, e, self._backoff,
            )  # fmt: skip
        self.release(None)
        for v in self.voices:
            try:
                self.seed(v, v.seed, self.tempo.beat_at(now))
            except Exception as e2:
                if self._failures <= 3:
                    log.error("cannot reseed voice %d: %s", v.index + 1, e2)

    # -- commands --------------------------------------------------------------------------

    def _apply_commands(self) -> None:
        commands.apply_batch(self, self.config.commands_per_tick)

    def apply(self, cmd: Command) -> str | None:
        """Apply one validated command now (the command table); an error reason or None."""
        return commands.apply(self, cmd)

    # -- state -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The whole state for the live view (``engine/status.py``)."""
        return status.describe(self)

    def status_args(self) -> list[Any]:
        """Name/value pairs for ``/livernn/status``."""
        return status.pairs(self)
