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
