"""The real-time engine: voices, generation just ahead of the playhead, sending on time.

``Engine`` is the whole musical logic and owns no thread: ``tick()`` does one iteration
(send what is due, apply commands, generate up to the lookahead horizon) and says when it
wants to run next, so tests drive it on a ``FakeClock``. ``Server`` is the only place in
livernn with threads: one receives OSC datagrams and turns them into validated commands on a
bounded queue, one runs the engine with a coarse sleep (waiting on that queue) and a short
spin before each deadline.

Beats: every voice writes on one global beat line (quarter notes); the tempo map turns beats
into absolute times on one monotonic clock, so a tempo change re-anchors at the current beat
and applies from the next note. The interpreter's tune-local beats are placed on the global
line by each voice's ``origin``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from livernn.abc.events import Bar, NoteEvent, TuneChange, TuneEnd, TuneStart
from livernn.clock import Clock, MonotonicClock, TempoMap
from livernn.config import EngineConfig, OscConfig, VoiceConfig
from livernn.errors import LivernnError
from livernn.osc import (
    Command,
    Context,
    Endpoint,
    OscError,
    encode,
    is_loopback,
    parse_datagram,
    to_command,
)
from livernn.outputs.base import Output
from livernn.sampling import SamplingParams, sample
from livernn.scheduler import ON, Scheduler, Sounding
from livernn.vocab import Vocab

log = logging.getLogger(__name__)

Reply = Callable[[tuple[str, int], str, Sequence[Any]], None]
EPS_BEATS = 1e-9  # beats <-> seconds round-trips are not exact
SEED_CHUNK = 64  # seed characters the model reads per engine iteration at most
MAX_SENDERS = 256  # OSC senders whose error-reply rate is tracked
TEXT_TAIL = 4000  # characters of the current tune kept per voice for the live view


class StepModel(Protocol):
    """What the engine needs from ``livernn.model.OnnxModel``."""

    vocab: Vocab
    voices: int

    def reset(self, voice: int | None = None) -> None: ...
    def prefill(self, voice: int, text: str) -> np.ndarray: ...
    def step(self, ids: Sequence[int], voices: Sequence[int] | None = None) -> np.ndarray: ...


def make_interpreter(config: EngineConfig) -> Any:
    """A streaming ABC interpreter for one voice."""
    from livernn.abc import AbcInterpreter, InterpreterOptions

    return AbcInterpreter(
        InterpreterOptions(
            expand_repeats=config.expand_repeats, max_repeat_beats=config.max_repeat_beats
        )
    )


class Voice:
    """One stream of generated text and the notes it makes (engine-internal state)."""

    def __init__(self, index: int, cfg: VoiceConfig, interpreter: Any) -> None:
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
        self.pending_key: str | None = None
        self.pending_meter: str | None = None
        # (text, global beat) for a quantized seed; beat None: seeded while stopped
        self.pending_seed: tuple[str, float | None] | None = None
        self.line = ""  # the line being written
        self.in_header = False
        self.silent = 0  # characters since the last note
        self.bars: collections.deque[float] = collections.deque(maxlen=16)
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

    def write_beat(self) -> float:
        """Global beat up to which the voice's notes are all known (a note still held open
        by the interpreter is not: writing goes on until it is)."""
        return self.origin + float(getattr(self.interp, "settled", self.interp.position))

    def describe(self) -> dict[str, Any]:
        return {
            "voice": self.index + 1,
            "running": self.running,
            "channel": self.cfg.channel,
            "temperature": self.params.temperature,
            "top_k": self.params.top_k,
            "top_p": self.params.top_p,
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


class Engine:
    """Voices + scheduler + outputs, driven by ``tick()``. Not thread-safe except ``submit``."""

    def __init__(
        self,
        model: StepModel,
        outputs: Sequence[Output],
        config: EngineConfig,
        clock: Clock | None = None,
        reply: Reply | None = None,
        interpreter_factory: Callable[[], Any] | None = None,
    ) -> None:
        self.config = config.validate()
        if model.voices != len(config.voices):
            raise LivernnError(
                f"the model has {model.voices} voices, the config {len(config.voices)}"
            )
        self.model = model
        self.vocab = model.vocab
        self.outputs = list(outputs)
        self.clock = clock or MonotonicClock()
        self.reply = reply
        self.commands: queue.Queue[Command] = queue.Queue(maxsize=config.command_queue)
        self._held_back: collections.deque[Command] = collections.deque()
        self.scheduler = Scheduler()
        self.sounding = Sounding()
        self.tempo = TempoMap(time=self.clock.now(), beat=0.0, bpm=config.tempo)
        factory = interpreter_factory or (lambda: make_interpreter(self.config))
        self.voices = [Voice(i, vc, factory()) for i, vc in enumerate(config.voices)]
        self.sched_errors: collections.deque[float] = collections.deque(maxlen=100_000)
        self.errors = 0
        self._read_cost = 1e-4  # seconds per seed character read by the model (measured)
        self.closed = False
        self._last_status = -math.inf
        self._failed_outputs: set[str] = set()
        self._failures = 0  # generation failures in a row
        self._backoff = 0.0
        self._paused_until = -math.inf
        self._chars = self.vocab.chars
        self.subscriptions: Any = None  # an OscEcho, when OSC out is on
        self._want_status = any(type(o).status is not Output.status for o in self.outputs)
        for vc in config.voices:  # refuse an unknown character before anything plays
            self.vocab.encode(vc.seed)
        now = self.clock.now()
        for v in self.voices:
            if v.cfg.program is not None:
                self._out("program", now, v.cfg.channel, v.cfg.program)
            v.running = config.autostart
            self._seed(v, v.cfg.seed, self.tempo.beat_at(now))

    # -- the loop --------------------------------------------------------------------------

    def submit(self, cmd: Command) -> bool:
        """Queue a command (any thread); False when the queue is full."""
        try:
            self.commands.put_nowait(cmd)
            return True
        except queue.Full:
            return False

    def tick(self) -> tuple[float, bool]:
        """One iteration. Returns (when to run next, whether that is a note deadline that
        deserves a precise wake-up)."""
        self._send_due()
        self._apply_commands()
        if self.clock.now() >= self._paused_until:
            try:
                if self._generate():
                    self._failures = 0
            except Exception as e:  # a model or interpreter failure must not stop the show
                self._recover(e)
        self._send_due()
        now = self.clock.now()
        if self._want_status and now - self._last_status >= self.config.status_interval:
            self._last_status = now
            self._out("status", now, self.status())
        nb = self.scheduler.next_beat()
        deadline = self.tempo.time_at(nb) if nb is not None else math.inf
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
        if remaining > 0:
            try:
                cmd = self.commands.get(timeout=remaining)
            except queue.Empty:
                pass
            else:
                self._held_back.append(cmd)
                return
        if precise:
            self.clock.sleep_until(wake)

    # -- sending ---------------------------------------------------------------------------

    def _out(self, method: str, *args: Any) -> None:
        for o in self.outputs:
            try:
                getattr(o, method)(*args)
            except Exception as e:  # one broken output must not silence the others
                if o.name not in self._failed_outputs:
                    self._failed_outputs.add(o.name)
                    log.error("output %s failed in %s: %s", o.name, method, e)

    def _send_due(self) -> None:
        now = self.clock.now()
        due = self.scheduler.pop_due(self.tempo.beat_at(now) + EPS_BEATS)
        for d in due:
            t = self.clock.now()
            self.sched_errors.append(t - self.tempo.time_at(d.beat))
            note = d.note
            v = self.voices[note.voice]
            if d.kind == ON:
                pitch = note.pitch + v.cfg.transpose
                if not 0 <= pitch <= 127:
                    continue
                ch = v.cfg.channel
                vel = max(1, min(127, round(note.velocity * v.cfg.velocity)))
                if self.sounding.on(note.id, v.index, ch, pitch, t):
                    self._out("note_off", t, v.index, ch, pitch)
                dur = min(
                    self.tempo.time_at(note.off_beat) - self.tempo.time_at(note.on_beat),
                    self.config.max_note,
                )
                self._out("note_on", t, v.index, ch, pitch, vel, dur)
            else:
                held = self.sounding.off(note.id)
                if held is not None:
                    self._out("note_off", t, v.index, held[0], held[1])
        for voice, ch, pitch in self.sounding.overdue(now, self.config.max_note):
            self._out("note_off", self.clock.now(), voice, ch, pitch)

    def _release(self, voice: int | None = None) -> None:
        """Note-offs for every sounding note of a voice (or all) now; forget pending ones."""
        t = self.clock.now()
        for vi, ch, pitch in self.sounding.release(voice):
            self._out("note_off", t, vi, ch, pitch)
        self.scheduler.drop(voice)

    def panic(self) -> None:
        self._release(None)
        channels = sorted({v.cfg.channel for v in self.voices})
        self._out("panic", self.clock.now(), channels)

    def close(self) -> None:
        """Silence everything and close the outputs (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for v in self.voices:
            v.running = False
        self._release(None)
        self._out("close", self.clock.now())

    # -- generation ------------------------------------------------------------------------

    def _soon(self) -> float:
        """The earliest beat a newly placed note can still be sent on time."""
        return self.tempo.beat_at(self.clock.now() + 2 * self.config.guard)

    def _horizon(self, now: float) -> float:
        return self.tempo.beat_at(now + self.config.lookahead)

    def _limit(self, v: Voice, horizon: float) -> float:
        if v.pending_seed is not None and v.pending_seed[1] is not None:
            return min(horizon, v.pending_seed[1])
        return horizon

    def _wants_chars(self) -> bool:
        if self.clock.now() < self._paused_until:
            return False
        h = self._horizon(self.clock.now())
        return any(
            v.unread or (v.running and v.write_beat() < self._limit(v, h)) for v in self.voices
        )

    def _generate(self) -> int:
        """Write characters up to the horizon; the number of model steps taken."""
        now = self.clock.now()
        horizon = self._horizon(now)
        playhead = self.tempo.beat_at(now)
        for v in self.voices:
            ps = v.pending_seed
            if v.running and ps is not None and ps[1] is not None and horizon >= ps[1]:
                text, at = v.pending_seed
                self._seed(v, text, at)
        for v in self.voices:
            if v.unread:
                self._read_seed(v)
        steps = 0
        while steps < self.config.steps_per_tick:
            active = [
                v
                for v in self.voices
                if v.running and not v.unread and v.write_beat() < self._limit(v, horizon)
            ]
            if not active:
                break
            # Leave time to send the next note on time (a late voice catches up by shifting
            # its tune, so it need not delay the others).
            nb = self.scheduler.next_beat()
            if nb is not None and self.clock.now() > self.tempo.time_at(nb) - self.config.guard:
                break
            steps += 1
            chars = [self._next_char(v) for v in active]
            ids = [self.vocab[c] for c in chars]
            logits = self.model.step(ids, [v.index for v in active])
            for i, (v, c) in enumerate(zip(active, chars, strict=True)):
                v.logits = logits[i]
                self._feed(v, c, playhead)
        t = self.clock.now()
        for v in self.voices:
            if v.new_text:
                self._out("text", t, v.index, "".join(v.new_text))
                v.new_text.clear()
        return steps

    def _next_char(self, v: Voice) -> str:
        if v.forced:
            return v.forced.popleft()
        assert v.logits is not None
        c = self._chars[int(sample(v.logits, v.params, v.rng))]
        if v.in_header and v.line == "" and c in "MK":
            meter, key = v.pending_meter, v.pending_key
            if c == "M" and meter is not None:
                v.forced.extend(f":{meter}\n")
                v.pending_meter = None
            elif c == "K" and meter is not None:
                c = "M"
                v.forced.extend(f":{meter}\n" + (f"K:{key}\n" if key is not None else "K"))
                v.pending_meter = None
                v.pending_key = None
            elif c == "K" and key is not None:
                v.forced.extend(f":{key}\n")
                v.pending_key = None
        return c

    def _feed(self, v: Voice, text: str, playhead: float) -> None:
        """Give characters (already fed to the model) to the voice's interpreter."""
        v.chars += len(text)
        v.new_text.append(text)
        for c in text:
            if c == "\n":
                if v.line.startswith("X:"):
                    v.in_header = True
                elif v.line.startswith("K:"):
                    v.in_header = False
                v.line = ""
            else:
                v.line += c
                if v.line == "X:":
                    v.tail = ""
        v.tail = (v.tail + text)[-TEXT_TAIL:]
        v.silent += len(text)
        for ev in v.interp.feed(text):
            self._event(v, ev, playhead)
        if v.silent > self.config.silent_chars:
            # Headers or garbage with no notes: let the playhead move on (a rest).
            v.silent = 0
            v.origin += max(0.0, self._horizon(self.clock.now()) - v.write_beat()) + 1.0

    def _event(self, v: Voice, ev: Any, playhead: float) -> None:
        if isinstance(ev, NoteEvent):
            v.silent = 0
            g = v.origin + ev.onset
            if g < playhead:  # late (a long header, a slow step): keep time, shift the tune
                soon = self._soon()  # not "now": a note due at once would be sent late
                v.origin += soon - g
                g = soon
            max_beats = self.config.max_note * self.tempo.bpm / 60.0
            dur = min(max(ev.duration, 1e-3), max_beats)
            self.scheduler.add(v.index, ev.pitch, ev.velocity, g, g + dur)
            v.notes += 1
        elif isinstance(ev, TuneStart):
            v.origin = v.floor if v.floor >= playhead else max(v.floor, self._soon())
            v.bars.clear()
            v.tunes += 1
            v.title, v.key, v.meter, v.tune_tempo = ev.title, ev.key, ev.meter, ev.tempo
            if ev.bar_beats and ev.bar_beats > 0:
                v.bar_beats = float(ev.bar_beats)
            self._out("tune", self.clock.now(), v.index, ev)
        elif isinstance(ev, TuneEnd):
            v.floor = v.origin + ev.beat
        elif isinstance(ev, Bar):
            v.bars.append(v.origin + ev.beat)
        elif isinstance(ev, TuneChange):
            if ev.field == "K":
                v.key = ev.value
            elif ev.field == "M":
                v.meter = ev.value
            elif ev.field == "Q":
                v.tune_tempo = ev.tempo

    def _seed(self, v: Voice, text: str, at: float) -> None:
        """Reset a voice and prime it with ``text``; its music restarts at beat ``at``.
        A stopped voice keeps the seed until it starts."""
        self.vocab.encode(text)  # VocabError before any change
        if not v.running:
            v.pending_seed = (text, None)
            v.seed = text
            return
        playhead = self.tempo.beat_at(self.clock.now())
        if at <= playhead:
            at = playhead
            t = self.clock.now()
            for vi, ch, pitch in self.sounding.release(v.index):
                self._out("note_off", t, vi, ch, pitch)
            self.scheduler.drop(v.index)
        else:
            self.scheduler.cut(at, v.index)
        v.pending_seed = None
        v.seed = text
        v.interp.reset()
        v.origin = v.floor = at
        v.forced.clear()
        v.line = ""
        v.in_header = False
        v.silent = 0
        v.tail = ""
        v.bars.clear()
        self.model.reset(v.index)
        v.logits = None
        v.unread = text
        self._read_seed(v, at)

    def _read_seed(self, v: Voice, at: float | None = None) -> None:
        """Read the next chunk of a voice's seed: the interpreter first (its notes go out at
        once), then the model. A long seed is read over several ticks, between deadlines, so
        it never holds the notes of any voice (4000 characters are about 0.3 s of model and
        interpreter time for a 3x256 GRU on one core). ``at``: the seed's start beat (first
        chunk)."""
        nb = self.scheduler.next_beat()
        room = math.inf if nb is None else self.tempo.time_at(nb) - self.config.guard
        room -= self.clock.now()
        n = min(len(v.unread), SEED_CHUNK)
        if room < math.inf:
            n = min(n, int(room / self._read_cost))
        if n < 1:
            return  # a note is due first; the next tick reads on
        chunk, v.unread = v.unread[:n], v.unread[n:]
        t0 = time.perf_counter()  # compute cost, on the real clock whatever the engine's
        self._feed(v, chunk, self.tempo.beat_at(self.clock.now()) if at is None else at)
        self._send_due()  # the seed's own notes do not wait for the model
        v.logits = self.model.prefill(v.index, chunk)
        per_char = (time.perf_counter() - t0) / n
        self._read_cost = max(1e-6, 0.8 * self._read_cost + 0.2 * per_char)

    def _next_bar(self, v: Voice, playhead: float) -> float:
        ahead = [b for b in v.bars if b >= playhead]
        if ahead:
            return min(ahead)
        base = v.bars[-1] if v.bars else v.origin
        n = math.ceil((playhead - base) / v.bar_beats)
        return base + max(n, 0) * v.bar_beats

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
        self._release(None)
        for v in self.voices:
            try:
                self._seed(v, v.seed, self.tempo.beat_at(now))
            except Exception as e2:
                if self._failures <= 3:
                    log.error("cannot reseed voice %d: %s", v.index + 1, e2)

    # -- commands --------------------------------------------------------------------------

    def _apply_commands(self) -> None:
        n = 0
        while n < self.config.commands_per_tick:
            if self._held_back:
                cmd = self._held_back.popleft()
            else:
                try:
                    cmd = self.commands.get_nowait()
                except queue.Empty:
                    return
            n += 1
            try:
                err = self.apply(cmd)
            except LivernnError as e:
                err = str(e)
            except Exception as e:  # never let one command stop the engine
                log.exception("command %s failed", cmd.name)
                err = f"{cmd.name} failed: {type(e).__name__}"
            if err and cmd.sender is not None and self.reply is not None:
                self.reply(cmd.sender, "/livernn/error", [err])

    def _targets(self, cmd: Command) -> list[Voice]:
        return self.voices if cmd.voice is None else [self.voices[cmd.voice]]

    def apply(self, cmd: Command) -> str | None:
        """Apply one validated command now; an error reason or None."""
        name, value = cmd.name, cmd.value
        now = self.clock.now()
        playhead = self.tempo.beat_at(now)
        targets = self._targets(cmd)
        if name in ("seed", "reset"):
            if name == "seed":
                self.vocab.encode(value)  # VocabError before any change
            for v in targets:
                text = value if name == "seed" else v.seed
                if name == "seed" and self.config.quantize == "bar" and v.running:
                    v.pending_seed = (text, self._next_bar(v, playhead))
                else:
                    self._seed(v, text, playhead)
        elif name == "prime":
            self.vocab.encode(value)
            for v in targets:
                if len(v.forced) + len(value) > 16 * 4096:
                    return "too much primed text waiting"
                v.forced.extend(value)
        elif name == "key":
            for v in targets:
                v.pending_key = value
        elif name == "meter":
            for v in targets:
                v.pending_meter = value
        elif name in ("temperature", "top_k", "top_p"):
            field = {"temperature": "temperature", "top_k": "top_k", "top_p": "top_p"}[name]
            for v in targets:
                v.params = replace(v.params, **{field: value}).validate()
                v.cfg = replace(v.cfg, **{field: value})
        elif name == "rng_seed":
            for v in targets:
                v.rng = np.random.default_rng(value if cmd.voice is not None else value + v.index)
        elif name == "tempo":
            self.tempo = self.tempo.retempo(value, now)
        elif name == "start":
            for v in targets:
                if not v.running:
                    v.running = True
                    if v.pending_seed is not None:  # seeded while stopped
                        self._seed(v, v.pending_seed[0], playhead)
                        continue
                    shift = playhead - v.write_beat()
                    if shift > 0:
                        v.origin += shift
                    v.floor = max(v.floor, playhead)
        elif name == "stop":
            for v in targets:
                v.running = False
                if v.pending_seed is not None:  # a quantized seed waits for the start
                    v.pending_seed = (v.pending_seed[0], None)
                self._release(v.index)
        elif name == "panic":
            if cmd.voice is None:
                self.panic()
            else:
                self._release(cmd.voice)
        elif name == "channel":
            for v in targets:
                v.cfg = replace(v.cfg, channel=int(value))
                if v.cfg.program is not None:
                    self._out("program", now, v.cfg.channel, v.cfg.program)
        elif name == "program":
            for v in targets:
                v.cfg = replace(v.cfg, program=int(value))
            for ch in sorted({v.cfg.channel for v in targets}):
                self._out("program", now, ch, int(value))
        elif name == "velocity":
            for v in targets:
                v.cfg = replace(v.cfg, velocity=float(value))
        elif name == "transpose":
            for v in targets:
                v.cfg = replace(v.cfg, transpose=int(value))
        elif name in ("subscribe", "unsubscribe"):
            echo = self.subscriptions
            if echo is None:
                return "OSC out is not available"
            if name == "subscribe":
                return echo.subscribe(value)
            echo.unsubscribe(value)
        elif name == "ping":
            if cmd.sender is not None and self.reply is not None:
                self.reply(cmd.sender, "/livernn/pong", [])
        elif name == "status":
            if cmd.sender is not None and self.reply is not None:
                self.reply(cmd.sender, "/livernn/status", self.status_args())
        else:
            return f"unknown command {name}"
        return None

    # -- state -----------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "tempo": self.tempo.bpm,
            "running": any(v.running for v in self.voices),
            "beat": self.tempo.beat_at(self.clock.now()),
            "sounding": len(self.sounding),
            "pending": len(self.scheduler),
            "voices": [v.describe() for v in self.voices],
        }

    def status_args(self) -> list[Any]:
        """Name/value pairs for ``/livernn/status`` (voice 1 for the per-voice fields)."""
        v = self.voices[0]
        return [
            "running", int(any(x.running for x in self.voices)),
            "tempo", float(self.tempo.bpm),
            "voices", len(self.voices),
            "temperature", float(v.params.temperature),
            "top_k", int(v.params.top_k),
            "top_p", float(v.params.top_p),
            "channel", int(v.cfg.channel),
            "title", v.title,
            "key", v.key,
            "meter", v.meter,
            "tunes", int(v.tunes),
            "sounding", len(self.sounding),
        ]  # fmt: skip


def set_realtime(priority: int = 20) -> bool:
    """Give the calling thread SCHED_FIFO priority (Linux; needs the right); False if refused."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (AttributeError, OSError) as e:
        log.warning("no real-time priority for the engine thread: %s", e)
        return False


class Server:
    """The engine and the OSC endpoint, each on its own thread."""

    def __init__(
        self,
        engine: Engine,
        endpoint: Endpoint | None,
        osc: OscConfig,
    ) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.osc = osc
        self.ctx = Context(voices=len(engine.voices), vocab=engine.vocab)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # sender -> (tokens, when): each sender's errors are rate limited on their own, so
        # one flooding client cannot silence the errors another client should see
        self._buckets: collections.OrderedDict[tuple[str, int], tuple[float, float]] = (
            collections.OrderedDict()
        )
        self._bucket_lock = threading.Lock()
        self.dropped = collections.Counter()  # reason -> datagrams dropped
        self.failure: BaseException | None = None
        if endpoint is not None:
            engine.reply = self.reply

    def request_stop(self) -> None:
        """Ask both threads to stop (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def reply(self, addr: tuple[str, int], address: str, args: Sequence[Any]) -> None:
        if self.endpoint is None:
            return
        if address == "/livernn/error" and not self._take_error_token(addr):
            self.dropped["error replies"] += 1
            return
        self.endpoint.send(addr, encode(address, args))

    def _take_error_token(self, addr: tuple[str, int]) -> bool:
        """A token bucket per sender (the most recent MAX_SENDERS senders are remembered)."""
        now = time.monotonic()
        rate = self.osc.errors_per_second
        with self._bucket_lock:
            tokens, then = self._buckets.pop(addr, (rate, now))
            tokens = min(rate, tokens + (now - then) * rate)
            ok = tokens >= 1.0
            self._buckets[addr] = (tokens - 1.0 if ok else tokens, now)
            if len(self._buckets) > MAX_SENDERS:
                self._buckets.popitem(last=False)
        return ok

    def allowed(self, host: str) -> bool:
        return is_loopback(host) or host in self.osc.allow or "*" in self.osc.allow

    def handle_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """Validate one datagram and queue its commands (errors go back to the sender)."""
        if not self.allowed(addr[0]):
            self.dropped["sender not allowed"] += 1
            return
        if len(data) > self.osc.max_packet:
            self.dropped["too large"] += 1
            self.reply(addr, "/livernn/error", [f"packet larger than {self.osc.max_packet} bytes"])
            return
        try:
            messages = parse_datagram(data)
        except OscError as e:
            self.dropped["malformed"] += 1
            self.reply(addr, "/livernn/error", [str(e)])
            return
        for address, args in messages:
            try:
                cmd = to_command(address, args, self.ctx, sender=addr)
            except OscError as e:
                self.reply(addr, "/livernn/error", [str(e)])
                continue
            if not self.engine.submit(cmd):
                self.dropped["queue full"] += 1
                self.reply(addr, "/livernn/error", [f"{address}: busy, message dropped"])

    def _receive_loop(self) -> None:
        assert self.endpoint is not None
        if self.engine.config.realtime:
            set_realtime(19)  # just below the engine: a flood cannot delay the notes
        while not self._stop.is_set():
            got = self.endpoint.recv(0.1)
            if got is None:
                continue
            try:
                self.handle_datagram(*got)
            except Exception:  # never stop listening
                log.exception("OSC datagram from %s failed", got[1])

    def _engine_loop(self) -> None:
        engine = self.engine
        if engine.config.realtime:
            set_realtime()
        try:
            while not self._stop.is_set():
                wake, precise = engine.tick()
                engine.wait(min(wake, engine.clock.now() + 0.1), precise)
        except BaseException as e:
            self.failure = e
            log.exception("engine stopped")
            self._stop.set()
        finally:
            engine.close()

    def start(self) -> None:
        t = threading.Thread(target=self._engine_loop, name="livernn-engine", daemon=True)
        self._threads.append(t)
        if self.endpoint is not None:
            r = threading.Thread(target=self._receive_loop, name="livernn-osc", daemon=True)
            self._threads.append(r)
        for th in self._threads:
            th.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout``); True when it has stopped."""
        return self._stop.wait(timeout)

    def stop(self, timeout: float = 0.8) -> None:
        """Stop both threads; the engine sends every note-off and closes the outputs."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()))
        if any(th.is_alive() for th in self._threads):
            log.warning("a thread did not stop in time")
        with contextlib.suppress(Exception):
            self.engine.close()  # idempotent; covers an engine thread that never ran
        if self.endpoint is not None:
            self.endpoint.close()
