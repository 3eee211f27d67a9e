"""``--clock-in PORT``: an external MIDI clock as livernn's beat line (issue 11; see
docs/DESIGN.md). On python-rtmidi (every mido backend livernn opens) there is no callback:
rtmidi queues the messages with its own delta times and the engine reads them when it polls
(a Python callback on JACK's thread would wait for the interpreter lock and overrun JACK's
cycle). On another backend the callback only appends to a bounded deque. Either way the
pure ``ClockFollower`` (``livernn/sync/clockin.py``) gets them on the engine's thread.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from livernn.errors import ConfigError
from livernn.outputs.midi_in import open_input
from livernn.sync import External
from livernn.sync.clockin import ClockFollower

LATENESS = 96  # messages over which the least lateness is taken (four beats of clock)
QUEUE = 4096  # messages waiting (at 24 ticks a beat and 300 BPM: 34 s)


class ClockInSource:
    """A MIDI clock input: ``feed`` from any thread, ``poll`` on the engine's."""

    name = "midi clock"
    # the line is an estimate: a difference this large between it and livernn is a jump
    # (a Start, a Song Position), smaller ones are followed smoothly
    jump_seconds = 0.030

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self.follower = ClockFollower()
        self._q: collections.deque[tuple[int, float, tuple[int, ...]]] = collections.deque(
            maxlen=QUEUE
        )
        self._wake = wake
        self._source_t = 0.0  # the MIDI system's time, summed from its deltas
        self._late: collections.deque[float] = collections.deque(maxlen=LATENESS)
        self.port: Any = None
        self.rt: Any = None  # python-rtmidi's MidiIn, read when polled (see open_clock_in)
        self.now: Callable[[], float] | None = None
        self.description = ""

    @property
    def playing(self) -> bool:
        return self.follower.playing

    def feed(
        self, status: int, t: float, data: tuple[int, ...] = (), delta: float | None = None
    ) -> None:
        """One message that arrived at ``t`` (engine clock); ``delta``: the MIDI system's own
        time since the previous message, when it gives one. The arrival time of a Python
        callback is late whenever its thread waits for the CPU; the system's times are not,
        so with them a message's time is the system's time plus the smallest lateness seen
        over the last ``LATENESS`` messages (the least delayed arrival)."""
        if delta is not None:
            self._source_t += delta
            self._late.append(t - self._source_t)
            t = self._source_t + min(self._late)
        self._q.append((status, t, data))
        if status != 0xF8 and self._wake is not None:
            self._wake()  # transport: look at once

    def poll(self, now: float, quantum: float) -> External | None:
        if self.rt is not None:
            self._read(now)
        while self._q:
            self.follower.feed(*self._q.popleft())
        return self.follower.external(now)

    def _read(self, now: float) -> None:
        """What rtmidi queued since the last poll, each with its delta time."""
        for _ in range(QUEUE):
            got = self.rt.get_message()
            if got is None:
                return
            message, delta = got
            if message and message[0] in (0xF8, 0xFA, 0xFB, 0xFC, 0xF2):
                self.feed(message[0], now, tuple(message[1:]), delta)
            elif delta:  # other messages keep the sum of the deltas right
                self._source_t += delta

    def propose_tempo(self, bpm: float, now: float) -> None:
        pass  # the clock's source sets the tempo

    def propose_playing(self, playing: bool, now: float, quantum: float) -> None:
        pass

    def close(self) -> None:
        if self.port is not None:
            self.port.close()
            self.port = None


STATUS = {"clock": 0xF8, "start": 0xFA, "continue": 0xFB, "stop": 0xFC}


def open_clock_in(
    wanted: str, api: str | None, now: Callable[[], float], wake: Callable[[], None]
) -> ClockInSource:
    """Follow the MIDI clock on the first input whose name contains ``wanted``; ConfigError
    when there is none (livernn cannot keep time with a clock it cannot hear)."""
    src = ClockInSource(wake)

    def received(msg: Any) -> None:
        status = STATUS.get(msg.type)
        if status is not None:
            src.feed(status, now())
        elif msg.type == "songpos":
            src.feed(0xF2, now(), (msg.pos & 0x7F, msg.pos >> 7))

    src.port, src.description = open_input(wanted, api, received)
    if src.port is None:
        raise ConfigError(f"--clock-in {wanted}: {src.description}")
    rt = getattr(src.port, "_rt", None)  # python-rtmidi's own port, under mido's
    if rt is not None and hasattr(rt, "get_message"):
        # No callback: a Python callback runs on JACK's (or ALSA's) thread and must take the
        # interpreter lock, which the engine holds while the model steps, so JACK's cycle
        # overruns and ticks are lost. rtmidi queues the messages with their delta times
        # itself; the engine reads them when it polls.
        rt.cancel_callback()
        src.rt = rt
        src.now = now
    return src
