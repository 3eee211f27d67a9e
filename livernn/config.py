"""Configuration of ``livernn serve``: frozen dataclasses built by the CLI and passed down.

Channels are 1..16 here and on OSC (as in Pd, Max and Sonic Pi); the MIDI output converts.
Voices are numbered from 1 on OSC (``/livernn/voice/1/...``) and from 0 in code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from livernn import limits as L
from livernn.abc.state import InterpreterOptions
from livernn.clock import check_bpm
from livernn.constrain.tables import DEFAULT_LEVEL, check_level
from livernn.errors import ConfigError

DEFAULT_SEED = "X:1\n"
QUANTIZE = ("now", "bar")


@dataclass(frozen=True, slots=True)
class VoiceConfig:
    """What one voice starts with; OSC can change each of these while it plays."""

    channel: int = 1  # 1..16
    program: int | None = None  # 0..127, sent at start when given
    velocity: float = 1.0  # scale applied to the interpreter's velocity, 0..2
    transpose: int = 0  # semitones
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    rng_seed: int | None = None  # None: a fresh seed from the OS
    seed: str = DEFAULT_SEED
    constrain: str = DEFAULT_LEVEL  # none, syntax or meter (livernn/constrain)
    midi_in: str = "off"  # listen, accompany or off: what the performer's notes do (--midi-in)
    # chord backing (livernn/abc/backing.py): the chord names as bass and chords
    backing: bool = True  # /livernn/backing switches it
    bass_channel: int = 2  # 1..16
    chord_channel: int = 3
    bass_program: int | None = None  # 0..127, sent at start when given
    chord_program: int | None = None

    def validate(self) -> VoiceConfig:
        L.CHANNEL.check(self.channel)
        L.CHANNEL.check(self.bass_channel, "the bass channel")
        L.CHANNEL.check(self.chord_channel, "the chord channel")
        for p in (self.bass_program, self.chord_program):
            if p is not None:
                L.PROGRAM.check(p)
        if self.program is not None:
            L.PROGRAM.check(self.program)
        L.VELOCITY.check(self.velocity)
        L.TRANSPOSE.check(self.transpose)
        L.TEMPERATURE.check(self.temperature)
        L.TOP_K.check(self.top_k)
        L.TOP_P.check(self.top_p)
        if self.rng_seed is not None:
            L.RNG_SEED.check(self.rng_seed)
        if not self.seed:
            raise ConfigError("the seed text must not be empty")
        check_level(self.constrain)
        return self


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """In time with the band (issue 11, livernn/sync): Link, MIDI clock, output latencies."""

    link: bool = False  # join the Ableton Link session at start (--link; the [link] extra)
    quantum: float | None = None  # beats of the grid; None: the bar of the current meter
    clock_out: bool = False  # 24 ticks a beat + Start/Stop/Continue on the MIDI output
    clock_in: str | None = None  # follow the MIDI clock on the input whose name contains this
    midi_latency: float = 0.0  # seconds the MIDI output (and --synth) is sent ahead
    osc_latency: float = 0.0  # seconds the OSC note echo is sent ahead

    def validate(self) -> SyncConfig:
        if self.quantum is not None:
            L.QUANTUM.check(self.quantum)
        L.LATENCY.check(self.midi_latency * 1000, "--midi-latency")
        L.LATENCY.check(self.osc_latency * 1000, "--osc-latency")
        if self.link and self.clock_in is not None:
            raise ConfigError("--link and --clock-in cannot both set the beat: choose one")
        return self


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Timing and generation of the engine."""

    voices: tuple[VoiceConfig, ...] = (VoiceConfig(),)
    tempo: float = 120.0  # quarter-note BPM; the performer's tempo rules over the tune's Q:
    lookahead: float = 0.05  # seconds generated ahead of the playhead
    quantize: str = "now"  # when a new seed cuts in: "now" or at the next "bar"
    max_note: float = 8.0  # seconds a note may sound at most
    autostart: bool = True
    steps_per_tick: int = 32  # model steps per voice per engine iteration at most
    silent_chars: int = 400  # characters with no note before a voice is made to rest
    guard: float = 0.0015  # seconds before a deadline in which no generation starts
    tick: float = 0.01  # seconds the engine sleeps at most when idle
    command_queue: int = 1024  # bounded queue of validated OSC commands
    commands_per_tick: int = 256
    coalesce: bool = True  # superseded seeds and primes in one iteration are not applied
    seeds_per_second: float = 20.0  # reseeds of one voice a second; faster: the latest waits
    status_interval: float = 0.1  # seconds between live view refreshes
    expand_repeats: bool = True  # play :| sections again (as abc2midi); False: as written
    # a control the performer changes (sampling, constraint, key, meter) cuts a repeat being
    # replayed at the next bar line, so it is heard there (issue 17); False: repeats play out
    follow_repeats: bool = True
    midi_thru: bool = False  # the performer's --midi-in notes go out too (voice 1's channel)
    max_repeat_beats: float = 64.0  # a longer :| section plays on: bounds how far ahead a voice is
    # ask the OS for real-time priority (SCHED_FIFO) for the engine thread; refused: one
    # notice and normal priority
    realtime: bool = True
    sync: SyncConfig = SyncConfig()
    # how the interpreter plays (graces, backing, swing, stagger: livernn/abc/state.py);
    # expand_repeats and max_repeat_beats above override its own
    feel: InterpreterOptions = InterpreterOptions()

    def validate(self) -> EngineConfig:
        if not self.voices:
            raise ConfigError("at least one voice is needed")
        L.VOICES.check(len(self.voices), "the number of voices")
        for v in self.voices:
            v.validate()
        check_bpm(self.tempo)
        L.LOOKAHEAD.check(self.lookahead)
        if self.quantize not in QUANTIZE:
            raise ConfigError(
                f"quantize must be one of {', '.join(QUANTIZE)}, not {self.quantize!r}"
            )
        L.MAX_NOTE.check(self.max_note)
        self.sync.validate()
        if self.steps_per_tick < 1 or self.silent_chars < 1:
            raise ConfigError("steps per tick and silent chars must be >= 1")
        return self


@dataclass(frozen=True, slots=True)
class OscConfig:
    """The OSC server."""

    host: str = "127.0.0.1"
    port: int = 9000
    out: tuple[tuple[str, int], ...] = ()  # --osc-out receivers of the out messages
    allow: tuple[str, ...] = ()  # sender IPs or CIDR ranges besides loopback; "*" allows any
    allow_subscribe: tuple[str, ...] = ()  # hosts or ranges a subscription may name
    max_packet: int = 8192  # bytes; larger datagrams are refused
    max_subscribers: int = 32
    errors_per_second: float = 50.0  # /livernn/error replies per sender (host and port) a second
    replies_per_host: float = 200.0  # error and status replies per sender host a second
    status_per_host: float = 10.0  # /livernn/status replies per sender host a second
    replies_total: float = 500.0  # error and status replies a second, all senders together
    bundles: bool = False  # --osc-out-bundles: note echo as bundles timetagged with the deadline


@dataclass(frozen=True, slots=True)
class MidiConfig:
    """The MIDI output: a named port, a virtual port, or the default."""

    enabled: bool = True
    port: str | None = None  # substring of an output port name
    virtual: str | None = None  # name of a virtual port to create
    api: str | None = None  # alsa, jack, coremidi, winmm (None: try what works)
    connect: str | None = None  # JACK: connect the port to the MIDI input matching this
    auto_connect: bool = True  # JACK: connect it to a running synth found by itself
    midi_in: str | None = None  # substring of an input port name: the performer's keyboard


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """The built-in FluidSynth (``--synth``): a sound card, a WAV file, or both."""

    enabled: bool = False
    soundfont: Path | None = None  # None: the first GM soundfont found where distributions put it
    wav: Path | None = None  # --synth-wav: the set's audio written here too
    gain: float | None = None  # FluidSynth's gain (None: peaks near -3 dBFS)
    driver: str | None = None  # FluidSynth audio driver (None: JACK when up, else its default)

    @property
    def audio(self) -> bool:
        """Play to a sound card (``--synth-driver none``: only the WAV file)."""
        return self.driver != "none"


@dataclass(frozen=True, slots=True)
class ServeConfig:
    model: Path
    device: str = "auto"
    engine: EngineConfig = field(default_factory=EngineConfig)
    osc: OscConfig = field(default_factory=OscConfig)
    midi: MidiConfig = field(default_factory=MidiConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    record: Path | None = None
    record_force: bool = False  # --force: --record may overwrite an existing file
    quiet: bool = False


def parse_host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT`` for 127.0.0.1) as a pair; ConfigError when malformed."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    try:
        p = int(port)
    except ValueError:
        raise ConfigError(f"expected HOST:PORT, not {text!r}") from None
    L.PORT.check(p)
    return (host or "127.0.0.1"), p
