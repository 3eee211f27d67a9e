"""The OSC address table: every address livernn understands, its arguments, their types and
ranges (``ADDRESSES``), and what it sends (``OUT_ADDRESSES``).

One row per address; the server (``livernn/osc.py`` validates against it), the engine's
handlers (``livernn/engine/commands.py``), docs/DESIGN.md's address table and the client
patches' tests all read it. Ranges come from ``livernn/limits.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from livernn import limits as L

PREFIX = "/livernn"
MAX_TEXT = L.MAX_TEXT  # characters of seed/prime text in one message


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: ``kind`` is "f" (any number), "i" (an integral number), "s" (text)."""

    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # lo itself is not allowed
    optional: bool = False


@dataclass(frozen=True, slots=True)
class Address:
    """An address of the space: its arguments and where it may be sent."""

    name: str  # the part after /livernn/ (and after /livernn/voice/N/)
    args: tuple[Arg, ...]
    help: str
    per_voice: bool = True  # also valid as /livernn/voice/N/<name>
    text: bool = False  # every argument is joined by spaces into one text

    @property
    def path(self) -> str:
        return f"{PREFIX}/{self.name}"


def _r(name: str, limit: L.Limit, optional: bool = False) -> Arg:
    """An argument whose kind and range are a row of the limits table."""
    return Arg(name, "i" if limit.integer else "f", limit.lo, limit.hi, limit.lo_open, optional)


def _a(name: str, args: Sequence[Arg], help: str, **kw: Any) -> Address:
    return Address(name, tuple(args), help, **kw)


_TEXT = Arg("text", "s")
ADDRESSES: dict[str, Address] = {
    a.path: a
    for a in (
        _a("seed", [_TEXT], "reset the state and prime it with the text", text=True),
        _a("prime", [_TEXT], "feed text into the running state without a reset", text=True),
        _a("key", [Arg("key", "s")], "key from the next bar ([K:] inline), e.g. Dmix", text=True),
        _a(
            "meter",
            [Arg("meter", "s")],
            "meter from the next bar ([M:] inline), e.g. 6/8",
            text=True,
        ),
        _a("key/next", [Arg("key", "s")], "key of the next tune's header (K:)", text=True),
        _a("meter/next", [Arg("meter", "s")], "meter of the next tune's header (M:)", text=True),
        _a(
            "constrain",
            [Arg("level", "s")],
            "none, syntax or meter: what the sampler lets the model write, from the next character",
            text=True,
        ),
        _a("temperature", [_r("t", L.TEMPERATURE)], "sampling temperature"),
        _a("rewind", [_r("bars", L.BARS_BACK)], "from the next bar, go on from i bars back"),
        _a("loop", [_r("bars", L.LOOP_BARS)], "from the next bar, loop the last i bars (0 ends)"),
        _a(
            "mutate",
            [_r("bars", L.BARS_BACK), _r("t", L.TEMPERATURE)],
            "from the next bar, play again from i bars back at temperature f",
        ),
        _a("bookmark", [Arg("name", "s")], "name the state at the last bar line", text=True),
        _a(
            "midi_in",
            [Arg("mode", "s")],
            "listen, accompany or off: the --midi-in notes",
            text=True,
        ),
        _a("recall", [Arg("name", "s")], "from the next bar, go on from a named state", text=True),
        _a("top_k", [_r("k", L.TOP_K)], "sample among the k likeliest (0: all)"),
        _a("top_p", [_r("p", L.TOP_P)], "nucleus sampling mass"),
        _a("rng_seed", [_r("seed", L.RNG_SEED)], "reseed the random generator"),
        _a("tempo", [_r("bpm", L.TEMPO)], "quarter-note BPM", per_voice=False),
        _a("start", [], "start playing"),
        _a("stop", [], "stop playing; silences every sounding note"),
        _a("reset", [], "release notes and start again from the last seed"),
        _a("panic", [], "silence: every note off, all-notes-off, voices stopped until start"),
        _a("channel", [_r("channel", L.CHANNEL)], "MIDI channel 1..16"),
        _a("program", [_r("program", L.PROGRAM)], "MIDI program change 0..127"),
        _a("velocity", [_r("scale", L.VELOCITY)], "velocity scale 0..2 (1: as written)"),
        _a("transpose", [_r("semitones", L.TRANSPOSE)], "transpose in semitones"),
        _a(
            "backing",
            [_r("on", L.SWITCH)],
            "chord backing on (1) or off (0): the chord names as bass and chords, on their own "
            "channels",
        ),
        _a(
            "subscribe",
            [_r("port", L.PORT, optional=True), Arg("host", "s", optional=True)],
            "send the out messages to port (default: the sender's) on host (default: the sender)",
            per_voice=False,
        ),
        _a(
            "unsubscribe",
            [_r("port", L.PORT, optional=True), Arg("host", "s", optional=True)],
            "stop sending the out messages there",
            per_voice=False,
        ),
        _a("link", [_r("on", L.SWITCH)], "join (1) or leave (0) the Link session", per_voice=False),
        _a(
            "midi_latency",
            [_r("ms", L.LATENCY)],
            "send MIDI (and --synth) this many ms ahead",
            per_voice=False,
        ),
        _a(
            "osc_latency",
            [_r("ms", L.LATENCY)],
            "send the note echo this many ms ahead",
            per_voice=False,
        ),
        _a("ping", [], "reply /livernn/pong", per_voice=False),
        _a("status", [], "reply /livernn/status name value ...", per_voice=False),
    )
}

# Out messages (to subscribers and --osc-out; replies go to the sender).
OUT_ADDRESSES: dict[str, str] = {
    "/livernn/note": "i pitch, i velocity, f duration s, then i voice (from 1), i channel (1..16)",
    "/livernn/confidence": "i pitch, f bits (the model's entropy at the characters of the "
    "note just sent), then i voice",
    "/livernn/text": "s generated characters, then i voice",
    "/livernn/tune": "s title when a tune starts, then i voice",
    "/livernn/error": "s reason (reply to a bad message)",
    "/livernn/pong": "(reply to /livernn/ping)",
    "/livernn/status": "name value pairs (reply to /livernn/status)",
}
