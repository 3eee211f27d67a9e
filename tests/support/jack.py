"""A real JACK server with the dummy driver (no sound card) and FluidSynth, for MIDI tests.

    with jack_server() as jack:                # skips the test when jackd/fluidsynth are missing
        env = jack.env                         # JACK_DEFAULT_SERVER for subprocesses
        with jack.midi_probe() as probe:       # a JACK MIDI input in this process
            jack.connect(src_port, probe.port_name)
            ...

Every server gets a unique name, so tests (and other users of the machine) never share one.
Everything started is stopped on exit, even when the test failed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def _can_realtime() -> bool:
    try:
        os.sched_get_priority_max(os.SCHED_FIFO)
        return os.geteuid() == 0 or os.sched_getscheduler(0) == os.SCHED_FIFO
    except (AttributeError, OSError):
        return False


def skip_unless_installed(fluidsynth: bool = True) -> None:
    for prog in ("jackd", "jack_lsp", "jack_connect") + (("fluidsynth",) if fluidsynth else ()):
        if shutil.which(prog) is None:
            pytest.skip(f"{prog} is not installed (apt-get install jackd2 fluidsynth; see .ci/run)")
    if fluidsynth and not SOUNDFONT.exists():
        pytest.skip(f"{SOUNDFONT} is missing (apt-get install fluid-soundfont-gm)")


def _stop(proc: subprocess.Popen | None, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout``. jackd sometimes takes 6 s to exit after its
    clients went, and a SIGKILLed jackd never frees its slot in JACK's shared registry of at
    most 8 servers (each test's server has its own name, so no later server reclaims it):
    after 8 such kills no jackd on the machine starts ("Too many servers already active")."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass
class JackServer:
    name: str
    logdir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should use this server."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def run(self, *cmd: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)

    def ports(self) -> list[str]:
        return [p for p in self.run("jack_lsp").stdout.splitlines() if p.strip()]

    def connections(self) -> dict[str, list[str]]:
        """port -> the ports connected to it (``jack_lsp -c``)."""
        out: dict[str, list[str]] = {}
        port = None
        for line in self.run("jack_lsp", "-c").stdout.splitlines():
            if line.startswith((" ", "\t")):
                if port is not None:
                    out[port].append(line.strip())
            elif line.strip():
                port = line.strip()
                out[port] = []
        return out

    def wait_for_port(self, fragment: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.ports():
                if fragment in p:
                    return p
            time.sleep(0.1)
        raise AssertionError(f"no JACK port containing {fragment!r}; ports: {self.ports()}")

    def connect(self, src: str, dst: str) -> None:
        r = self.run("jack_connect", src, dst)
        if r.returncode != 0 and "already" not in r.stderr:
            raise AssertionError(f"jack_connect {src} {dst} failed: {r.stderr.strip()}")

    @contextlib.contextmanager
    def _backend(self):
        """mido's JACK backend, this process's JACK clients on this server meanwhile."""
        import mido

        old = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        os.environ["JACK_NO_START_SERVER"] = "1"
        try:
            yield mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    @contextlib.contextmanager
    def midi_probe(self, name: str = "probe") -> Iterator[MidiProbe]:
        """A JACK MIDI input port in this process (python-rtmidi via mido) recording events."""
        with self._backend() as backend:
            probe = MidiProbe(name)
            port = backend.open_input(name, virtual=True, client_name=name, callback=probe._on)
            try:
                probe.port_name = self.wait_for_port(f"{name}:")
                yield probe
            finally:
                port.close()

    @contextlib.contextmanager
    def midi_keyboard(self, name: str = "keys") -> Iterator[object]:
        """A JACK MIDI output port in this process: a performer's keyboard (mido port)."""
        with self._backend() as backend:
            port = backend.open_output(name, virtual=True, client_name=name)
            try:
                self.wait_for_port(f"{name}:")
                yield port
            finally:
                port.close()


class MidiProbe:
    """What a JACK MIDI input received: (monotonic time, mido message)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port_name = ""
        self.events: list[tuple[float, object]] = []

    def _on(self, msg) -> None:
        self.events.append((time.monotonic(), msg))

    def notes(self) -> tuple[list, list]:
        """(note-ons with velocity > 0, note-offs including note-on velocity 0)."""
        ons, offs = [], []
        for _, m in list(self.events):
            if m.type == "note_on" and m.velocity > 0:
                ons.append(m)
            elif m.type == "note_off" or (m.type == "note_on" and m.velocity == 0):
                offs.append(m)
        return ons, offs

    def sounding(self, all_notes_off: bool = False) -> dict[tuple[int, int], int]:
        """(channel, note) -> note-ons not matched by a note-off (empty when balanced).
        Only real note-offs count unless ``all_notes_off`` (then CC 123 clears a channel)."""
        count: dict[tuple[int, int], int] = {}
        for _, m in list(self.events):
            key = (getattr(m, "channel", -1), getattr(m, "note", -1))
            if m.type == "note_on" and m.velocity > 0:
                count[key] = count.get(key, 0) + 1
            elif (m.type == "note_off" or m.type == "note_on") and count.get(key, 0) > 0:
                count[key] -= 1
            elif all_notes_off and m.type == "control_change" and m.control == 123:
                for k in [k for k in count if k[0] == m.channel]:
                    count[k] = 0
        return {k: n for k, n in count.items() if n}


@contextlib.contextmanager
def jack_server(
    fluidsynth: bool = True, period: int = 1024, realtime: bool = False
) -> Iterator[JackServer]:
    """jackd -d dummy under a unique name (+ FluidSynth listening on JACK MIDI); ``period``:
    frames per cycle at 48 kHz (MIDI events move once a cycle: 64 is 1.3 ms); ``realtime``:
    jackd's process threads at SCHED_FIFO 10 (livernn's real-time engine thread, at 5, then
    cannot delay JACK's cycle, which loses the MIDI events of a cycle it misses), where the
    system allows it (else as --no-realtime)."""
    skip_unless_installed(fluidsynth)
    name = f"livernn-test-{uuid.uuid4().hex[:8]}"
    logdir = Path(tempfile.mkdtemp(prefix="livernn-jack-"))
    server = JackServer(name, logdir)
    try:
        with open(logdir / "jackd.log", "w") as log:
            server.procs.append(
                subprocess.Popen(
                    ["jackd", *(["-R", "-P", "10"] if realtime and _can_realtime() else ["--no-realtime"]),
                     "-n", name, "-d", "dummy", "-r", "48000", "-p", str(period)],
                    stdout=log, stderr=subprocess.STDOUT, env=server.env,
                )
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while not any("system:" in p for p in server.ports()):
            if server.procs[0].poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jackd did not start: {(logdir / 'jackd.log').read_text()[-1000:]}")
            time.sleep(0.1)
        if fluidsynth:
            with open(logdir / "fluidsynth.log", "w") as log:
                server.procs.append(
                    subprocess.Popen(
                        ["fluidsynth", "-a", "jack", "-m", "jack", "-j", "-i", "-s",
                         "-o", f"audio.jack.server={name}", "-o", f"midi.jack.server={name}",
                         str(SOUNDFONT)],
                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=server.env,
                    )
                )  # fmt: skip
            server.wait_for_port("fluidsynth-midi:", timeout=20)
        yield server
    finally:
        for p in reversed(server.procs):
            _stop(p)
        shutil.rmtree(logdir, ignore_errors=True)
