"""``--record FILE.mid``: a standard MIDI file of exactly what was played, streamed to disk.

The recording never lives in memory: events go into a small buffer that is written out at
least once a second (``flush_every``), and the file on disk is a complete, valid type-0 MIDI
file after every write (the track's length is patched and an End of Track written, then
overwritten by the next events). It is written to a temporary file created safely in the
target's folder (``tempfile.mkstemp``: a random name, ``O_EXCL``, so a planted symlink is
never followed) and renamed onto the target atomically when the set ends. A SIGKILL, which
cannot be caught, loses at most the last second: what was played is in the ``.part`` file
beside the target.
"""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from pathlib import Path

import mido
from mido.midifiles.meta import encode_variable_int

from livernn.errors import ConfigError
from livernn.outputs import messages
from livernn.outputs.base import NoteSink

log = logging.getLogger(__name__)

TICKS_PER_BEAT = 480
FILE_BPM = 120.0  # the file's nominal tempo; times are seconds, whatever the performer did
END_OF_TRACK = b"\x00\xff\x2f\x00"  # delta 0, meta 0x2F, length 0
_HEADER = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
_LENGTH_AT = len(_HEADER) + 4  # the track chunk's length field, after b"MTrk"


def check_target(path: Path, force: bool) -> None:
    """ConfigError unless ``path`` can be recorded to (checked before anything opens)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"cannot record to {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot record to {path}: folder {parent} is not writable")
    if path.is_dir():
        raise ConfigError(f"cannot record to {path}: it is a folder")
    if (path.exists() or path.is_symlink()) and not force:
        raise ConfigError(f"cannot record to {path}: the file exists (--force overwrites it)")


class MidiFileRecorder(NoteSink):
    """Every message with its send time (panics too, as the port got them), streamed into a
    type-0 file that is renamed onto ``path`` on ``close``. ``failed`` tells that writing
    failed (the error is logged once; the show goes on)."""

    name = "record"

    def __init__(self, path: str | Path, force: bool = False, flush_every: float = 1.0) -> None:
        self.path = Path(path)
        check_target(self.path, force)
        self.flush_every = flush_every
        parent = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=parent)
        self.part = Path(tmp)
        self._file = os.fdopen(fd, "r+b")
        self._buffer = bytearray()
        self._track = 0  # bytes of track events on disk (without the End of Track)
        self._start: float | None = None
        self._last_tick = 0
        self._last_flush = -float("inf")
        self.events = 0
        self.failed = False
        self.written = False
        self._write_at(0, _HEADER + b"MTrk" + struct.pack(">I", 0))
        self._event(0, messages.set_tempo(FILE_BPM).bytes())
        self.flush()

    # -- NoteSink --------------------------------------------------------------------------

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self._add(t, messages.note_on(channel, pitch, velocity))

    def note_off(self, t, voice, channel, pitch) -> None:
        self._add(t, messages.note_off(channel, pitch))

    def program(self, t, channel, program) -> None:
        self._add(t, messages.program(channel, program))

    def panic(self, t, channels) -> None:
        for ch in channels:  # recorded as the MIDI port got it
            self._add(t, messages.all_notes_off(ch))
        self.flush()  # a panic is a moment worth having on disk at once

    def tick(self, t) -> None:
        if self._buffer and t - self._last_flush >= self.flush_every:
            self._last_flush = t
            self.flush()

    def close(self, t) -> None:
        self.finish()

    # -- writing ---------------------------------------------------------------------------

    def _add(self, t: float, msg: mido.Message) -> None:
        if self._start is None:
            self._start = t
        tick = max(self._last_tick, round((t - self._start) * TICKS_PER_BEAT * FILE_BPM / 60.0))
        self._event(tick - self._last_tick, msg.bytes())
        self._last_tick = tick
        self.events += 1
        if t - self._last_flush >= self.flush_every:
            self._last_flush = t
            self.flush()

    def _event(self, delta: int, data: list[int] | bytes) -> None:
        self._buffer += bytes(encode_variable_int(delta)) + bytes(data)

    def _write_at(self, offset: int, data: bytes) -> None:
        if self.failed or self._file.closed:
            return
        try:
            self._file.seek(offset)
            self._file.write(data)
        except OSError as e:
            self._fail(e)

    def flush(self) -> None:
        """Write the buffered events; the file on disk is then a complete MIDI file."""
        if self.failed or self._file.closed:
            return
        body = bytes(self._buffer)
        self._buffer.clear()
        self._write_at(_LENGTH_AT + 4 + self._track, body + END_OF_TRACK)
        self._track += len(body)
        self._write_at(_LENGTH_AT, struct.pack(">I", self._track + len(END_OF_TRACK)))
        try:
            self._file.flush()
        except OSError as e:
            self._fail(e)

    def finish(self) -> None:
        """Write the rest, make it durable and rename it onto the target (idempotent)."""
        if self._file.closed:
            return
        self.flush()
        try:
            if not self.failed:
                os.fsync(self._file.fileno())
            self._file.close()
            if not self.failed:
                os.replace(self.part, self.path)
                self.written = True
        except OSError as e:
            self._fail(e)
        finally:
            if not self._file.closed:
                self._file.close()

    def _fail(self, e: OSError) -> None:
        if not self.failed:
            self.failed = True
            log.error("cannot write the recording %s: %s", self.path, e.strerror or e)
