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
from typing import TYPE_CHECKING

from livernn.serve_args import add_arguments

if TYPE_CHECKING:
    from livernn.config import SyncConfig

__all__ = ["add_arguments", "build_config", "run"]

NO_MIDI_HINT = "playing to OSC only (see 'livernn ports', --midi-port, --osc-out)"
# What the startup line says when nothing will sound at all.
NO_SOUND_HINT = "for sound: --synth (FluidSynth; apt-get install fluidsynth fluid-soundfont-gm)"


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
            midi_in="listen" if args.midi_in else "off",
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
        realtime=not args.no_realtime,
        sync=sync_config(args),
        expand_repeats=not args.no_repeats and args.repeats != "off",
        follow_repeats=args.repeats == "follow",
        midi_thru=args.midi_thru,
        feel=feel,
    ).validate()
    if engine.sync.clock_out and args.no_midi:
        raise ConfigError("--clock-out sends MIDI clock on the MIDI output: drop --no-midi")
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
        bundles=args.osc_out_bundles,
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
        midi_in=args.midi_in,
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
        # SIGSTOP, not SIGTSTP again: the kernel discards SIGTSTP's default stop in an
        # orphaned process group (livernn started from a script that has exited), SIGSTOP
        # always stops; the shell's fg sends SIGCONT either way
        os.kill(os.getpid(), signal.SIGSTOP)  # stops here until SIGCONT
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
    if args.midi_in:
        _say(f"MIDI in: {server.midi_in_desc}" if server.midi_in else server.midi_in_desc)
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


def sync_config(args: argparse.Namespace) -> SyncConfig:
    """The ``SyncConfig`` of the flags; ``--link`` without the binding is a one-line error."""
    from livernn.config import SyncConfig

    if args.link:
        from livernn.sync.link import load_link

        load_link()
    return SyncConfig(
        link=args.link,
        quantum=args.quantum,
        clock_out=args.clock_out,
        clock_in=args.clock_in,
        midi_latency=args.midi_latency / 1000.0,
        osc_latency=args.osc_latency / 1000.0,
    ).validate()
