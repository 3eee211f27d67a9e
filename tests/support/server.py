"""Run a real ``livernn serve`` subprocess on free ports and talk to it over real UDP.

    with serve(model_path, "--tempo", "180") as s:
        s.send("/livernn/temperature", 0.8)
        s.subscribe()
        notes = s.wait_for("/livernn/note", count=5)
    # on exit the server got SIGTERM; s.returncode is its exit status

The server is started with ``--no-midi --quiet`` unless other MIDI options are given (pass
``midi=True`` to leave the MIDI options to you), waits until it answers ``/livernn/ping``, and is
always stopped (SIGTERM, then SIGKILL) even when the test fails. ``s.output()`` has what it
printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from livernn.osc import encode, parse_datagram

ROOT = Path(__file__).resolve().parents[2]
# A reel's header, as a --seed (the two characters \n are a newline), for the timing tests that
# need many notes in a few seconds. The shipped model reads style from the header: with a bare
# "X:1 M:4/4 L:1/8 K:D" it often writes an Essen song in quarter notes (half its training
# tunes are Essen), with "R:reel" a dance tune in eighths.
REEL_SEED = "X:1\\nT:Reel\\nR:reel\\nM:4/4\\nL:1/8\\nK:D\\n"


def serve_config(engine: Any, osc: Any = None, **kw: Any) -> Any:
    """A ``ServeConfig`` for an in-process ``build_server``: no MIDI, no view, no model path
    (the model object is passed to ``build_server`` itself)."""
    from livernn.config import MidiConfig, OscConfig, ServeConfig

    return ServeConfig(
        model=Path("(in process)"), engine=engine, osc=osc or OscConfig(port=0),
        midi=MidiConfig(enabled=False), quiet=True, **kw,
    )  # fmt: skip


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OscClient:
    """A UDP socket that sends OSC to the server and keeps every reply it receives."""

    def __init__(self, server: tuple[str, int]) -> None:
        self.server = server
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.received: list[tuple[float, str, list[Any]]] = []

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(encode(address, args), self.server)

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def poll(self, timeout: float = 0.0) -> int:
        """Read what has arrived (waiting up to ``timeout`` for the first datagram)."""
        n = 0
        self.sock.settimeout(timeout if timeout > 0 else 0.0)
        while True:
            try:
                data, _ = self.sock.recvfrom(65536)
            except (BlockingIOError, TimeoutError):
                return n
            t = time.monotonic()
            with contextlib.suppress(Exception):
                for address, args in parse_datagram(data):
                    self.received.append((t, address, args))
                    n += 1
            self.sock.settimeout(0.0)

    def messages(self, address: str | None = None) -> list[list[Any]]:
        return [a for _, addr, a in self.received if address in (None, addr)]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[list[Any]]:
        """Block until ``count`` messages to ``address`` have arrived (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        while len(self.messages(address)) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                got = sorted({a for _, a, _ in self.received})
                raise AssertionError(
                    f"{len(self.messages(address))}/{count} {address} in {timeout} s; got {got}"
                )
            self.poll(min(left, 0.1))
        return self.messages(address)

    def ask(self, address: str, reply: str, *args: Any, timeout: float = 5.0) -> list[Any]:
        """Send and wait for the next ``reply`` message; its arguments."""
        before = len(self.messages(reply))
        self.send(address, *args)
        return self.wait_for(reply, before + 1, timeout)[before]

    def close(self) -> None:
        self.sock.close()


class ServeProcess(OscClient):
    """A running ``livernn serve`` plus an OSC client socket talking to it."""

    def __init__(self, proc: subprocess.Popen, host: str, port: int, log: Path) -> None:
        super().__init__((host, port))
        self.proc = proc
        self.osc_host = host
        self.osc_port = port
        self.log = log
        self.returncode: int | None = None
        self.stop_seconds: float | None = None
        self.final_output = ""  # what it printed, kept after serve() removes the log

    def subscribe(self) -> None:
        """Receive /livernn/note, /text, /tune on this client's socket."""
        self.send("/livernn/subscribe")
        self.ask("/livernn/ping", "/livernn/pong")  # the subscription is in place after this

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int:
        """Send ``sig`` and wait; kill after ``timeout``. The exit status (and stop_seconds)."""
        if self.proc.poll() is None:
            t0 = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.stop_seconds = time.monotonic() - t0
        self.returncode = self.proc.returncode
        return self.returncode


def start(
    model: str | Path,
    *args: str,
    midi: bool = False,
    env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
    attempts: int = 3,
) -> ServeProcess:
    """Start ``livernn serve`` on a free port and wait until it answers /livernn/ping."""
    last = ""
    for _ in range(attempts):
        port = free_udp_port()
        fd, name = tempfile.mkstemp(prefix="livernn-serve-", suffix=".log")
        log = Path(name)
        cmd = [sys.executable, "-m", "livernn", "serve", "--model", str(model)]
        cmd += ["--osc-host", "127.0.0.1", "--osc-port", str(port)]
        if not midi:
            cmd += ["--no-midi"]
        if "--quiet" not in args and "--no-quiet" not in args:
            cmd += ["--quiet"]
        cmd += [a for a in args if a != "--no-quiet"]
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.Popen(cmd, stdout=fd, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
        os.close(fd)
        s = ServeProcess(proc, "127.0.0.1", port, log)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline and proc.poll() is None:
            s.send("/livernn/ping")
            if s.poll(0.2) and s.messages("/livernn/pong"):
                s.received.clear()
                return s
        last = s.output()
        s.stop(signal.SIGKILL)
        s.close()
        if "cannot listen" not in last:  # only a port race is worth another try
            break
    raise RuntimeError(f"livernn serve did not answer /livernn/ping:\n{last[-2000:]}")


@contextlib.contextmanager
def serve(model: str | Path, *args: str, **kw: Any) -> Iterator[ServeProcess]:
    """``start`` as a context manager that always stops the server (SIGTERM)."""
    s = start(model, *args, **kw)
    try:
        yield s
    finally:
        s.stop()
        s.close()
        s.final_output = s.output()
        with contextlib.suppress(OSError):
            s.log.unlink()
