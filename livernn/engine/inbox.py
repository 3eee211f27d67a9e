"""The one bounded queue of validated commands between the OSC thread and the engine."""

from __future__ import annotations

import collections
import threading

from livernn.osc import Command


class Inbox:
    """Any thread ``put``s, the engine ``take``s; ``wait`` sleeps until a command is there
    (or a timeout) without taking it, so the engine applies commands in one place, in order.
    Bounded: ``put`` refuses (False) when ``maxsize`` commands wait."""

    def __init__(self, maxsize: int) -> None:
        self._q: collections.deque[Command] = collections.deque()
        self._max = maxsize
        self._ready = threading.Event()

    def put(self, cmd: Command) -> bool:
        if len(self._q) >= self._max:  # one producer thread: the check cannot race itself
            return False
        self._q.append(cmd)
        self._ready.set()  # after the append: a waiter that cleared the flag sees it
        return True

    def take(self) -> Command | None:
        try:
            return self._q.popleft()
        except IndexError:
            return None

    def wait(self, timeout: float) -> bool:
        """True as soon as a command is waiting; False after ``timeout``."""
        if self._q:
            return True
        self._ready.clear()
        if self._q:  # put between the check and the clear
            return True
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Wake a waiting engine without a command (the server's suspend and stop)."""
        self._ready.set()

    def qsize(self) -> int:
        return len(self._q)
