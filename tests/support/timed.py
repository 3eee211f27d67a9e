"""Timed OSC for tests and benchmarks: bundles with a timetag, and a UDP receiver that keeps
the kernel's arrival time of each datagram (SO_TIMESTAMPNS on Linux, on the wall clock), so a
busy test thread cannot make a bundle look late."""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

from livernn.osc import encode
from livernn.oscwire import split_packet
from livernn.timetag import bundle, unix_to_ntp

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not name it


def timed(ahead: float, *messages: tuple[str, list[Any]]) -> tuple[bytes, float]:
    """A bundle of ``messages`` timetagged ``ahead`` seconds from now, and the engine-clock
    (``time.perf_counter``) time it means, both clocks read together."""
    t = time.perf_counter()
    w = time.time()
    t = (t + time.perf_counter()) / 2
    data = bundle(unix_to_ntp(w + ahead), [encode(a, args) for a, args in messages])
    return data, t + ahead


class TimedReceiver:
    """A UDP socket on 127.0.0.1 that keeps (arrival wall time, datagram) of what it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.kernel_times = True
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            self.kernel_times = False
        self.address: tuple[str, int] = self.sock.getsockname()
        self.got: list[tuple[float, bytes]] = []

    def poll(self, timeout: float = 0.0) -> int:
        n = 0
        self.sock.settimeout(timeout if timeout > 0 else 0.0)
        while True:
            try:
                data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
            except (BlockingIOError, TimeoutError):
                return n
            t = time.time()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                    sec, ns = struct.unpack("qq", raw[:16])
                    t = sec + ns * 1e-9
            self.got.append((t, data))
            n += 1
            self.sock.settimeout(0.0)

    def bundles(self) -> list[tuple[float, int, list[bytes]]]:
        """(arrival, timetag, messages) of every bundle received."""
        out = []
        for t, data in self.got:
            if data.startswith(b"#bundle\x00"):
                els = split_packet(data).elements
                out.append((t, els[0].timetag, [e.data for e in els]))
        return out

    def close(self) -> None:
        self.sock.close()
