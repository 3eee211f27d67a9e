"""``livernn serve``: play the model live; OSC in, MIDI and OSC out, a live terminal view.

It starts playing at once with the default seed (``--no-autostart`` waits for
``/livernn/start``). SIGINT, SIGTERM and every other catchable terminating signal release
every note, close the ports, finish the recording and exit 0; Ctrl-Z releases every note
before the process suspends, and it carries on from the same beat after ``fg``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from livernn.constrain.tables import DEFAULT_LEVEL, LEVELS
from livernn.feelopts import add_feel_arguments
from livernn.paths import DEFAULT_MODEL

NO_MIDI_HINT = "playing to OSC only (see 'livernn ports', --midi-port, --osc-out)"
# What the startup line says when nothing will sound at all.
NO_SOUND_HINT = "for sound: --synth (FluidSynth; apt-get install fluidsynth fluid-soundfont-gm)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default=str(DEFAULT_MODEL), help="ONNX model (default: %(default)s)")
    g.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the model runs: cuda needs onnxruntime-gpu (default auto: CPU unless it is slow)",
    )
    g.add_argument("--threads", type=int, default=1, help="onnxruntime threads (default 1)")
    g.add_argument("--voices", type=int, default=1, help="independent voices (default 1)")
    g.add_argument(
        "--allow-slow-model",
        action="store_true",
        help="play a model too slow for real time with these voices (a warning, not an error)",
    )

    g = p.add_argument_group("OSC")
    g.add_argument("--osc-host", default="127.0.0.1", help="listen address (default %(default)s)")
    g.add_argument("--osc-port", type=int, default=9000, help="listen port (default %(default)s)")
    g.add_argument(
        "--osc-out",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="also send /livernn/note, /text, /tune here (repeatable)",
    )
    g.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="HOST",
        help="accept OSC from this IP or CIDR range too (default: loopback only; '*' = anyone)",
    )
    g.add_argument(
        "--allow-subscribe",
        action="append",
        default=[],
        metavar="HOST",
        help="let /livernn/subscribe name this IP or range (default: the sender and loopback)",
    )
    g.add_argument("--max-packet", type=int, default=8192, help="largest datagram accepted (bytes)")

    g = p.add_argument_group("MIDI")
    m = g.add_mutually_exclusive_group()
    m.add_argument(
        "--midi-port", metavar="NAME", help="play to the output port whose name contains NAME"
    )
    m.add_argument("--virtual", metavar="NAME", help="create a virtual output port NAME")
    m.add_argument("--no-midi", action="store_true", help="no MIDI output (OSC and view only)")
    g.add_argument(
        "--midi-api",
        choices=("alsa", "jack", "coremidi", "winmm"),
        default=None,
        help="MIDI system (default: the platform's usual ones in turn, e.g. alsa then jack)",
    )
    c = g.add_mutually_exclusive_group()
    c.add_argument(
        "--connect",
        metavar="NAME",
        help="JACK: connect livernn's MIDI port to the input whose name contains NAME",
    )
    c.add_argument(
        "--no-connect",
        action="store_true",
        help="JACK: leave livernn's MIDI port unconnected (default: connect to a running synth)",
    )
    g.add_argument(
        "--channel",
        type=int,
        action="append",
        metavar="N",
        help="MIDI channel 1..16 of voice 1 (repeat for voices 2, 3...; default: 1, 2, ... skipping 10)",
    )
    g.add_argument(
        "--program",
        type=int,
        action="append",
        metavar="N",
        help="GM program 0..127 sent at start (repeat per voice)",
    )
    g.add_argument(
        "--record",
        metavar="OUT.mid",
        help="write what was played to a MIDI file (streamed: a kill loses at most 1 s)",
    )
    g.add_argument("--force", action="store_true", help="let --record overwrite an existing file")

    g = p.add_argument_group("built-in synth (FluidSynth)")
    g.add_argument(
        "--synth",
        action="store_true",
        help="play through FluidSynth with a General MIDI soundfont (JACK, PulseAudio, ALSA, CoreAudio)",
    )
    g.add_argument(
        "--soundfont", metavar="PATH", help="the .sf2 for --synth (default: FluidR3_GM where found)"
    )
    g.add_argument(
        "--synth-wav",
        metavar="FILE",
        help="also write the set's audio to this WAV file (implies --synth; no sound card needed)",
    )
    g.add_argument(
        "--synth-gain",
        type=float,
        default=None,
        help="FluidSynth gain 0..10 (default: peaks near -3 dBFS, shared by the voices)",
    )
    g.add_argument(
        "--synth-driver",
        metavar="NAME",
        default=None,
        help="FluidSynth audio driver (jack, pulseaudio, alsa, coreaudio...; none: the WAV only)",
    )

    add_feel_arguments(p)
    g = p.add_argument_group("music")
    g.add_argument(
        "--tempo", type=float, default=120.0, help="quarter-note BPM (default %(default)s)"
    )
    g.add_argument(
        "--temperature",
        type=float,
        action="append",
        metavar="T",
        help="sampling temperature (repeat per voice; default 1.0)",
    )
    g.add_argument(
        "--constrain",
        choices=LEVELS,
        default=DEFAULT_LEVEL,
        help="what the sampler lets the model write: none, syntax (valid ABC) or meter (valid "
        "ABC and every bar full); default %(default)s",
    )
    g.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0: off)")
    g.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    g.add_argument("--rng-seed", type=int, default=None, help="random seed (voice i uses seed + i)")
    g.add_argument(
        "--seed",
        action="append",
        metavar="TEXT",
        help=r"seed text, '\n' for newlines (repeat per voice; default 'X:1\n')",
    )
    g.add_argument(
        "--quantize",
        choices=("now", "bar"),
        default="now",
        help="a new seed cuts in now or at the next bar line (default now)",
    )
    g.add_argument(
        "--lookahead", type=float, default=0.05, help="seconds generated ahead (default 0.05)"
    )
    g.add_argument(
        "--max-note", type=float, default=8.0, help="longest note in seconds (default 8)"
    )
    g.add_argument(
        "--autostart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start playing at launch (default yes)",
    )
    g.add_argument(
        "--repeats",
        choices=("follow", "play", "off"),
        default="follow",
        help="follow (default): :| sections play again until a control changes, which cuts "
        "the repeat at the next bar line; play: repeats always play out; off: as written",
    )
    g.add_argument("--no-repeats", action="store_true", help="the same as --repeats off")
    g.add_argument(
        "--realtime",
        action="store_true",
        help="real-time (SCHED_FIFO) priority for the engine and OSC threads where allowed",
    )
    p.add_argument("--quiet", action="store_true", help="no live view and no tune log")


def _per_voice(values: list | None, n: int, default):
    """The i-th value for voice i; the last one repeats; ``default`` when none."""
    if not values:
        return [default] * n
    return [values[min(i, len(values) - 1)] for i in range(n)]


def voice_channels(given: list[int] | None, n: int) -> list[int]:
    """Channels of n voices: the given ones, then counting on from the last (skipping 10)."""
    out = list(given or [])[:n]
    nxt = (out[-1] if out else 0) + 1
    while len(out) < n:
        if nxt > 16:
            nxt = 1
        if nxt == 10 and n < 16:
            nxt += 1
            continue
        out.append(nxt)
        nxt += 1
    return out


def build_config(args: argparse.Namespace):
    """A validated ServeConfig from the parsed arguments (ConfigError when something is off)."""
    from dataclasses import replace
    from pathlib import Path

    from livernn import limits as L
    from livernn.config import (
        DEFAULT_SEED,
        EngineConfig,
        MidiConfig,
        OscConfig,
        ServeConfig,
        SynthConfig,
        VoiceConfig,
        parse_host_port,
    )
    from livernn.errors import ConfigError
    from livernn.feelopts import backing_channels, feel_options
    from livernn.osc import unescape
    from livernn.outputs.midifile import check_target

    n = int(L.VOICES.check(args.voices))
    channels = voice_channels(args.channel, n)
    bass, chord = backing_channels(args, set(channels))  # shared by the voices
    # the interpreter always writes the backing (unless --plain): /livernn/backing switches it
    feel = feel_options(args) if args.plain else replace(feel_options(args), backing=True)
    seeds = [unescape(s) for s in _per_voice(args.seed, n, DEFAULT_SEED)]
    temps = _per_voice(args.temperature, n, 1.0)
    programs = _per_voice(args.program, n, None)
    voices = tuple(
        VoiceConfig(
            channel=channels[i],
            program=programs[i],
            temperature=temps[i],
            top_k=args.top_k,
            top_p=args.top_p,
            constrain=args.constrain,
            rng_seed=None if args.rng_seed is None else args.rng_seed + i,
            seed=seeds[i],
            backing=not (args.no_backing or args.plain),
            bass_channel=bass,
            chord_channel=chord,
            bass_program=args.bass_program,
            chord_program=args.chord_program,
        ).validate()
        for i in range(n)
    )
    engine = EngineConfig(
        voices=voices,
        tempo=args.tempo,
        lookahead=args.lookahead,
        quantize=args.quantize,
        max_note=args.max_note,
        autostart=args.autostart,
        realtime=args.realtime,
        expand_repeats=not args.no_repeats and args.repeats != "off",
        follow_repeats=args.repeats == "follow",
        feel=feel,
    ).validate()
    from livernn.outputs.subscribers import parse_networks

    try:
        parse_networks(tuple(args.allow), "--allow")
        parse_networks(tuple(args.allow_subscribe), "--allow-subscribe")
    except ValueError as e:
        raise ConfigError(str(e)) from None
    L.LISTEN_PORT.check(args.osc_port)
    L.MAX_PACKET.check(args.max_packet)
    osc = OscConfig(
        host=args.osc_host,
        port=args.osc_port,
        out=tuple(parse_host_port(x) for x in args.osc_out),
        allow=tuple(args.allow),
        allow_subscribe=tuple(args.allow_subscribe),
        max_packet=args.max_packet,
    )
    synth = SynthConfig(
        enabled=bool(args.synth or args.synth_wav),
        soundfont=Path(args.soundfont) if args.soundfont else None,
        wav=Path(args.synth_wav) if args.synth_wav else None,
        gain=None if args.synth_gain is None else L.SYNTH_GAIN.check(args.synth_gain),
        driver=args.synth_driver,
    )
    if synth.wav is not None:
        check_target(synth.wav, args.force)
    midi = MidiConfig(
        enabled=not args.no_midi,
        port=args.midi_port,
        virtual=args.virtual,
        api=args.midi_api,
        connect=args.connect,
        # our own synth is fed directly: connecting the port to another one would double it
        auto_connect=not args.no_connect and not synth.enabled,
    )
    if args.record:  # a bad target is an error before the model loads
        check_target(Path(args.record), args.force)
    if args.threads < 1:
        raise ConfigError("--threads must be >= 1")
    return ServeConfig(
        model=Path(args.model),
        device=args.device,
        engine=engine,
        osc=osc,
        midi=midi,
        synth=synth,
        record=Path(args.record) if args.record else None,
        record_force=args.force,
        quiet=args.quiet,
    )


# Every catchable signal whose default would end the process: each stops the set like
# SIGTERM (every note released, the ports closed, the recording written), exit 0. SIGKILL
# cannot be caught: the next start sends all-notes-off on the port it opens.
STOP_SIGNALS = tuple(
    n for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM",
                "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGPWR", "SIGIO", "SIGSTKFLT")
    if hasattr(signal, n)
)  # fmt: skip


def install_signals(server) -> dict:
    """Stop on every signal of STOP_SIGNALS; on Ctrl-Z (SIGTSTP) release every note, then
    suspend for real, and on SIGCONT carry on from the beat where the music stopped. The
    previous handlers come back, to be restored."""

    def on_stop(signum, frame) -> None:
        server.request_stop()

    def on_tstp(signum, frame) -> None:
        server.suspend()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, on_tstp)
        server.resume()

    def on_cont(signum, frame) -> None:
        server.resume()

    old = {}
    for name in STOP_SIGNALS:
        sig = getattr(signal, name)
        old[sig] = signal.signal(sig, on_stop)
    if hasattr(signal, "SIGTSTP"):
        old[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, on_tstp)
        old[signal.SIGCONT] = signal.signal(signal.SIGCONT, on_cont)
    return old


def check_speed(model, path, allow_slow: bool) -> None:
    """Refuse (or, with --allow-slow-model, warn about) a model whose batched step of every
    voice is slower than real time needs (``limits.MAX_STEP_SECONDS``), measured at load."""
    from livernn import limits as L
    from livernn.errors import ModelError

    step = model.time_step()
    if step <= L.MAX_STEP_SECONDS:
        return
    msg = (
        f"{path}: one step of {model.voices} voice(s) takes {step * 1e3:.1f} ms, more than the"
        f" {L.MAX_STEP_SECONDS * 1e3:g} ms real time needs (100 characters a second per voice);"
        " notes would come late"
    )
    if not allow_slow:
        raise ModelError(msg + " (--allow-slow-model plays it anyway, or use fewer --voices)")
    _say("warning: " + msg)


def _say(msg: str) -> None:
    print(f"livernn: {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from livernn.model import OnnxModel
    from livernn.server import build_server

    cfg = build_config(args)
    if cfg.synth.enabled:  # a missing FluidSynth or soundfont: one line before the model loads
        from livernn.outputs.synth import find_fluidsynth, find_soundfont

        find_fluidsynth()
        find_soundfont(cfg.synth.soundfont)
    model = OnnxModel(
        cfg.model, voices=len(cfg.engine.voices), device=cfg.device, threads=args.threads
    )
    for v in cfg.engine.voices:
        model.vocab.encode(v.seed)  # an unknown character is a clear error before anything opens
    check_speed(model, cfg.model, allow_slow=args.allow_slow_model)
    server = build_server(cfg, model)
    assert server.endpoint is not None
    host, port = server.endpoint.address
    _say(
        f"model {cfg.model} ({model.meta.cell} {model.meta.layers}x{model.meta.hidden}, {model.providers[0]})"
    )
    _say(f"listening for OSC on {host}:{port}")
    _say(f"MIDI out: {server.midi_out}" if server.midi_out else f"{server.no_midi}; {NO_MIDI_HINT}")
    if server.synth:
        _say(f"synth: {server.synth}")
    elif not server.midi_out:
        _say(NO_SOUND_HINT)
    if cfg.record is not None:
        _say(f"recording to {cfg.record}")

    handlers = install_signals(server)
    import gc

    gc.collect()
    gc.freeze()  # the loaded model and tables never need collecting: shorter GC pauses
    from livernn.server import SWITCH_INTERVAL

    sys.setswitchinterval(SWITCH_INTERVAL)  # a note never waits 5 ms for the OSC thread
    try:
        server.start()
        while not server.wait(0.2):
            pass
    finally:
        server.stop()
        for s, h in handlers.items():
            signal.signal(s, h)
    if server.failure is not None:
        _say(f"error: the engine stopped: {server.failure}")
        return 1
    for rec in server.recorders():
        if rec.failed or not rec.written:
            _say(f"error: the recording {rec.path} was not written completely (see above)")
            return 1
    return 0
