"""The two output interfaces: where notes go (``NoteSink``) and who watches (``Monitor``).

The engine calls both from its own thread only, with the send time ``t`` (seconds on the
engine clock); channels are 1..16. Every method has a do-nothing default, so an output
implements only what it uses. An output may be both (the OSC echo sends notes, text and
titles). Monitors get a ``TuneInfo``, not the interpreter's event: outputs do not depend on
the ABC package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TuneInfo:
    """A tune a voice has started writing (for the view, the tune log, ``/livernn/tune``)."""

    tune: int  # 0-based index of the tune in the voice's stream
    title: str = ""
    key: str = ""
    meter: str = ""
    tempo: float | None = None  # the tune's own Q:, when it has one


class NoteSink:
    """Where notes go: a MIDI port, the ``--record`` file, the OSC note echo.

    ``latency``: seconds this output is sent ahead of each deadline (``--midi-latency``,
    ``--osc-latency``: a slow synth lands on the beat); ``latency_group`` names the flag that
    sets it ("midi", "osc", None: none); ``takes_clock``: MIDI clock goes to it
    (``--clock-out``)."""

    name = "sink"
    latency = 0.0
    latency_group: str | None = None
    takes_clock = False

    def note_on(
        self, t: float, voice: int, channel: int, pitch: int, velocity: int, duration: float
    ) -> None:
        """A note starts now; ``duration`` is its expected length in seconds at the tempo."""

    def note_off(self, t: float, voice: int, channel: int, pitch: int) -> None:
        """A note ends now."""

    early = False  # True: the engine also calls note_ahead before each note-on (OSC bundles)

    def note_ahead(
        self, t: float, deadline: float, voice: int, channel: int, pitch: int, velocity: int,
        duration: float, bits: float | None,
    ) -> None:  # fmt: skip
        """A note-on due at ``deadline`` (engine clock), told at ``t``, up to the lookahead
        before it; ``bits``: its confidence, None for a backing note. Only when ``early``."""

    def program(self, t: float, channel: int, program: int) -> None:
        """A program change."""

    def clock(self, t: float, message: tuple[int, ...]) -> None:
        """A MIDI clock or transport message (its bytes: 0xF8 tick, 0xFA start, ...)."""

    def panic(self, t: float, channels: list[int]) -> None:
        """Belt and braces after the note-offs: all notes off on these channels."""

    def tick(self, t: float) -> None:
        """Time passes (a few times a second, notes or not): a sink that buffers writes out."""

    def close(self, t: float) -> None:
        """The engine is stopping; every note-off has been sent before this."""


class Monitor:
    """Who watches: the live view, the tune log, the OSC text and tune echo."""

    name = "monitor"

    def text(self, t: float, voice: int, text: str) -> None:
        """Characters a voice has just generated (ahead of the playhead)."""

    def tune(self, t: float, voice: int, tune: TuneInfo) -> None:
        """A voice has started writing a new tune."""

    def status(self, t: float, info: dict[str, Any]) -> None:
        """The engine's state, a few times a second."""

    def confidence(self, t: float, voice: int, pitch: int, bits: float) -> None:
        """A melody note starts now: the model's entropy (bits) at the characters that wrote
        it (sent just after the note's ``note_on``)."""

    def close(self, t: float) -> None:
        """The engine is stopping."""


class Output(NoteSink, Monitor):
    """Both interfaces at once (the OSC echo; test doubles that see everything)."""

    name = "output"

    def close(self, t: float) -> None:
        """The engine is stopping."""
