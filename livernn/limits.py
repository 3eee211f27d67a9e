"""The one table of value ranges: every validator reads its bounds from here.

The OSC address table (``livernn.osc.ADDRESSES``), the configuration dataclasses
(``livernn.config``), the tempo map (``livernn.clock.check_bpm``), the sampler's user-facing
checks (``livernn generate``, ``serve``) and ``livernn render`` all name a ``Limit`` below
instead of writing numbers of their own, so a range is changed in one place and every error
message states the same bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from livernn.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Limit:
    """A closed range ``lo..hi`` (``lo_open``: lo itself excluded). ``unit`` follows the
    numbers in messages; ``integer``: whole numbers only (an OSC argument of type i);
    ``between``: say "between lo and hi" (tempo)."""

    name: str
    lo: float
    hi: float
    lo_open: bool = False
    unit: str = ""
    integer: bool = False
    between: bool = False

    def contains(self, v: float) -> bool:
        if isinstance(v, float) and math.isnan(v):
            return False
        return (v > self.lo if self.lo_open else v >= self.lo) and v <= self.hi

    def describe(self) -> str:
        u = f" {self.unit}" if self.unit else ""
        lo, hi = _num(self.lo), _num(self.hi)
        if self.lo_open:
            return f"> {lo} and <= {hi}{u}"
        if self.between:
            return f"between {lo} and {hi}{u}"
        if self.hi >= 2**62:
            return f">= {lo}{u}"
        return f"{lo}..{hi}{u}"

    def check(self, v: float, what: str | None = None) -> float:
        """``v`` when inside, else ConfigError "<what> must be <range>, not <v>"."""
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{what or self.name} must be a number, not {v!r}")
        if not self.contains(v):
            raise ConfigError(f"{what or self.name} must be {self.describe()}, not {v:g}")
        return v


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


TEMPO = Limit("tempo", 1.0, 1000.0, unit="BPM", between=True)  # quarter notes per minute
TEMPERATURE = Limit("temperature", 0.0, 10.0, lo_open=True)
TOP_K = Limit("top-k", 0, 1_000_000, integer=True)  # 0: off
TOP_P = Limit("top-p", 0.0, 1.0, lo_open=True)  # 1: off
RNG_SEED = Limit("rng seed", 0, 2**63 - 1, integer=True)
CHANNEL = Limit("channel", 1, 16, integer=True)  # MIDI channels as musicians count them
PROGRAM = Limit("program", 0, 127, integer=True)
SWITCH = Limit("switch", 0, 1, integer=True)  # 1 on, 0 off
VELOCITY = Limit("velocity scale", 0.0, 2.0)  # 1: as written
TRANSPOSE = Limit("transpose", -48, 48, unit="semitones", integer=True)
VOICES = Limit("--voices", 1, 64, integer=True)
BARS_BACK = Limit("bars back", 1, 64, integer=True)  # rewind, mutate (engine/fork.py RING)
LOOP_BARS = Limit("loop bars", 0, 64, integer=True)  # 0 ends the loop
LOOKAHEAD = Limit("lookahead", 0.0, 2.0, lo_open=True, unit="s")
QUANTUM = Limit("--quantum", 0.0, 64.0, lo_open=True, unit="beats")  # Link's quantum
LATENCY = Limit("latency", 0.0, 1000.0, unit="ms")  # an output sent this much ahead
MAX_NOTE = Limit("max note length", 0.05, 600.0, unit="s")
LISTEN_PORT = Limit("--osc-port", 0, 65535, integer=True)  # 0: any free port
PORT = Limit("port", 1, 65535, integer=True)
SYNTH_GAIN = Limit("--synth-gain", 0.0, 10.0)  # FluidSynth's synth.gain range
MAX_PACKET = Limit("--max-packet", 64, 65507, integer=True)  # 65507: the largest UDP payload

# A batched step of every voice must take at most this long at load, or serve refuses the
# model (--allow-slow-model plays it anyway): 100 characters a second per voice, which a
# voice writing sixteenths at 300 BPM (about 20 notes and 60 characters a second) needs with
# room to spare for the interpreter, sampling and sending.
MAX_STEP_SECONDS = 0.010

MAX_TEXT = 4096  # characters of seed or prime text in one OSC message
MAX_PRIMED = 16 * MAX_TEXT  # primed characters waiting per voice
MAX_TIMETAG_AHEAD = 60.0  # seconds: an OSC bundle timetagged further ahead is refused whole
