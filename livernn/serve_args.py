"""The command-line flags of ``livernn serve`` (its parser; ``livernn/serve.py`` runs it; the
names other tools rely on are listed in docs/DESIGN.md)."""

from __future__ import annotations

import argparse

from livernn.constrain.tables import DEFAULT_LEVEL, LEVELS
from livernn.feelopts import add_feel_arguments
from livernn.paths import DEFAULT_MODEL


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
    g.add_argument(
        "--osc-out-bundles",
        action="store_true",
        help="send each /livernn/note (and its /confidence) as an OSC bundle timetagged with "
        "the note's time, up to the lookahead early (for SuperCollider, Sonic Pi's server)",
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
        "--midi-in",
        metavar="PORT",
        help="listen to a performer: notes from the MIDI input matching PORT are written "
        "into the voices as ABC (/livernn/midi_in listen|accompany|off; default listen)",
    )
    g.add_argument(
        "--midi-thru",
        action="store_true",
        help="with --midi-in: the performer's notes also go to the outputs (voice 1's channel)",
    )
    g.add_argument("--realtime", action="store_true", help=argparse.SUPPRESS)  # the default now
    g.add_argument(
        "--no-realtime",
        action="store_true",
        help="normal priority (default: real-time SCHED_FIFO for the engine and OSC threads "
        "where the system allows, one notice where not)",
    )

    g = p.add_argument_group("in time with the band")
    g.add_argument(
        "--link",
        action="store_true",
        help="join the Ableton Link session: its tempo, phase, start/stop "
        "(pip install 'livernn[link]'; /livernn/link 1|0)",
    )
    g.add_argument(
        "--quantum",
        type=float,
        metavar="BEATS",
        help="Link quantum and bar grid in beats (default: the bar of the current meter)",
    )
    g.add_argument(
        "--clock-out",
        action="store_true",
        help="send MIDI clock (24 a beat) and Start/Stop/Continue on the MIDI output",
    )
    g.add_argument(
        "--clock-in", metavar="PORT", help="follow the MIDI clock of the input matching PORT"
    )
    g.add_argument(
        "--midi-latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="send MIDI (and --synth) this many ms early (/livernn/midi_latency)",
    )
    g.add_argument(
        "--osc-latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="send the OSC note echo this many ms early (/livernn/osc_latency)",
    )
    p.add_argument("--quiet", action="store_true", help="no live view and no tune log")
