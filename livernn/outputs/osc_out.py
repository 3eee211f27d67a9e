"""OSC out: note echo, generated text and tune titles to subscribers and ``--osc-out``."""

from __future__ import annotations

import logging

from livernn.endpoint import Endpoint
from livernn.osc import encode
from livernn.outputs.base import Output, TuneInfo
from livernn.outputs.subscribers import Network, SubscriberTable
from livernn.timetag import Offset, bundle

log = logging.getLogger(__name__)


class OscEcho(Output):
    """A note sink (the note echo) and a monitor (text, titles) sharing one subscriber list.
    Sends ``/livernn/note i i f i i`` (pitch, velocity, seconds, voice, channel), then
    ``/livernn/confidence i f i`` (pitch, the model's entropy in bits, voice) for a melody note,
    ``/livernn/text s i`` and ``/livernn/tune s i`` from the server's own socket, so a client
    that listens where it sends from (Sonic Pi) gets them as cues.

    ``offset`` given (``--osc-out-bundles``): each note and its confidence go out together as
    one OSC bundle timetagged with the note's deadline, sent when the engine tells it early
    (``note_ahead``, up to the lookahead before the deadline), so a receiver that plays
    bundles at their timetag (SuperCollider, Sonic Pi's server) plays them on time."""

    name = "osc"
    latency_group = "osc"

    def __init__(
        self,
        endpoint: Endpoint,
        fixed: tuple[tuple[str, int], ...] = (),
        max_subscribers: int = 32,
        allow_subscribe: tuple[Network, ...] = (),
        offset: Offset | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.offset = offset  # the engine clock -> NTP (bundles out), or None
        self.early = offset is not None
        self.fixed = tuple(fixed)
        self.table = SubscriberTable(
            tuple(h for h, _ in self.fixed), allow_subscribe, limit=max_subscribers
        )
        self._now = 0.0  # the engine clock's time of the last call
        self._text: dict[int, list[str]] = {}

    @property
    def subscribers(self) -> list[tuple[str, int]]:
        return self.table.targets()

    def subscribe(
        self, addr: tuple[str, int], owner: tuple[str, int] | None = None, now: float | None = None
    ) -> str | None:
        """Add (or renew) a receiver; an error reason when it is not allowed."""
        if addr in self.fixed:
            return None
        if self.endpoint.family_of(addr[0]) is None:
            return f"cannot send to {addr[0]} from {self.endpoint.address[0]} (other IP version)"
        return self.table.add(addr, owner, self._now if now is None else now)

    def unsubscribe(
        self, addr: tuple[str, int], owner: tuple[str, int] | None = None
    ) -> str | None:
        return self.table.remove(addr, owner)

    def renew(self, owner: tuple[str, int], now: float) -> None:
        self.table.renew(owner, now)

    def tick(self, t) -> None:
        self._now = t
        for target in self.table.expire(t):
            log.info("subscription of %s:%d expired", *target)

    def _send(self, data: bytes) -> None:
        for addr in self.fixed:
            self.endpoint.send(addr, data)
        for addr in self.table.entries:
            self.endpoint.send(addr, data)

    def note_ahead(self, t, deadline, voice, channel, pitch, velocity, duration, bits) -> None:
        if self.offset is None or not (self.fixed or self.table.entries):
            return
        note = [encode("/livernn/note", [pitch, velocity, float(duration), voice + 1, channel])]
        if bits is not None:
            note.append(encode("/livernn/confidence", [pitch, float(bits), voice + 1]))
        self._send(bundle(self.offset.to_ntp(deadline, t), note))

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        if not self.early and (self.fixed or self.table.entries):
            self._send(
                encode("/livernn/note", [pitch, velocity, float(duration), voice + 1, channel])
            )

    def confidence(self, t, voice, pitch, bits) -> None:
        if not self.early and (self.fixed or self.table.entries):
            self._send(encode("/livernn/confidence", [pitch, float(bits), voice + 1]))

    def text(self, t, voice, text) -> None:
        # Batched: one /livernn/text per voice per status interval (0.1 s), not one per tick,
        # so a client that logs every message (Sonic Pi's cue list) is not flooded.
        if self.fixed or self.table.entries:
            self._text.setdefault(voice, []).append(text)

    def _flush_text(self) -> None:
        for voice, parts in self._text.items():
            text = "".join(parts)
            while text:  # stay well inside one datagram
                chunk, text = text[:1000], text[1000:]
                self._send(encode("/livernn/text", [chunk, voice + 1]))
        self._text.clear()

    def status(self, t, info) -> None:
        self._flush_text()

    def close(self, t) -> None:
        self._flush_text()

    def tune(self, t, voice, tune: TuneInfo) -> None:
        self._flush_text()  # the header before the title
        if self.fixed or self.table.entries:
            self._send(encode("/livernn/tune", [tune.title or "(untitled)", voice + 1]))
