"""``--record FILE.mid``: a standard MIDI file of exactly what was played."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import mido

from livernn.errors import ConfigError
from livernn.outputs import messages
from livernn.outputs.base import NoteSink

log = logging.getLogger(__name__)

TICKS_PER_BEAT = 480
FILE_BPM = 120.0  # the file's nominal tempo; times are seconds, whatever the performer did


class MidiFileRecorder(NoteSink):
    """Collects every message with its send time (panics too, as the port got them) and
    writes a type-0 file on ``close``."""

    name = "record"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(f"cannot record to {self.path}: folder {parent} does not exist")
        if not os.access(parent, os.W_OK):
            raise ConfigError(f"cannot record to {self.path}: folder {parent} is not writable")
        self._events: list[tuple[float, mido.Message]] = []
        self._start: float | None = None
        self.written = False

    def _add(self, t: float, msg: mido.Message) -> None:
        if self._start is None:
            self._start = t
        self._events.append((t, msg))

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self._add(t, messages.note_on(channel, pitch, velocity))

    def note_off(self, t, voice, channel, pitch) -> None:
        self._add(t, messages.note_off(channel, pitch))

    def program(self, t, channel, program) -> None:
        self._add(t, messages.program(channel, program))

    def panic(self, t, channels) -> None:
        for ch in channels:  # recorded as the MIDI port got it
            self._add(t, messages.all_notes_off(ch))

    def close(self, t) -> None:
        self.write()

    def write(self) -> None:
        """Write the file (atomically: a temporary file renamed into place)."""
        track = mido.MidiTrack()
        track.append(messages.set_tempo(FILE_BPM))
        start = self._start or 0.0
        last = 0
        for t, msg in self._events:
            tick = round((t - start) * TICKS_PER_BEAT * FILE_BPM / 60.0)
            tick = max(tick, last)
            track.append(msg.copy(time=tick - last))
            last = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
        mid.tracks.append(track)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            mid.save(str(tmp))
            os.replace(tmp, self.path)
            self.written = True
        except OSError as e:
            log.error("cannot write %s: %s", self.path, e)
