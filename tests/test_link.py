"""Ableton Link end to end (issue 11): ``livernn serve --link`` and a second Link peer
(tests/link_peer.py, the same binding) in a private network namespace with only loopback,
so Link's multicast discovery never touches the machine's own interfaces.

The peer timestamps livernn's note echo on Link's clock (kernel arrival times) and checks it
against its own beat grid: beat-1 notes on its downbeats, a tempo change by the peer followed
from the next note, the peer's stop and start followed. The bounds are loose (this machine
is shared and noisy); bench/sync.py measures the real figures for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.netns import in_namespace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def namespace_ok() -> None:
    pytest.importorskip("link", reason="the [link] extra (LinkPython-extern) is not installed")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare and ip (util-linux, iproute2) are needed for a private network")
    probe = in_namespace(["ip", "-o", "link"], 10)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a private network namespace here: {probe.stderr.strip()}")
    assert probe.stdout.count(": ") >= 1 and "lo" in probe.stdout
    assert all(" lo:" in line for line in probe.stdout.splitlines())  # nothing but loopback


def test_livernn_plays_on_the_link_peers_downbeats_and_follows_it(namespace_ok, tmp_path):
    model = ROOT / "exported" / "tunes.onnx"
    out = tmp_path / "link.json"
    run = in_namespace(
        [sys.executable, str(ROOT / "tests" / "link_peer.py"), "--model", str(model),
         "--bpm", "120", "--seconds", "20", "--change", "150", "--transport", "--relink", "--out", str(out)],
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:] + run.stdout[-2000:]
    r = json.loads(out.read_text())
    assert "joined the Link session" in r["serve_tail"]
    assert r["notes"] > 40
    downbeats = np.array(r["downbeat_ms"])
    assert len(downbeats) >= 4, r["serve_tail"]  # bar lines reached the peer's downbeats
    # (the notes while unlinked and just after /link 1 are measured below, on their own)
    late = [(round(t, 2), round(ms, 1)) for t, ms in zip(r["downbeat_t"], downbeats, strict=True)
            if ms >= 10.0]  # fmt: skip
    events = {k: r[k] for k in ("change_at", "stop_at", "unlinked_at", "relinked_at")}
    assert np.percentile(downbeats, 50) < 2.0 and not late, (late, events, downbeats)
    # the peer's tempo change: the next note (or, if one was already on its way, the one
    # after) sits on the new grid
    assert r["follow_notes"] is not None and r["follow_notes"] <= 1, r["follow_notes"]
    assert r["stopped_notes"] == 0  # the peer stopped the session: livernn stopped
    assert "the band stopped" in r["serve_tail"] and "the band started" in r["serve_tail"]
    # /livernn/link 0 then 1: left and joined again, still on the peer's downbeats
    assert "left the Link session" in r["serve_tail"]
    assert r["serve_tail"].count("joined the Link session") == 2
    relinked = np.array(r["relinked_notes"])
    assert len(relinked) >= 1 and relinked.max() < 10.0, relinked
