"""A test double that keeps everything the engine sends, in order (tests and benchmarks)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from livernn.outputs.base import Output


@dataclass(frozen=True, slots=True)
class Sent:
    """One thing a ``RecordingOutput`` received."""

    t: float
    kind: str  # "on", "off", "program", "panic", "text", "tune", "confidence", "close"
    voice: int = -1
    channel: int = 0
    pitch: int = 0
    velocity: int = 0
    duration: float = 0.0
    data: Any = None


class RecordingOutput(Output):
    """Keeps everything it is sent, in order (for tests and benchmarks)."""

    name = "recording"

    def __init__(self, keep_text: bool = True) -> None:
        self.sent: list[Sent] = []
        self.keep_text = keep_text
        self.closed = False

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self.sent.append(Sent(t, "on", voice, channel, pitch, velocity, duration))

    def note_off(self, t, voice, channel, pitch) -> None:
        self.sent.append(Sent(t, "off", voice, channel, pitch))

    def program(self, t, channel, program) -> None:
        self.sent.append(Sent(t, "program", -1, channel, data=program))

    def panic(self, t, channels) -> None:
        self.sent.append(Sent(t, "panic", data=list(channels)))

    def text(self, t, voice, text) -> None:
        if self.keep_text:
            self.sent.append(Sent(t, "text", voice, data=text))

    def confidence(self, t, voice, pitch, bits) -> None:
        self.sent.append(Sent(t, "confidence", voice, pitch=pitch, data=bits))

    def tune(self, t, voice, tune) -> None:
        self.sent.append(Sent(t, "tune", voice, data=tune))

    def close(self, t) -> None:
        self.closed = True
        self.sent.append(Sent(t, "close"))

    def notes(self, kind: str = "on") -> list[Sent]:
        return [s for s in list(self.sent) if s.kind == kind]

    def sounding(self) -> Counter[tuple[int, int]]:
        """(channel, pitch) -> note-ons not yet matched by a note-off (empty: all balanced)."""
        c: Counter[tuple[int, int]] = Counter()
        for s in list(self.sent):
            if s.kind == "on":
                c[(s.channel, s.pitch)] += 1
            elif s.kind == "off" and c[(s.channel, s.pitch)] > 0:
                c[(s.channel, s.pitch)] -= 1
        return +c

    def text_of(self, voice: int | None = None) -> str:
        return "".join(
            s.data for s in list(self.sent) if s.kind == "text" and voice in (None, s.voice)
        )
