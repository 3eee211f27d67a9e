"""Run a real headless Sonic Pi (the ``sonic-pi-server`` package) under test control.

Sonic Pi needs a JACK server: ``sonic_pi()`` starts one with ``tests/support/jack.py``
(``jackd -d dummy`` under a unique name, no sound card needed) and points scsynth at it through
``JACK_DEFAULT_SERVER``. Every port Sonic Pi uses is
picked free and passed on its command line, so nothing collides with another Sonic Pi. Its
log (what a GUI would show: ``/log/multi_message``, ``/error``, ``/syntax_error`` ...) arrives
on our "GUI" socket and is kept in ``messages``. ``stop()`` ends every process it started,
beam.smp, scsynth, o2m and m2o included (beam.smp outlives ``/exit``), even when the test
failed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from tests.support import jack

SERVER_RB = Path("/usr/lib/sonic-pi/app/server/ruby/bin/sonic-pi-server.rb")
BOOTED = "Sonic Pi Server successfully booted."
GUI_ID = "livernn-test"


def skip_unless_installed() -> None:
    """Skip with a clear reason when the programs .ci/run installs are missing."""
    if not SERVER_RB.exists() or shutil.which("ruby") is None:
        pytest.skip("Sonic Pi is not installed (apt-get install sonic-pi-server; see .ci/run)")
    jack.skip_unless_installed(fluidsynth=False)


def free_udp_ports(n: int) -> list[int]:
    """n distinct free UDP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _osc(address: str, *args: Any) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class SonicPi:
    """A headless Sonic Pi: ``start()``, ``run_code(code)``, ``messages``, ``stop()``."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.extra_env = dict(env or {})
        self.messages: list[tuple[str, list[Any]]] = []
        self._lock = threading.Lock()
        self._gui = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._gui.bind(("127.0.0.1", 0))
        self._gui.settimeout(0.1)
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read_gui, daemon=True)
        self._server: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "sonic-pi-server.log"
        self.server_port = 0
        self.cues_port = 0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        home = self.workdir / "home"
        tmp = self.workdir / "tmp"
        home.mkdir(exist_ok=True)
        tmp.mkdir(exist_ok=True)
        env = {
            **os.environ,
            **self.extra_env,
            "HOME": str(home),
            "TMPDIR": str(tmp),  # Sonic Pi's pid store lives in $TMPDIR/sonic-pi-pids
            "JACK_NO_AUDIO_RESERVATION": "1",
        }
        server, scsynth, cues, erlang, midi_out, midi_in, websocket = free_udp_ports(7)
        self.server_port, self.cues_port = server, cues
        gui = self._gui.getsockname()[1]
        ports = [server, gui, scsynth, scsynth, cues, erlang, midi_out, midi_in, websocket]
        self._reader.start()
        with open(self.log_path, "wb") as server_log:
            self._server = subprocess.Popen(
                ["ruby", str(SERVER_RB), "-u", *map(str, ports)],
                env=env,
                stdout=server_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: scsynth, beam.smp, o2m, m2o
            )
        deadline = time.monotonic() + timeout
        while BOOTED not in self.log():
            if self._server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Sonic Pi did not boot; its log ends:\n{self.log()[-2000:]}")
            time.sleep(0.1)
        self._send("/cue-port-start", GUI_ID)  # without it, OSC to the cue port is dropped

    def stop(self) -> None:
        """End everything we started; safe to call twice and after a failed start."""
        if self._server is not None and self._server.poll() is None:
            with contextlib.suppress(OSError):
                self._send("/exit", GUI_ID)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._server.wait(timeout=3)
        pids = self._child_pids()
        if self._server is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._server.pid, signal.SIGTERM)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
        if self._server is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._server.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._server.wait(timeout=5)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self._closing.set()
        if self._reader.is_alive():
            self._reader.join(timeout=2)
        self._gui.close()

    def _child_pids(self) -> list[int]:
        """PIDs Sonic Pi says it started (scsynth, beam.smp, o2m, m2o)."""
        return [int(p) for p in re.findall(r"^Started \[(\d+)\]", self.log(), re.M)]

    # -- talking to it ---------------------------------------------------------------------
    def _send(self, address: str, *args: Any) -> None:
        self._gui.sendto(_osc(address, *args), ("127.0.0.1", self.server_port))

    def run_code(self, code: str) -> None:
        """Run code as if it were a buffer and Run was pressed."""
        self._send("/run-code", GUI_ID, code)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _read_gui(self) -> None:
        while not self._closing.is_set():
            try:
                data, _ = self._gui.recvfrom(65536)
            except (TimeoutError, OSError):
                continue
            try:
                msgs = [
                    (m.message.address, list(m.message.params)) for m in OscPacket(data).messages
                ]
            except Exception:  # not OSC: ignore
                continue
            with self._lock:
                self.messages.extend(msgs)

    def snapshot(self) -> list[tuple[str, list[Any]]]:
        with self._lock:
            return list(self.messages)

    def errors(self) -> list[str]:
        """Text of every /error and /syntax_error Sonic Pi reported."""
        return [
            " ".join(str(a) for a in args)
            for addr, args in self.snapshot()
            if addr in ("/error", "/syntax_error")
        ]

    def log_lines(self) -> list[str]:
        """Every line of /log/multi_message (what the GUI's log pane shows)."""
        lines = []
        for addr, args in self.snapshot():
            if addr == "/log/multi_message":
                # args: job id, thread name, run time, count, then (style, text) pairs
                lines.extend(str(a) for a in args[5::2])
        return lines


@contextlib.contextmanager
def sonic_pi(workdir: Path, env: dict[str, str] | None = None) -> Iterator[SonicPi]:
    """A booted headless Sonic Pi on its own dummy JACK server; everything stopped on exit."""
    skip_unless_installed()
    with jack.jack_server(fluidsynth=False) as js:
        sp = SonicPi(workdir, {**js.env, **(env or {})})
        try:
            sp.start()
            yield sp
        finally:
            sp.stop()
