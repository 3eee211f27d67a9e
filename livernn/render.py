"""``livernn render IN.abc --out OUT.mid|OUT.wav [--tune N] [--tempo BPM]``

Plays an ABC file through the streaming interpreter and writes a standard MIDI file (with
mido); ``.wav`` renders that MIDI file through FluidSynth (``outputs/synth.py``), normalised
to peak at -3 dBFS. Each tune plays at its own ``Q:``
(120 quarter notes per minute without one) unless ``--tempo`` is given; tunes follow each
other with one bar of silence between them. Grace notes, chord backing (its own track, bass
and chord channels), hornpipe swing and the chord stagger are played as abc2midi plays them
by default; the session-feel flags (feelopts.py) turn them off.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path

from livernn import limits as L
from livernn.abc.events import BASS, Event, NoteEvent, TuneChange, TuneEnd, TuneStart
from livernn.abc.interpreter import AbcInterpreter, InterpreterOptions
from livernn.abc.tunes import split_tunes
from livernn.errors import ConfigError
from livernn.feelopts import add_feel_arguments, backing_channels, feel_options
from livernn.outputs.synth import PEAK_DBFS, render_wav

log = logging.getLogger(__name__)

TICKS_PER_BEAT = 480


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="IN.abc", help="ABC file (one or more tunes)")
    parser.add_argument("--out", required=True, metavar="OUT", help="output .mid or .wav")
    parser.add_argument(
        "--tune",
        type=int,
        default=None,
        metavar="N",
        help="only the Nth tune of the file (1 = first)",
    )
    parser.add_argument(
        "--tempo",
        type=float,
        default=None,
        metavar="BPM",
        help="quarter notes per minute for every tune (default: each tune's Q:, else 120)",
    )
    parser.add_argument(
        "--channel", type=int, default=1, metavar="N", help="MIDI channel 1..16 (default 1)"
    )
    parser.add_argument(
        "--program",
        type=int,
        default=None,
        metavar="P",
        help="General MIDI program 0..127 to select first",
    )
    parser.add_argument(
        "--soundfont",
        metavar="PATH",
        default=None,
        help="the .sf2 for .wav output (default: FluidR3_GM where distributions put it)",
    )
    add_feel_arguments(parser)


def interpret(text: str, options: InterpreterOptions | None = None) -> list[Event]:
    """All events of ``text`` read in one go (then flushed)."""
    it = AbcInterpreter(options)
    events = it.feed(text)
    events += it.flush()
    if it.skipped:
        log.info("skipped %d unreadable character(s)", it.skipped)
    return events


def events_to_midi(
    events: Iterable[Event],
    *,
    tempo: float | None = None,
    channel: int = 0,
    program: int | None = None,
    backing: tuple[int, int] | None = None,
    backing_programs: tuple[int | None, int | None] = (None, None),
):  # -> mido.MidiFile
    """A type-1 MIDI file: track 0 holds the tempo map, track 1 the notes, track 2 (when
    there is any) the backing, its bass and chords on the 0-based channels ``backing``
    (default: the two after ``channel``). Tunes are laid end to end with one bar of rest
    between them."""
    import mido

    from livernn.outputs import messages

    bass_ch, chord_ch = backing if backing is not None else (channel + 1, channel + 2)
    tempo_msgs: list[tuple[int, int, mido.MetaMessage]] = []
    note_msgs: list[tuple[int, int, mido.Message]] = []
    backing_msgs: list[tuple[int, int, mido.Message]] = []
    offset = 0.0  # beat where the current tune starts
    end = 0.0  # last beat used so far
    bar = 4.0
    for ev in events:
        if isinstance(ev, NoteEvent):
            on = round((offset + ev.onset) * TICKS_PER_BEAT)
            off = max(on + 1, round((offset + ev.onset + ev.duration) * TICKS_PER_BEAT))
            if ev.backing:
                ch, msgs = (bass_ch if ev.backing == BASS else chord_ch), backing_msgs
            else:
                ch, msgs = channel, note_msgs
            msgs.append((on, 1, messages.note_on(ch + 1, ev.pitch, ev.velocity)))
            msgs.append((off, 0, messages.note_off(ch + 1, ev.pitch)))
            end = max(end, offset + ev.onset + ev.duration)
        elif isinstance(ev, TuneStart):
            offset = end + (bar if end > 0 else 0.0)
            bar = ev.bar_beats or 4.0
            bpm = tempo or ev.tempo or 120.0
            tempo_msgs.append((round(offset * TICKS_PER_BEAT), 0, messages.set_tempo(bpm)))
        elif isinstance(ev, TuneChange) and ev.tempo and tempo is None:
            tick = round((offset + ev.beat) * TICKS_PER_BEAT)
            tempo_msgs.append((tick, 0, messages.set_tempo(ev.tempo)))
        elif isinstance(ev, TuneEnd):
            end = max(end, offset + ev.beat)
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    tracks = [(tempo_msgs, "tempo"), (note_msgs, "notes")]
    if backing_msgs:
        tracks.append((backing_msgs, "backing"))
    for msgs, name in tracks:
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=name, time=0))
        if name == "notes" and program is not None:
            track.append(messages.program(channel + 1, program))
        if name == "backing":
            for ch, prog in zip((bass_ch, chord_ch), backing_programs, strict=True):
                if prog is not None:
                    track.append(messages.program(ch + 1, prog))
        msgs.sort(key=lambda m: (m[0], m[1]))  # note_offs before note_ons on the same tick
        now = 0
        for tick, _, msg in msgs:
            track.append(msg.copy(time=tick - now))
            now = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(track)
    return mid


def run(args: argparse.Namespace) -> int:
    src = Path(args.input)
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".mid", ".midi", ".wav"):
        raise ConfigError(f"--out must end in .mid or .wav, got {out.name!r}")
    if args.tempo is not None:
        L.TEMPO.check(args.tempo, "--tempo")
    L.CHANNEL.check(args.channel, "--channel")
    if args.program is not None:
        L.PROGRAM.check(args.program, "--program")
    try:
        text = src.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise ConfigError(f"cannot read {src}: {e.strerror or e}") from None
    if args.tune is not None:
        tunes = split_tunes(text)
        if not 1 <= args.tune <= len(tunes):
            raise ConfigError(f"--tune must be 1..{len(tunes)} for {src.name}, got {args.tune}")
        text = tunes[args.tune - 1]
    bass, chord = backing_channels(args, {args.channel})
    events = interpret(text, feel_options(args))
    n_notes = sum(isinstance(e, NoteEvent) for e in events)
    n_tunes = sum(isinstance(e, TuneStart) for e in events)
    if n_tunes == 0:
        raise ConfigError(
            f"no tune found in {src} (a tune starts with X: and its header ends with K:)"
        )
    mid = events_to_midi(
        events,
        tempo=args.tempo,
        channel=args.channel - 1,
        program=args.program,
        backing=(bass - 1, chord - 1),
        backing_programs=(args.bass_program, args.chord_program),
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".wav":
        with tempfile.TemporaryDirectory(prefix="livernn-render-") as tmp:
            mid_path = Path(tmp) / "render.mid"
            mid.save(mid_path)
            before = render_wav(mid_path, out, Path(args.soundfont) if args.soundfont else None)
        log.info("rendered audio peaked at %.1f dBFS, normalised to %g", before, PEAK_DBFS)
    else:
        mid.save(out)
    print(f"{out}: {n_tunes} tune(s), {n_notes} notes, {mid.length:.1f} s")
    return 0
