"""The one bounded queue of validated commands between the OSC thread and the engine.

A command with a due time (``Command.at``: an OSC bundle's timetag on the engine clock,
livernn/timetag.py) waits here until that time: the engine thread moves it from a hand-over
queue into a heap it alone touches, ``take`` gives it out only once it is due and ``next_due``
tells the engine when to wake for it, so no thread sleeps for it. A panic never waits.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import threading

from livernn.osc import Command
from livernn.timetag import NEVER_WAITS


class Inbox:
    """Any thread ``put``s, the engine ``take``s; ``wait`` sleeps until a command is there
    (or a timeout) without taking it, so the engine applies commands in one place, in order.
    Bounded: ``put`` refuses (False) when ``maxsize`` commands wait to apply now, and
    separately when ``maxsize`` timed commands wait for their time (so a sender who fills the
    future cannot take the controls away now)."""

    def __init__(self, maxsize: int) -> None:
        self._q: collections.deque[Command] = collections.deque()
        self._max = maxsize
        self._ready = threading.Event()
        self._handover: collections.deque[Command] = collections.deque()  # timed, not yet seen
        self._heap: list[tuple[float, int, Command]] = []  # (due, arrival, cmd): engine only
        self._seq = itertools.count()
        self._timed_in = 0  # timed commands put (written by the producer only) ...
        self._timed_out = 0  # ... and taken or dropped (by the engine only)

    def put(self, cmd: Command) -> bool:
        if cmd.at is not None and cmd.name not in NEVER_WAITS:
            if self._timed_in - self._timed_out >= self._max:
                return False
            self._timed_in += 1
            self._handover.append(cmd)
        else:
            if len(self._q) >= self._max:  # one producer thread: the check cannot race itself
                return False
            self._q.append(cmd)
        self._ready.set()  # after the append: a waiter that cleared the flag sees it
        return True

    def _admit(self) -> None:
        while self._handover:
            cmd = self._handover.popleft()
            heapq.heappush(self._heap, (cmd.at, next(self._seq), cmd))

    def take(self, now: float) -> Command | None:
        """The next command to apply at engine time ``now``: a timed one that is due (the
        earliest first; equal times in arrival order), else the oldest untimed one."""
        self._admit()
        if self._heap and self._heap[0][0] <= now:
            self._timed_out += 1
            return heapq.heappop(self._heap)[2]
        try:
            return self._q.popleft()
        except IndexError:
            return None

    def next_due(self) -> float:
        """When the earliest timed command falls due (inf: none waits)."""
        self._admit()
        return self._heap[0][0] if self._heap else math.inf

    def drop_timed(self, voice: int | None = None) -> int:
        """Forget the timed commands waiting (those to one voice, or all); how many."""
        self._admit()
        keep = [e for e in self._heap if voice is not None and e[2].voice != voice]
        dropped = len(self._heap) - len(keep)
        heapq.heapify(keep)
        self._heap = keep
        self._timed_out += dropped
        return dropped

    def wait(self, timeout: float) -> bool:
        """True as soon as a command is waiting to apply now or to be scheduled; False after
        ``timeout``."""
        if self._q or self._handover:
            return True
        self._ready.clear()
        if self._q or self._handover:  # put between the check and the clear
            return True
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Wake a waiting engine without a command (the server's suspend and stop)."""
        self._ready.set()

    def qsize(self) -> int:
        """Commands waiting to apply now."""
        return len(self._q)

    def timed(self) -> int:
        """Timed commands waiting for their time."""
        return self._timed_in - self._timed_out
