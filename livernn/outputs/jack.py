"""JACK, seen from outside: is a server up, which ports it has, connecting two of them.

Used by the MIDI output (``outputs/midi.py``: livernn's JACK MIDI port is connected to a
running synth's input), the built-in synth (``outputs/synth.py``: FluidSynth plays to JACK
when a server is up) and ``livernn ports``. It runs ``jack_lsp`` and ``jack_connect`` (from
jackd2 / JACK's example clients) as subprocesses: no JACK library is loaded into livernn, and
where the tools are missing every function answers "no JACK" rather than failing.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Clients that are synths: their MIDI inputs are what livernn connects to by itself.
SYNTH_CLIENTS = (
    "fluidsynth",
    "qsynth",
    "yoshimi",
    "zynaddsubfx",
    "timidity",
    "surge",
    "setbfree",
    "linuxsampler",
    "carla",
    "ardour",
    "sonic-pi",
)
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class JackPort:
    """One port of the running JACK server (``jack_lsp -t -p``)."""

    name: str  # client:port
    kind: str  # "midi" or "audio" (or what jack_lsp says)
    is_input: bool

    @property
    def client(self) -> str:
        return self.name.split(":", 1)[0]


def _env() -> dict[str, str]:
    return {**os.environ, "JACK_NO_START_SERVER": "1"}  # never spawn a server by surprise


def _run(*cmd: str) -> subprocess.CompletedProcess[str] | None:
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    try:
        return subprocess.run(
            [exe, *cmd[1:]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=_env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        log.info("%s failed: %s", cmd[0], e)
        return None


def tools_installed() -> bool:
    return shutil.which("jack_lsp") is not None and shutil.which("jack_connect") is not None


def ports() -> list[JackPort] | None:
    """Every port of the running server, or None when no server is up (or no jack_lsp)."""
    r = _run("jack_lsp", "-t", "-p")
    if r is None or r.returncode != 0:
        return None
    out: list[JackPort] = []
    name: str | None = None
    props = ""
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            name, props = line.strip(), ""
        elif line.strip().startswith("properties:"):
            props = line.strip()
        elif name is not None:
            kind = "midi" if "midi" in line else "audio" if "audio" in line else line.strip()
            out.append(JackPort(name, kind, "input," in props))
            name = None
    return out


def running() -> bool:
    """A JACK server is up (the default one, or ``JACK_DEFAULT_SERVER``)."""
    return ports() is not None


def midi_inputs(all_ports: list[JackPort] | None = None) -> list[str]:
    """The JACK MIDI input ports (what a MIDI output can play to)."""
    ps = ports() if all_ports is None else all_ports
    return [p.name for p in ps or [] if p.kind == "midi" and p.is_input]


def find_synth_input(wanted: str | None, exclude: str = "livernn") -> str | None:
    """The MIDI input to connect to: the first whose name contains ``wanted``
    (case-insensitive), or with ``wanted`` None the first of a known synth client
    (``SYNTH_CLIENTS``); never one of livernn's own clients."""
    names = [n for n in midi_inputs() if not n.lower().startswith(exclude)]
    if wanted is not None:
        w = wanted.lower()
        return next((n for n in names if w in n.lower()), None)
    for client in SYNTH_CLIENTS:
        for n in names:
            if n.lower().startswith(client):
                return n
    return None


def connect(src: str, dst: str) -> str:
    """Connect two ports; "" when done (or already connected), else why not (one line)."""
    r = _run("jack_connect", src, dst)
    if r is None:
        return "jack_connect is not installed (apt-get install jackd2)"
    if r.returncode != 0 and "already" not in (r.stderr + r.stdout):
        lines = (r.stderr or r.stdout).strip().splitlines()
        return lines[-1] if lines else f"jack_connect exited {r.returncode}"
    return ""
