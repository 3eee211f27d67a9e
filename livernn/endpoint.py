"""The UDP endpoint of the OSC server: one bound socket for control in, replies and out.

The only socket code of the OSC side (``livernn/osc.py`` stays pure); the threads that use it
live in ``livernn/server.py``.
"""

from __future__ import annotations

import logging
import socket

from livernn.errors import LivernnError, PortError


class _NoPythonOscWarnings(logging.Filter):
    """python-osc logs a warning on the root logger for some malformed packets (an empty
    bundle element, an unknown type tag). The sender already gets ``/livernn/error``; a flood
    of them must not become a flood of log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pythonosc" not in record.pathname


def quiet_python_osc() -> None:
    """Install the filter above on the root logger (once)."""
    root = logging.getLogger()
    if not any(isinstance(f, _NoPythonOscWarnings) for f in root.filters):
        root.addFilter(_NoPythonOscWarnings())


class Endpoint:
    """A bound UDP socket: receives control messages and sends replies and out messages
    from the same port (Sonic Pi matches replies by the port it sent to)."""

    def __init__(self, host: str, port: int, max_packet: int = 8192) -> None:
        quiet_python_osc()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            self.sock.close()
            raise _port_error(host, port, e) from None
        self.max_packet = max_packet
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self._timeout: float | None = None

    def family_of(self, host: str) -> int | None:
        """The socket family that reaches ``host`` from this socket, None when it cannot
        (an IPv4 socket cannot send to an IPv6 address, nor a socket bound to ::1 to
        127.0.0.1)."""
        v6 = ":" in host
        if self.sock.family == socket.AF_INET:
            return socket.AF_INET if not v6 else None
        if v6:
            return socket.AF_INET6
        return socket.AF_INET6 if self.address[0] in ("::", "") else None

    def recv(self, timeout: float) -> tuple[bytes, tuple[str, int]] | None:
        """One datagram (up to max_packet + 1 bytes, so oversize is detectable), or None."""
        if timeout != self._timeout:
            self.sock.settimeout(timeout)
            self._timeout = timeout
        try:
            data, addr = self.sock.recvfrom(self.max_packet + 1)
        except (TimeoutError, BlockingIOError):
            return None
        except OSError:
            return None  # e.g. ICMP port unreachable reported on Windows; keep serving
        return data, addr[:2]

    def send(self, addr: tuple[str, int], data: bytes) -> bool:
        if self.sock.family == socket.AF_INET6 and ":" not in addr[0]:
            addr = ("::ffff:" + addr[0], addr[1])  # IPv4 through a dual-stack socket
        try:
            self.sock.sendto(data, addr)
            return True
        except OSError:
            return False  # an unreachable subscriber must not stop the show

    def close(self) -> None:
        self.sock.close()


def _port_error(host: str, port: int, e: OSError) -> LivernnError:
    return PortError(f"cannot listen for OSC on {host}:{port}: {e.strerror or e}")
