"""The MIDI output: a mido port on python-rtmidi, chosen by API and name.

``open_midi`` never stops the server: when no port can be opened it returns None and a
one-line reason, and livernn carries on with OSC and the terminal view.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from collections.abc import Iterator

from livernn.config import MidiConfig
from livernn.outputs import messages
from livernn.outputs.base import NoteSink

log = logging.getLogger(__name__)

# --midi-api NAME -> python-rtmidi API name
APIS: dict[str, str] = {
    "alsa": "LINUX_ALSA",
    "jack": "UNIX_JACK",
    "coremidi": "MACOSX_CORE",
    "winmm": "WINDOWS_MM",
}
CLIENT_NAME = "livernn"


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence C libraries (ALSA, JACK) that print to fd 2 while ports are probed."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def backend(api: str | None):
    """A mido backend object for an rtmidi API (None: rtmidi's default)."""
    import mido

    name = "mido.backends.rtmidi"
    if api is not None:
        name += "/" + APIS[api]
    return mido.Backend(name, load=True)


def candidate_apis(api: str | None) -> list[str | None]:
    """The APIs to try: the one asked for, else the platform's usual ones in order."""
    if api is not None:
        return [api]
    if sys.platform.startswith("linux"):
        return ["alsa", "jack"]
    if sys.platform == "darwin":
        return ["coremidi", "jack"]
    if sys.platform.startswith("win"):
        return ["winmm"]
    return [None]


def output_names(api: str | None) -> list[str]:
    """Output port names on one API; [] when the API is not usable here."""
    try:
        with quiet_stderr():
            return list(backend(api).get_output_names())
    except Exception:
        return []


def find_port(names: list[str], wanted: str) -> str | None:
    """The first name containing ``wanted`` (case-insensitive)."""
    w = wanted.lower()
    for n in names:
        if w in n.lower():
            return n
    return None


class MidiOutput(NoteSink):
    """Sends note-on/off and program changes to a mido output port; closing it silences
    every channel."""

    name = "midi"
    latency_group = "midi"
    takes_clock = True

    def __init__(self, port, description: str) -> None:
        self.port = port
        self.description = description
        self.failed = False
        self.connected: str | None = None  # JACK: the synth input it was connected to

    def _send(self, msg) -> None:
        try:
            self.port.send(msg)
        except Exception as e:  # a vanished port must not stop the show
            if not self.failed:
                log.error("MIDI output %s failed: %s", self.description, e)
                self.failed = True

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self._send(messages.note_on(channel, pitch, velocity))

    def note_off(self, t, voice, channel, pitch) -> None:
        self._send(messages.note_off(channel, pitch))

    def program(self, t, channel, program) -> None:
        self._send(messages.program(channel, program))

    def panic(self, t, channels) -> None:
        for ch in channels:
            self._send(messages.all_notes_off(ch))

    def clock(self, t, message) -> None:
        self._send(messages.realtime(message))

    def close(self, t) -> None:
        # The note-offs have been sent; add all-notes-off on every channel, then give the
        # backend time to deliver (JACK flushes its buffer once per process cycle, and a
        # port closed at once drops what is still queued).
        self.panic(t, list(messages.ALL_CHANNELS))
        time.sleep(0.1)
        try:
            self.port.close()
        except Exception as e:
            log.warning("closing MIDI output %s: %s", self.description, e)


def open_midi(cfg: MidiConfig) -> tuple[MidiOutput | None, str]:
    """Open the port ``cfg`` asks for; (output, what was opened) or (None, why not). The
    port gets all-notes-off on every channel at once: a run killed by SIGKILL (which cannot
    be caught) may have left notes sounding on the synth behind it."""
    out, why = _open(cfg)
    if out is not None:
        out.panic(0.0, list(messages.ALL_CHANNELS))
    return out, why


def _jack_own_ports() -> set[str]:
    """livernn's JACK MIDI outputs now (to tell which one a new virtual port became)."""
    from livernn.outputs import jack

    return {
        p.name
        for p in jack.ports() or []
        if p.kind == "midi" and not p.is_input and p.client.startswith(CLIENT_NAME)
    }


def auto_connect(out: MidiOutput, before: set[str], cfg: MidiConfig) -> None:
    """JACK: connect the virtual port just opened (the one not in ``before``) to the synth
    input ``cfg.connect`` names, or to a running synth found by itself. A failure is a
    warning: the port stays open for the user to connect."""
    from livernn.outputs import jack

    if cfg.connect is None and not cfg.auto_connect:
        return
    if not jack.tools_installed():
        log.warning("cannot connect the MIDI port: jack_lsp/jack_connect missing (jackd2)")
        return
    mine = sorted(_jack_own_ports() - before)
    target = jack.find_synth_input(cfg.connect)
    if target is None:
        if cfg.connect is not None:
            log.warning(
                "no JACK MIDI input matches --connect %r (inputs: %s)",
                cfg.connect,
                ", ".join(jack.midi_inputs()) or "none",
            )
        return
    if not mine:
        log.warning("cannot find livernn's JACK port to connect it to %s", target)
        return
    why = jack.connect(mine[0], target)
    if why:
        log.warning("cannot connect %s to %s: %s", mine[0], target, why)
        return
    out.connected = target
    out.description += f" -> {target}"


def _open(cfg: MidiConfig) -> tuple[MidiOutput | None, str]:
    if not cfg.enabled:
        return None, "MIDI output disabled (--no-midi)"
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never spawn a JACK server by surprise
    tried: list[str] = []
    for api in candidate_apis(cfg.api):
        label = api or "default"
        try:
            with quiet_stderr():
                be = backend(api)
                wire = api == "jack" and (cfg.connect is not None or cfg.auto_connect)
                before = _jack_own_ports() if wire else set()
                if cfg.virtual is not None:
                    port = be.open_output(
                        cfg.virtual, virtual=True, autoreset=False, client_name=CLIENT_NAME
                    )
                    out = MidiOutput(port, f"virtual port {cfg.virtual!r} ({label})")
                    if wire:
                        auto_connect(out, before, cfg)
                    return out, ""
                names = list(be.get_output_names())
                if cfg.port is not None:
                    name = find_port(names, cfg.port)
                    if name is None:
                        tried.append(
                            f"{label}: no port matches {cfg.port!r} among {names or 'none'}"
                        )
                        continue
                    port = be.open_output(
                        name, autoreset=False
                    )  # client_name would make it virtual
                    return MidiOutput(port, f"{name!r} ({label})"), ""
                try:
                    port = be.open_output(
                        CLIENT_NAME, virtual=True, autoreset=False, client_name=CLIENT_NAME
                    )
                    out = MidiOutput(port, f"virtual port {CLIENT_NAME!r} ({label})")
                    if wire:
                        auto_connect(out, before, cfg)
                    return out, ""
                except Exception as e:
                    if not names:
                        tried.append(f"{label}: no virtual port ({_short(e)}) and no output port")
                        continue
                port = be.open_output(names[0], autoreset=False)
                return MidiOutput(port, f"{names[0]!r} ({label})"), ""
        except Exception as e:
            tried.append(f"{label}: {_short(e)}")
    return None, "no MIDI output (" + "; ".join(tried) + ")"


def _short(e: Exception) -> str:
    """One line about a failed API. rtmidi names the input class (``MidiInAlsa::...``)
    even when an output was opened: say what is missing instead."""
    s = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if "ALSA sequencer" in s:
        return "no ALSA sequencer (/dev/snd/seq)"
    if "JACK server not running" in s:
        return "no JACK server running"
    s = re.sub(r"^Midi(In|Out)\w*::\w+: ", "", s)
    return s[:120]
