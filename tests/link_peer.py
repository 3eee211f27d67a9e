"""A second Ableton Link peer that measures livernn against its own beat grid (issue 11).

Run INSIDE a private network namespace that has only loopback (``tests/test_link.py`` and
``bench/sync.py`` do: ``unshare -n`` then ``ip link set lo up multicast on; ip route add
224.0.0.0/4 dev lo``), so Link's multicast discovery never leaves this machine::

    python tests/link_peer.py --model M --bpm 120 --seconds 20 --change 150 --out r.json

It joins Link with the same binding as livernn (LinkPython-extern), starts ``livernn serve
--link --no-midi`` with its note echo sent here, and timestamps every ``/livernn/note`` on
Link's clock as it arrives. Notes within an eighth of a beat of a downbeat (phase 0 of the
quantum) are livernn's beat-1 notes; their distance from the downbeat is the phase error.
``--change`` makes this peer change the tempo halfway; the follow time is from the change to
the first note on the new grid (within 1 ms of a sixteenth or a triplet eighth, the only
places ``--plain`` puts notes), and how many notes came before it. ``--load`` runs a CPU-bound process
beside livernn. One JSON object is written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

SO_TIMESTAMPNS = 35  # Linux <asm-generic/socket.h>
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from livernn.osc import encode, parse_datagram  # noqa: E402
from tests.support.server import REEL_SEED, free_udp_port  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--change", type=float, default=None, help="tempo to change to halfway")
    ap.add_argument("--quantum", type=float, default=4.0)
    ap.add_argument("--load", action="store_true")
    ap.add_argument("--transport", action="store_true", help="stop and start the session")
    ap.add_argument("--relink", action="store_true", help="/livernn/link 0, then 1, near the end")
    ap.add_argument("--out", required=True)
    ap.add_argument("serve_args", nargs="*")
    a = ap.parse_args()
    import link

    peer = link.Link(a.bpm)
    peer.startStopSyncEnabled = True
    peer.enabled = True
    clock = peer.clock()
    q = a.quantum
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.05)
    ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ctl.bind(("127.0.0.1", 0))
    ctl.settimeout(0.2)
    port = free_udp_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "livernn", "-v", "serve", "--model", a.model, "--link",
           "--quantum", str(q), "--no-midi", "--quiet", "--plain", "--osc-port", str(port),
           "--osc-out", f"127.0.0.1:{rx.getsockname()[1]}", "--tempo", "97",
           "--seed", REEL_SEED, "--rng-seed", "3", *a.serve_args]  # fmt: skip
    load = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if a.load else None
    serve = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    notes: list[tuple[float, float, float]] = []  # (link seconds, beat, bpm) at arrival
    change_at = None
    stopped_notes = None
    stop_at = None
    relinked_at = unlinked_at = None
    done = threading.Event()

    def receive() -> None:
        # the kernel's arrival time (SO_TIMESTAMPNS, wall clock), taken to Link's clock by
        # the offset read right after: this process being scheduled late does not count
        rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        while not done.is_set():
            try:
                data, anc, _, _ = rx.recvmsg(65536, 256)
            except TimeoutError:
                continue
            wall = next((struct.unpack("qq", d[:16]) for lvl, typ, d in anc
                         if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS), None)  # fmt: skip
            off = clock.micros() - time.time_ns() / 1000.0
            t = round(wall[0] * 1e6 + wall[1] / 1e3 + off) if wall else clock.micros()
            for address, _ in parse_datagram(data):
                if address == "/livernn/note":
                    s = peer.captureSessionState()
                    notes.append((t / 1e6, s.beatAtTime(t, q), s.tempo()))

    thread = threading.Thread(target=receive, daemon=True)
    try:
        _wait_ready(ctl, port, serve)
        deadline = time.monotonic() + 10
        while peer.numPeers() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)  # livernn is a peer of the session
        thread.start()
        t_start = time.monotonic()
        if a.transport:  # the session plays (livernn already does): only changes count
            s = peer.captureSessionState()
            s.setIsPlaying(True, clock.micros())
            peer.commitSessionState(s)
        if a.change:
            time.sleep(a.seconds / 2)
            s = peer.captureSessionState()
            change_at = clock.micros()
            s.setTempo(a.change, change_at)
            peer.commitSessionState(s)
        if a.transport:
            time.sleep(max(0.0, a.seconds / 1.5 - (time.monotonic() - t_start)))
            s = peer.captureSessionState()
            stop_at = clock.micros() / 1e6
            s.setIsPlaying(False, clock.micros())
            peer.commitSessionState(s)
            time.sleep(0.3)  # notes already on their way
            n = len(notes)
            time.sleep(1.0)
            stopped_notes = len(notes) - n
            s = peer.captureSessionState()
            s.setIsPlayingAndRequestBeatAtTime(True, clock.micros(), 0.0, q)
            peer.commitSessionState(s)
        if a.relink:
            time.sleep(max(0.0, a.seconds * 0.75 - (time.monotonic() - t_start)))
            unlinked_at = clock.micros() / 1e6
            ctl.sendto(encode("/livernn/link", [0]), ("127.0.0.1", port))
            time.sleep(1.0)
            ctl.sendto(encode("/livernn/link", [1]), ("127.0.0.1", port))
            relinked_at = clock.micros() / 1e6
        time.sleep(max(0.0, a.seconds - (time.monotonic() - t_start)))
        done.set()
        thread.join(1.0)
    finally:
        serve.terminate()
        out = serve.communicate(timeout=20)[0].decode(errors="replace")
        if load is not None:
            load.kill()
    # while unlinked (/livernn/link 0) livernn keeps its own grid, and on /link 1 it jumps to
    # the session's within a bar: those notes are measured on their own (relinked_notes)
    locked = [n for n in notes
              if unlinked_at is None or not unlinked_at <= n[0] < relinked_at + 0.5]  # fmt: skip
    result = analyse(locked, q, None if change_at is None else change_at / 1e6)
    result["raw"] = notes
    result.update(peers=peer.numPeers(), bpm=a.bpm, change=a.change, load=a.load,
                  stopped_notes=stopped_notes, stop_at=stop_at, unlinked_at=unlinked_at,
                  relinked_at=relinked_at, change_at=None if change_at is None else change_at / 1e6,
                  relinked_notes=analyse([n for n in notes if relinked_at and n[0] > relinked_at + 0.5], q, None)["downbeat_ms"], serve_tail=out[-2000:])  # fmt: skip
    Path(a.out).write_text(json.dumps(result))


def analyse(notes, q, change_at):
    """Beat-1 phase errors, every note's distance to the grid (a sixteenth or a triplet
    eighth), and the follow: the notes after the peer's tempo change until the first one on
    the new grid (0: from the next note), and how long after the change that note came."""
    downbeat_ms, downbeat_t, grid_ms = [], [], []
    for t, beat, bpm in notes:
        if change_at is not None and 0 <= t - change_at < 1.0:
            continue  # the follow is measured on its own below
        phase = beat % q
        d = min(phase, q - phase)
        if d < 0.125:
            downbeat_ms.append(d * 60000.0 / bpm)
            downbeat_t.append(t)
        grid_ms.append(_grid_error_ms(beat, bpm))
    follow_ms = follow_notes = None
    if change_at is not None:
        after = [(t, b, bpm) for t, b, bpm in notes if t >= change_at]
        for i, (t, b, bpm) in enumerate(after):
            if _grid_error_ms(b, bpm) <= 1.0:
                follow_ms, follow_notes = (t - change_at) * 1000.0, i
                break
    return {"notes": len(notes), "downbeat_ms": downbeat_ms, "downbeat_t": downbeat_t,
            "grid_ms": grid_ms,
            "follow_ms": follow_ms, "follow_notes": follow_notes}  # fmt: skip


def _grid_error_ms(beat, bpm):
    errs = [abs(beat * k - round(beat * k)) / k for k in (4, 3)]
    return min(errs) * 60000.0 / bpm


def _wait_ready(ctl, port, serve) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if serve.poll() is not None:
            raise SystemExit(f"livernn serve exited: {serve.stdout.read().decode()[-2000:]}")
        ctl.sendto(encode("/livernn/ping"), ("127.0.0.1", port))
        try:
            if ctl.recv(1024):
                return
        except TimeoutError:
            continue
    raise SystemExit("livernn serve did not answer /livernn/ping")


if __name__ == "__main__":
    main()
