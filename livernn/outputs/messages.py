"""The one place that builds mido messages (live MIDI, the ``--record`` file, ``render``).

Channels are 1..16 here, as musicians count them and as OSC carries them; MIDI's 0..15 is
used only inside the messages.
"""

from __future__ import annotations

import mido

ALL_NOTES_OFF = 123  # control change number (MIDI 1.0 channel mode message)
ALL_CHANNELS = tuple(range(1, 17))


def note_on(channel: int, pitch: int, velocity: int, time: int = 0) -> mido.Message:
    return mido.Message("note_on", channel=channel - 1, note=pitch, velocity=velocity, time=time)


def note_off(channel: int, pitch: int, time: int = 0) -> mido.Message:
    return mido.Message("note_off", channel=channel - 1, note=pitch, velocity=0, time=time)


def program(channel: int, number: int, time: int = 0) -> mido.Message:
    return mido.Message("program_change", channel=channel - 1, program=number, time=time)


def all_notes_off(channel: int) -> mido.Message:
    return mido.Message("control_change", channel=channel - 1, control=ALL_NOTES_OFF, value=0)


def set_tempo(bpm: float, time: int = 0) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=time)


def realtime(message: tuple[int, ...]) -> mido.Message:
    """A MIDI clock or transport message from its bytes (0xF8 clock, 0xFA start, 0xFB
    continue, 0xFC stop, 0xF2 song position and its two data bytes)."""
    return mido.Message.from_bytes(list(message))
