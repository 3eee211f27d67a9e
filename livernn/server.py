"""The server: the only module with threads. One receives OSC, one runs the engine.

``build_server(config, model)`` wires everything the same way for ``livernn serve``, the
tests and the benchmarks: the UDP endpoint, the rate-limited replies, the OSC echo (which is
also the subscription table), the MIDI port, the ``--record`` file and the live view, the
engine with its replies and subscriptions given at construction, and the server. Data flows
one way: socket -> ``handle_datagram`` (sender filter, size cap, parse, validate) -> the
engine's inbox -> the engine thread -> outputs; replies go back through ``Replies``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from livernn.budget import TokenBucket
from livernn.clock import Clock, MonotonicClock
from livernn.config import OscConfig, ServeConfig
from livernn.endpoint import Endpoint
from livernn.engine import Engine, StepModel
from livernn.osc import Context, OscError, encode, to_command
from livernn.outputs.base import Monitor, NoteSink
from livernn.outputs.subscribers import in_networks, is_loopback, parse_networks
from livernn.timetag import Offset, due_times, parse_timed

log = logging.getLogger(__name__)

MAX_SENDERS = 256  # OSC senders whose error-reply rate is tracked
# How long a thread may hold the interpreter before another one gets it (Python's default is
# 5 ms): the engine thread waits at most this long while the OSC thread parses a flood.
SWITCH_INTERVAL = 0.0005


def set_realtime(priority: int = 5, notice: bool = True) -> bool:
    """Give the calling thread SCHED_FIFO priority (Linux; needs the right, e.g. root or
    rtprio in limits.conf); False when refused, with one notice (``--no-realtime`` asks for
    none). 5: below JACK's own threads (10 by default, 70 or more in audio setups), which
    must never wait for livernn (a cycle JACK misses loses its MIDI), and above everything
    that is not real-time."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (AttributeError, OSError) as e:
        if notice:
            log.info("normal priority for the engine thread (no real-time: %s)", e)
        return False


class Buckets:
    """A ``TokenBucket`` per key (``rate`` a second, as many in a burst); the most recent
    ``MAX_SENDERS`` keys are remembered. Thread-safe (both threads reply)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._b: collections.OrderedDict[Any, TokenBucket] = collections.OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: Any, now: float) -> bool:
        with self._lock:
            bucket = self._b.pop(key, None) or TokenBucket(self.rate, self.rate)
            self._b[key] = bucket
            if len(self._b) > MAX_SENDERS:
                self._b.popitem(last=False)
            return bucket.take(now)


class Replies:
    """Replies to senders from the server's socket, on a budget so livernn cannot be made a
    traffic source (issue 14.6): ``/livernn/error`` per sender (address and port, so one
    flooding client cannot silence the errors another client should see), per sender host
    (a client with thousands of source ports) and in total; ``/livernn/status`` (22 bytes
    out per byte in) per host and in total; ``/livernn/pong`` (no larger than the ping) is
    not limited."""

    def __init__(self, endpoint: Endpoint | None, osc: OscConfig) -> None:
        self.endpoint = endpoint
        self._per_sender = Buckets(osc.errors_per_second)
        self._per_host = Buckets(osc.replies_per_host)
        self._status = Buckets(osc.status_per_host)
        self._total = Buckets(osc.replies_total)
        self.dropped = 0  # replies over budget, from both threads

    def allow(self, addr: tuple[str, int], address: str, now: float) -> bool:
        if address == "/livernn/error":
            ok = self._per_sender.take(addr, now) and self._per_host.take(addr[0], now)
        elif address == "/livernn/status":
            ok = self._status.take(addr[0], now) and self._per_host.take(addr[0], now)
        else:
            return True
        return ok and self._total.take(None, now)

    def __call__(self, addr: tuple[str, int], address: str, args: Sequence[Any]) -> None:
        if self.endpoint is None:
            return
        if not self.allow(addr, address, time.monotonic()):
            self.dropped += 1
            return
        self.endpoint.send(addr, encode(address, args))


class Server:
    """The engine and the OSC endpoint, each on its own thread."""

    def __init__(
        self,
        engine: Engine,
        endpoint: Endpoint | None,
        osc: OscConfig,
        replies: Replies,
        midi_out: str | None = None,
        no_midi: str = "",
        synth: str | None = None,
    ) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self.osc = osc
        self.replies = replies
        self.midi_out = midi_out  # the MIDI port played to, or None ...
        self.no_midi = no_midi  # ... and why not
        self.midi_in: Any = None  # the performer's keyboard (--midi-in), when open
        self.midi_in_desc = ""  # its name, or why it is not open
        self.synth = synth  # the built-in synth (--synth), described, or None
        self.ctx = Context(voices=len(engine.voices), vocab=engine.vocab)
        self.offset = Offset(engine.clock.now, time.time)  # timetags in (the receive thread)
        self._allow = parse_networks(osc.allow, "--allow")
        self._stop = threading.Event()
        self._suspend = threading.Event()  # asked to suspend (SIGTSTP) ...
        self._suspended = threading.Event()  # ... done: every note released
        self._resume = threading.Event()
        self._threads: list[threading.Thread] = []
        # reason -> datagrams dropped (replies over budget: ``replies.dropped``)
        self.dropped: collections.Counter[str] = collections.Counter()
        self.failure: BaseException | None = None
        self.realtime = False  # the engine thread got SCHED_FIFO

    def request_stop(self) -> None:
        """Ask both threads to stop (safe from a signal handler)."""
        self._stop.set()
        self.engine.commands.wake()

    def suspend(self, timeout: float = 1.0) -> bool:
        """Ctrl-Z: ask the engine thread to release every note and wait; True once it has
        (the caller then stops the process). Safe from a signal handler."""
        self._resume.clear()
        self._suspended.clear()
        self._suspend.set()
        self.engine.commands.wake()
        return self._suspended.wait(timeout)

    def resume(self) -> None:
        """After SIGCONT: the engine carries on from the beat where it was suspended."""
        self._resume.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def recorders(self) -> list[Any]:
        """The ``--record`` files of this server (to report whether they were written)."""
        from livernn.outputs.midifile import MidiFileRecorder

        return [s for s in self.engine.sinks if isinstance(s, MidiFileRecorder)]

    def allowed(self, host: str) -> bool:
        return is_loopback(host) or in_networks(host, self._allow)

    def handle_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """Validate one datagram and queue its commands (errors go back to the sender); a
        bundle timetagged ahead queues them for that time (``timetag.due_times``)."""
        if not self.allowed(addr[0]):
            self.dropped["sender not allowed"] += 1
            return
        if len(data) > self.osc.max_packet:
            self.dropped["too large"] += 1
            self.replies(
                addr, "/livernn/error", [f"packet larger than {self.osc.max_packet} bytes"]
            )
            return
        try:
            messages = parse_timed(data)
        except OscError as e:
            self.dropped["malformed"] += 1
            self.replies(addr, "/livernn/error", [str(e)])
            return
        try:
            dues = due_times([m[0] for m in messages], self.offset, self.engine.clock.now())
        except OscError as e:
            self.dropped["too far ahead"] += 1
            self.replies(addr, "/livernn/error", [str(e)])
            return
        for (_, address, args), at in zip(messages, dues, strict=True):
            try:
                cmd = to_command(address, args, self.ctx, sender=addr)
            except OscError as e:
                self.replies(addr, "/livernn/error", [str(e)])
                continue
            if at is not None:
                cmd = replace(cmd, at=at)
            if not self.engine.submit(cmd):
                self.dropped["queue full"] += 1
                self.replies(addr, "/livernn/error", [f"{address}: busy, message dropped"])

    def _receive_loop(self) -> None:
        assert self.endpoint is not None
        if self.engine.config.realtime:
            set_realtime(4, notice=False)  # just below the engine: a flood cannot delay the notes
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
            self.realtime = set_realtime()
        try:
            while not self._stop.is_set():
                if self._suspend.is_set():
                    self._suspend.clear()
                    engine.suspend()
                    self._suspended.set()
                    while not self._resume.wait(0.1) and not self._stop.is_set():
                        pass  # no tick while suspended: no burst of overdue notes after
                    engine.resume()
                    continue
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

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads; the engine thread sends every note-off and closes the outputs
        itself (closing from here while it still runs could let a note start after the
        closing note-offs: waited for up to ``timeout``)."""
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
        if self.midi_in is not None:
            with contextlib.suppress(Exception):
                self.midi_in.close()


def build_server(
    config: ServeConfig,
    model: StepModel,
    outputs: Sequence[NoteSink | Monitor] = (),
    listen: bool = True,
    clock: Clock | None = None,
) -> Server:
    """Wire a server from its configuration: ``outputs`` are added to those the config asks
    for (MIDI, ``--record``, view); ``listen=False`` has no socket (engine benchmarks)."""
    from livernn.outputs.midi import open_midi
    from livernn.outputs.osc_out import OscEcho
    from livernn.outputs.synth import open_synth

    recorder = None
    if config.record is not None:  # a bad path is an error before anything opens
        from livernn.outputs.midifile import MidiFileRecorder

        recorder = MidiFileRecorder(config.record, force=config.record_force)
    clock = clock or MonotonicClock()
    endpoint = Endpoint(config.osc.host, config.osc.port, config.osc.max_packet) if listen else None
    midi = synth = None
    try:
        wired: list[NoteSink | Monitor] = []
        synth = open_synth(config.synth, len(config.engine.voices))
        midi, why = open_midi(config.midi)
        if midi is not None:
            wired.append(midi)
        if synth is not None:
            wired.append(synth)
        echo = None
        if endpoint is not None:
            allow = parse_networks(config.osc.allow_subscribe, "--allow-subscribe")
            offset = Offset(clock.now, time.time) if config.osc.bundles else None
            echo = OscEcho(endpoint, config.osc.out, config.osc.max_subscribers, allow, offset)
        if echo is not None:
            wired.append(echo)
        if recorder is not None:
            wired.append(recorder)
        if not config.quiet:
            import sys

            from livernn.view import TerminalView, TuneLog, sound_lines

            where = sound_lines(
                midi.description if midi else None, why, synth and synth.description
            )
            wired.append(TerminalView(sound=where) if sys.stdout.isatty() else TuneLog())
        sc = config.engine.sync
        for out in wired:
            if getattr(out, "latency_group", None) == "midi":
                out.latency = sc.midi_latency
            elif getattr(out, "latency_group", None) == "osc":
                out.latency = sc.osc_latency
        replies = Replies(endpoint, config.osc)
        engine = Engine(
            model, [*wired, *outputs], config.engine, clock=clock, reply=replies,
            subscriptions=echo,
        )  # fmt: skip
        desc = midi.description if midi is not None else None
        server = Server(
            engine, endpoint, config.osc, replies, desc, why, synth and synth.description
        )
        if sc.link:
            from livernn.engine import sync

            sync.join_link(engine)
        elif sc.clock_in is not None:
            from livernn.engine import sync
            from livernn.outputs.clock_in import open_clock_in

            source = open_clock_in(
                sc.clock_in, config.midi.api, engine.clock.now, engine.commands.wake
            )
            sync.attach(engine, source)
        if config.midi.midi_in is not None:
            from livernn.outputs.midi_in import open_midi_in

            server.midi_in, server.midi_in_desc = open_midi_in(
                config.midi.midi_in, config.midi.api, engine.heard, engine.clock.now,
                engine.commands.wake,
            )  # fmt: skip
        return server
    except BaseException:
        if midi is not None:
            with contextlib.suppress(Exception):
                midi.port.close()
        if synth is not None:
            with contextlib.suppress(Exception):
                synth.close(0.0)
        if endpoint is not None:
            endpoint.close()
        raise
