"""Helpers for the stage-proof tests (tests/test_stage_*.py) and bench/soak.py.

``CheckingOutput`` is an engine output that checks, as the notes go out, what a synth
would need to be true, in constant memory (an hour of notes is not kept): every note-on of a
(channel, pitch) is followed by exactly one note-off before the next note-on of it, no note
lasts longer than the maximum note length, every value is in MIDI range, time never goes
backwards. ``check_midi_stream`` applies the same rules to messages received from a real
MIDI port or read back from a recorded file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livernn.outputs.base import Output

EPS = 1e-6


class CheckingOutput(Output):
    """Counts notes and records every broken rule (``problems``; empty means all good)."""

    name = "checking"

    def __init__(self, max_note: float, keep: int = 20) -> None:
        self.max_note = max_note
        self.keep = keep  # problems kept verbatim (the count goes on)
        self.problems: list[str] = []
        self.problem_count = 0
        self.sounding: dict[tuple[int, int], float] = {}  # (channel, pitch) -> on time
        self.ons = 0
        self.offs = 0
        self.texts = 0
        self.tunes = 0
        self.panics = 0
        self.closed = False
        self.last_t = -math.inf
        self.longest = 0.0
        self.on_times: list[float] = []  # for rate checks; cleared by the caller when large

    def _bad(self, msg: str) -> None:
        self.problem_count += 1
        if len(self.problems) < self.keep:
            self.problems.append(msg)

    def _time(self, t: float) -> None:
        if not math.isfinite(t):
            self._bad(f"time {t}")
        if t < self.last_t - EPS:
            self._bad(f"time went back from {self.last_t} to {t}")
        self.last_t = max(self.last_t, t)

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self._time(t)
        self.ons += 1
        self.on_times.append(t)
        if not (1 <= channel <= 16 and 0 <= pitch <= 127 and 1 <= velocity <= 127):
            self._bad(f"note-on out of range: ch {channel} pitch {pitch} vel {velocity}")
        if not (math.isfinite(duration) and 0 <= duration <= self.max_note + EPS):
            self._bad(f"note-on duration {duration}")
        if self.closed:
            self._bad(f"note-on after close at {t}")
        key = (channel, pitch)
        if key in self.sounding:
            self._bad(f"note-on of {key} at {t} while it sounds since {self.sounding[key]}")
        self.sounding[key] = t

    def note_off(self, t, voice, channel, pitch) -> None:
        self._time(t)
        self.offs += 1
        key = (channel, pitch)
        since = self.sounding.pop(key, None)
        if since is None:
            self._bad(f"note-off of {key} at {t} that was not sounding")
            return
        held = t - since
        self.longest = max(self.longest, held)
        if held > self.max_note + EPS:
            self._bad(f"{key} sounded {held:.6f} s > {self.max_note} s")

    def program(self, t, channel, program) -> None:
        if not (1 <= channel <= 16 and 0 <= program <= 127):
            self._bad(f"program change out of range: ch {channel} program {program}")

    def panic(self, t, channels) -> None:
        self.panics += 1

    def text(self, t, voice, text) -> None:
        self.texts += len(text)

    def tune(self, t, voice, tune) -> None:
        self.tunes += 1

    def close(self, t) -> None:
        self.closed = True

    def verdict(self) -> list[str]:
        """Every problem, plus the notes still sounding (call after the engine closed)."""
        out = list(self.problems)
        if self.problem_count > len(self.problems):
            out.append(f"... {self.problem_count - len(self.problems)} more")
        if self.sounding:
            out.append(f"still sounding: {sorted(self.sounding)}")
        return out


def midi_file_events(path: Any) -> list[tuple[float, Any]]:
    """(seconds, mido message) of every non-meta message of a MIDI file."""
    import mido

    t, out = 0.0, []
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if not msg.is_meta:
            out.append((t, msg))
    return out


def check_midi_stream(
    events: Iterable[tuple[float, Any]], max_note: float, slack: float = 0.0
) -> tuple[list[str], dict[str, Any]]:
    """Check (time, mido message) pairs the same way: each note-on is ended by exactly one
    note-off (an explicit one: 'all notes off' controllers do not count) within
    ``max_note + slack`` seconds. Returns (problems, counts)."""
    sounding: dict[tuple[int, int], float] = {}
    problems: list[str] = []
    ons = offs = 0
    longest = 0.0
    for t, m in events:
        if m.type == "note_on" and m.velocity > 0:
            ons += 1
            key = (m.channel, m.note)
            if key in sounding:
                problems.append(f"note-on of {key} at {t:.3f} while sounding")
            sounding[key] = t
        elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
            key = (m.channel, m.note)
            since = sounding.pop(key, None)
            if since is None:
                continue  # a reset's blanket note-off, or a duplicate: harmless
            offs += 1
            longest = max(longest, t - since)
            if t - since > max_note + slack:
                problems.append(f"{key} sounded {t - since:.3f} s")
    if sounding:
        problems.append(f"never released: {sorted(sounding)}")
    return problems, {"ons": ons, "offs": offs, "longest": longest}


# -- OSC abuse ----------------------------------------------------------------------------

ABUSE_KINDS = (
    "random bytes",
    "truncated",
    "bundle",
    "unknown address",
    "wrong types",
    "wrong arity",
    "huge string",
    "nan/inf",
    "bad tempo/temperature",
    "valid",
    "hostile bundle",
)


def hostile_bundle(rng) -> bytes:
    """One of the bundle attacks of issue 14 (each hung or bloated python-osc's own parser):
    a negative element size, a size pointing back at an earlier message, sizes that are not a
    multiple of 4 or run past the end, bundles nested deeper than allowed, more elements than
    allowed, and messages with (deeply nested) arrays."""
    head = b"#bundle\x00" + (1).to_bytes(8, "big")
    ping = _msg("/livernn/ping", [])
    which = int(rng.integers(0, 7))
    if which == 0:  # the 20-byte loop-forever bundle
        return head + (-4).to_bytes(4, "big", signed=True)
    if which == 1:  # a valid message, then a size pointing back at it
        back = -(len(ping) + 8)
        return head + len(ping).to_bytes(4, "big") + ping + back.to_bytes(4, "big", signed=True)
    if which == 2:  # not a multiple of 4, or past the end
        size = int(rng.choice([3, 5, len(ping) + 4, 2**31 - 1]))
        return head + size.to_bytes(4, "big") + ping
    if which == 3:  # nested too deep
        data = ping
        for _ in range(int(rng.integers(5, 40))):
            data = head + len(data).to_bytes(4, "big") + data
        return data
    if which == 4:  # too many elements
        el = len(ping).to_bytes(4, "big") + ping
        return head + el * int(rng.integers(257, 600))
    if which == 5:  # arrays nested a thousand deep in the type tags
        tags = b"," + b"[" * 1000 + b"]" * 1000
        tags += b"\x00" * (4 - len(tags) % 4)
        return b"/livernn/tempo\x00\x00" + tags
    return head + (0).to_bytes(4, "big")  # a zero size


def _msg(address: str, args: list[tuple[Any, str]]) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder(address)
    for value, tag in args:
        b.add_arg(value, tag)
    return b.build().dgram


def abuse_datagram(rng, kind: str | None = None) -> tuple[str, bytes]:
    """One hostile (or, for "valid", harmless) datagram of a random kind: (kind, bytes).
    ``rng`` is a ``numpy.random.Generator``. Valid messages only retune the sampler and the
    tempo within musical ranges, so a server that survives keeps playing (numbers sent to a
    text address would be a valid seed: the wrong-type kinds go to numeric addresses)."""
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder

    kind = kind or str(rng.choice(ABUSE_KINDS))
    names = ["tempo", "temperature", "top_k", "top_p", "seed", "prime", "channel", "transpose",
             "velocity", "program", "key", "meter", "rng_seed", "subscribe"]  # fmt: skip
    name = str(rng.choice(names))
    numeric = str(rng.choice([n for n in names if n not in ("seed", "prime", "key", "meter")]))
    if kind == "random bytes":
        data = rng.bytes(int(rng.integers(0, 300)))
        if rng.random() < 0.5:  # looks like OSC at first glance
            data = b"/livernn/" + data
        return kind, data
    if kind == "truncated":
        full = _msg(f"/livernn/{name}", [(float(rng.normal(100, 50)), "f"), ("X:1", "s")])
        return kind, full[: int(rng.integers(1, len(full)))]
    if kind == "bundle":
        bb = OscBundleBuilder(IMMEDIATELY)
        for _ in range(int(rng.integers(0, 6))):
            inner = abuse_datagram(rng, str(rng.choice(ABUSE_KINDS[2:])))[1]
            if inner.startswith(b"/") or inner.startswith(b"#bundle"):
                from pythonosc.osc_message import OscMessage

                try:
                    bb.add_content(OscMessage(inner))
                except Exception:
                    continue
        data = bb.build().dgram
        if rng.random() < 0.3:  # lie about an element's size
            data = data[:16] + int(rng.integers(0, 2**31)).to_bytes(4, "big") + data[20:]
        return kind, data
    if kind == "hostile bundle":
        return kind, hostile_bundle(rng)
    if kind == "unknown address":
        addr = str(rng.choice([
            "/livernn/nope", "/foo", "/", "/livernn", "/livernn/voice/99/tempo",
            "/livernn/voice/0/seed", "/livernn/voice/x/temperature", "/LIVERNN/TEMPO",
            "/livernn/voice/1/tempo", "/livernn/voice/1/ping", "/livernn/temperature/extra",
        ]))  # fmt: skip
        return kind, _msg(addr, [(1.0, "f")])
    if kind == "wrong types":
        value = [("fast", "s"), (b"\x00\x01", "b"), (True, "T"), (None, "N"), (2**40, "h")]
        return kind, _msg(f"/livernn/{numeric}", [value[int(rng.integers(0, len(value)))]])
    if kind == "wrong arity":
        n = int(rng.integers(2, 8))
        return kind, _msg(f"/livernn/{numeric}", [(float(i), "f") for i in range(n)])
    if kind == "huge string":
        n = int(rng.choice([4097, 6000, 8100, 9000, 20000]))
        text = "".join(rng.choice(list("abcdefgABCDEFG|:zé\u2603"), size=n))
        return kind, _msg(
            f"/livernn/{rng.choice(['seed', 'prime', 'key', 'meter'])}", [(text, "s")]
        )
    if kind == "nan/inf":
        v = float(rng.choice([math.nan, math.inf, -math.inf]))
        return kind, _msg(f"/livernn/{numeric}", [(v, str(rng.choice(["f", "d"])))])
    if kind == "bad tempo/temperature":
        what = str(rng.choice(["tempo", "temperature", "voice/1/temperature"]))
        bad = [-120.0, -1e-3, 0.0, 1e30, -1e30, 3.4e38, 1e308]
        bad += [1001.0, 0.5] if what == "tempo" else [10.01, 1001.0]
        v = float(rng.choice(bad))
        return kind, _msg(f"/livernn/{what}", [(v, "d" if abs(v) > 3.4e38 else "f")])
    valid = [
        _msg("/livernn/tempo", [(float(rng.uniform(100, 300)), "f")]),
        _msg("/livernn/temperature", [(float(rng.uniform(0.5, 1.2)), "f")]),
        _msg("/livernn/top_k", [(int(rng.integers(0, 40)), "i")]),
        _msg("/livernn/top_p", [(float(rng.uniform(0.8, 1.0)), "d")]),
        _msg("/livernn/velocity", [(float(rng.uniform(0.5, 1.5)), "f")]),
        _msg("/livernn/status", []),
        _msg("/livernn/key", [(str(rng.choice(["D", "Ador", "Gmix"])), "s")]),
    ]
    return "valid", valid[int(rng.integers(0, len(valid)))]


def udp_drops(port: int) -> int | None:
    """Datagrams the kernel dropped for the UDP socket bound to ``port`` (Linux), or None."""
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return None
    total, found = 0, False
    for line in lines:
        f = line.split()
        if int(f[1].split(":")[1], 16) == port:
            total += int(f[-1])
            found = True
    return total if found else None
