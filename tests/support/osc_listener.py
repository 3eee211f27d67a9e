"""A second OSC client for client tests: subscribes to a livernn server, records what it sends
back (notes, errors, status), and asks for /livernn/status. Real UDP, no mocks."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def _dgram(address: str, *args: Any) -> bytes:
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


class OscListener:
    """``with OscListener(host, port) as ears:`` subscribes on entry, unsubscribes on exit."""

    def __init__(self, host: str, port: int) -> None:
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.received: list[tuple[float, str, list[Any]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OscListener:
        self._thread.start()
        self.send("/livernn/subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.send("/livernn/unsubscribe")
        finally:
            self._stop.set()
            self._thread.join(timeout=2)
            self.sock.close()

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(_dgram(address, *args), self.server)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except (TimeoutError, OSError):
                continue
            try:
                msgs = [
                    (m.message.address, list(m.message.params)) for m in OscPacket(data).messages
                ]
            except Exception:
                continue
            now = time.monotonic()
            with self._lock:
                self.received.extend((now, a, p) for a, p in msgs)

    def messages(self, address: str) -> list[list[Any]]:
        with self._lock:
            return [p for _, a, p in self.received if a == address]

    def notes(self) -> list[tuple[int, int, float]]:
        """(pitch, velocity, seconds) of every /livernn/note so far."""
        return [(int(p[0]), int(p[1]), float(p[2])) for p in self.messages("/livernn/note")]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[list[Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages(address)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        return self.messages(address)

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The server's /livernn/status reply as a dict of its name/value pairs."""
        before = len(self.messages("/livernn/status"))
        self.send("/livernn/status")
        got = self.wait_for("/livernn/status", before + 1, timeout)
        if len(got) <= before:
            raise TimeoutError("no /livernn/status reply")
        args = got[-1]
        return {str(args[i]): args[i + 1] for i in range(0, len(args) - 1, 2)}
