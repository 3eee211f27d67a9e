"""OSC out: note echo, generated text and tune titles to subscribers and ``--osc-out``."""

from __future__ import annotations

import logging

from livernn.abc.events import TuneStart
from livernn.osc import Endpoint, encode
from livernn.outputs.base import Output

log = logging.getLogger(__name__)


class OscEcho(Output):
    """Sends ``/livernn/note i i f i i`` (pitch, velocity, seconds, voice, channel),
    ``/livernn/text s i`` and ``/livernn/tune s i`` from the server's own socket, so a client
    that listens where it sends from (Sonic Pi) gets them as cues."""

    name = "osc"

    def __init__(
        self, endpoint: Endpoint, fixed: tuple[tuple[str, int], ...] = (), max_subscribers: int = 32
    ) -> None:
        self.endpoint = endpoint
        self.fixed = tuple(fixed)
        self.subscribers: list[tuple[str, int]] = []
        self.max_subscribers = max_subscribers

    def subscribe(self, addr: tuple[str, int]) -> str | None:
        """Add a receiver; an error reason when the list is full."""
        if addr in self.subscribers or addr in self.fixed:
            return None
        if len(self.subscribers) >= self.max_subscribers:
            return f"too many subscribers (at most {self.max_subscribers})"
        self.subscribers.append(addr)
        return None

    def unsubscribe(self, addr: tuple[str, int]) -> None:
        if addr in self.subscribers:
            self.subscribers.remove(addr)

    def _send(self, data: bytes) -> None:
        for addr in self.fixed:
            self.endpoint.send(addr, data)
        for addr in self.subscribers:
            self.endpoint.send(addr, data)

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        if self.fixed or self.subscribers:
            self._send(
                encode("/livernn/note", [pitch, velocity, float(duration), voice + 1, channel])
            )

    def text(self, t, voice, text) -> None:
        if self.fixed or self.subscribers:
            self._send(encode("/livernn/text", [text, voice + 1]))

    def tune(self, t, voice, tune: TuneStart) -> None:
        if self.fixed or self.subscribers:
            self._send(encode("/livernn/tune", [tune.title or "(untitled)", voice + 1]))
