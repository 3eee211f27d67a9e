"""Reply amplification (issue 14.6): bytes livernn sends back per byte it receives, for the
worst messages, once and under a flood from many source ports, over real UDP on loopback.

    nice python bench/osc_amplification.py            # print the table
    nice python bench/osc_amplification.py --write    # ... and put it in BENCHMARKS.md

The real server (shipped model, stopped so only replies are sent) runs in this process. Each
row sends one kind of request from ``--ports`` source ports for ``--seconds`` and counts what
comes back; "budget off" raises every reply budget out of reach (as before the fix).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import write_block  # noqa: E402
from livernn.config import EngineConfig, OscConfig  # noqa: E402
from livernn.model import OnnxModel  # noqa: E402
from livernn.osc import encode  # noqa: E402
from livernn.paths import DEFAULT_MODEL  # noqa: E402
from livernn.server import build_server  # noqa: E402
from tests.support.server import serve_config  # noqa: E402

BEGIN, END = "<!-- bench:amplification:begin -->", "<!-- bench:amplification:end -->"
KINDS = {
    "/livernn/status": encode("/livernn/status", []),
    "a bad /livernn/temperature (error reply)": encode("/livernn/temperature", [-1.0]),
    "/livernn/ping": encode("/livernn/ping", []),
}


def drain(socks: list[socket.socket]) -> tuple[int, int]:
    """(datagrams, bytes) waiting on the sockets, read without blocking."""
    n = size = 0
    for s in socks:
        while True:
            try:
                size += len(s.recv(65536))
                n += 1
            except BlockingIOError:
                break
    return n, size


def measure(
    model, data: bytes, ports: int, seconds: float, budget: bool, once: bool = False
) -> dict:
    osc = OscConfig(port=0)
    if not budget:
        big = 1e9
        osc = replace(osc, errors_per_second=big, replies_per_host=big, status_per_host=big,
                      replies_total=big)  # fmt: skip
    srv = build_server(serve_config(EngineConfig(autostart=False), osc), model)
    srv.start()
    socks = []
    for _ in range(ports):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
        socks.append(s)
    sent_bytes = got_bytes = sent = got = 0
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds or (once and sent == 0):
            for s in socks:
                s.sendto(data, srv.endpoint.address)
                sent += 1
                sent_bytes += len(data)
            if once:
                break
            time.sleep(0.002)
            n, b = drain(socks)
            got, got_bytes = got + n, got_bytes + b
        time.sleep(0.2)
        n, b = drain(socks)
        got, got_bytes = got + n, got_bytes + b
    finally:
        srv.stop()
        for s in socks:
            s.close()
    secs = time.perf_counter() - t0
    return {"sent": sent, "got": got, "ratio": got_bytes / max(1, sent_bytes),
            "out_per_s": got_bytes / secs}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--ports", type=int, default=300)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    model = OnnxModel(args.model, voices=1)
    rows = []
    for label, data in KINDS.items():
        one = measure(model, data, 1, 0.0, True, once=True)
        for budget in (False, True):
            r = measure(model, data, args.ports, args.seconds, budget)
            rows.append((label, len(data), one["ratio"], budget, r))
            print(label, budget, r, flush=True)
    cmd = "nice python bench/osc_amplification.py --write"
    lines = [
        "```", cmd, "```", "",
        f"{args.ports} source ports on 127.0.0.1 for {args.seconds:g} s each row; Python"
        f" {platform.python_version()}, {os.cpu_count()} cores, load average"
        f" {os.getloadavg()[0]:.1f}. \"Single\" is one request and its reply; the flood rows"
        " count every byte that came back.",
        "",
        "| request | bytes in | single: bytes out / in | budgets | requests sent | replies |"
        " bytes out / bytes in | bytes out per s |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for label, size, single, budget, r in rows:
        lines.append(
            f"| {label} | {size} | {single:.1f} | {'on (after)' if budget else 'off (before)'} |"
            f" {r['sent']} | {r['got']} | {r['ratio']:.2f} | {r['out_per_s']:.0f} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_block(BEGIN, END, text, "Stage: reply amplification")
    return 0


if __name__ == "__main__":
    sys.exit(main())
