"""``--clock-in PORT``: an external MIDI clock as livernn's beat line (issue 11; see
docs/DESIGN.md). The port's callback runs on rtmidi's own thread and only appends the
message's status byte, data and arrival time (the engine clock) to a bounded deque; the
engine drains it into the pure ``ClockFollower`` (``livernn/sync/clockin.py``) when it polls.
mido passes clock and transport messages through (it ignores only active sensing).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

from livernn.errors import ConfigError
from livernn.outputs.midi_in import open_input
from livernn.sync import External
from livernn.sync.clockin import ClockFollower

QUEUE = 4096  # messages waiting (at 24 ticks a beat and 300 BPM: 34 s)


class ClockInSource:
    """A MIDI clock input: ``feed`` from any thread, ``poll`` on the engine's."""

    name = "midi clock"

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self.follower = ClockFollower()
        self._q: collections.deque[tuple[int, float, tuple[int, ...]]] = collections.deque(
            maxlen=QUEUE
        )
        self._wake = wake
        self.port: Any = None
        self.description = ""

    @property
    def playing(self) -> bool:
        return self.follower.playing

    def feed(self, status: int, t: float, data: tuple[int, ...] = ()) -> None:
        self._q.append((status, t, data))
        if status != 0xF8 and self._wake is not None:
            self._wake()  # transport: look at once

    def poll(self, now: float, quantum: float) -> External | None:
        while self._q:
            self.follower.feed(*self._q.popleft())
        return self.follower.external(now)

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
    return src
