"""The OSC server in-process on real UDP sockets with the real tiny model: replies, errors,
sender filter, packet cap, bounded queue, note echo to subscribers."""

from __future__ import annotations

import time

import pytest

from livernn.config import EngineConfig, OscConfig, VoiceConfig
from livernn.osc import encode
from livernn.server import build_server
from tests.support.recording import RecordingOutput
from tests.support.server import OscClient, serve_config


@pytest.fixture
def server(tiny_model_path):
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=2)
    osc = OscConfig(host="127.0.0.1", port=0, max_packet=1024, errors_per_second=1000)
    rec = RecordingOutput()
    cfg = EngineConfig(
        voices=(VoiceConfig(rng_seed=1), VoiceConfig(channel=2, rng_seed=2)), tempo=240
    )
    srv = build_server(serve_config(cfg, osc), model, [rec])
    srv.start()
    client = OscClient(srv.endpoint.address)
    yield srv, client, rec
    srv.stop()
    client.close()


def test_ping_status_and_errors_reply_to_the_sender(server):
    srv, c, rec = server
    assert c.ask("/livernn/ping", "/livernn/pong") == []
    status = c.ask("/livernn/status", "/livernn/status")
    pairs = dict(zip(status[::2], status[1::2], strict=True))
    assert pairs["voices"] == 2 and pairs["tempo"] == 240.0 and pairs["running"] == 1
    (reason,) = c.ask("/livernn/temperature", "/livernn/error", -1.0)
    assert "temperature" in reason and "> 0" in reason
    (reason,) = c.ask("/livernn/seed", "/livernn/error", "X:1\u00e9")
    assert "vocabulary" in reason


def test_changes_arrive_and_apply(server):
    srv, c, rec = server
    c.send("/livernn/temperature", 0.5)
    c.send("/livernn/voice/2/top_k", 3.0)  # Pd sends floats
    c.send("/livernn/tempo", 100)
    c.ask("/livernn/ping", "/livernn/pong")
    time.sleep(0.05)
    e = srv.engine
    assert [v.params.temperature for v in e.voices] == [0.5, 0.5]
    assert [v.params.top_k for v in e.voices] == [0, 3]
    assert e.tempo.bpm == 100.0


def test_subscribers_receive_notes_text_and_stop_silences(server):
    srv, c, rec = server
    c.send("/livernn/subscribe")
    c.send("/livernn/seed", "X:1\\nT:Hello\\nM:4/4\\nL:1/8\\nK:D\\nDEFG ABcd|")
    notes = c.wait_for("/livernn/note", count=6, timeout=10)
    assert all(len(n) == 5 and 0 <= n[0] <= 127 and n[2] > 0 for n in notes)
    assert {n[3] for n in notes} <= {1, 2} and {n[4] for n in notes} <= {1, 2}
    assert ["Hello", 1] in c.messages("/livernn/tune") or ["Hello", 2] in c.messages(
        "/livernn/tune"
    )
    assert c.messages("/livernn/text")
    # each melody note's confidence: pitch, the model's entropy in bits, voice
    sure = c.wait_for("/livernn/confidence", count=6, timeout=10)
    assert all(len(m) == 3 and m[1] >= 0.0 and m[2] in (1, 2) for m in sure)
    assert {m[0] for m in sure} <= {n[0] for n in c.messages("/livernn/note")}
    c.send("/livernn/stop")
    c.ask("/livernn/ping", "/livernn/pong")
    time.sleep(0.1)
    assert rec.sounding() == {}
    n = len(c.messages("/livernn/note"))
    time.sleep(0.4)
    c.poll(0.05)
    assert len(c.messages("/livernn/note")) == n  # nothing after stop
    c.send("/livernn/unsubscribe")


def test_oversize_malformed_and_unknown(server):
    srv, c, rec = server
    c.send_raw(encode("/livernn/seed", ["X" * 2000]))
    c.send_raw(b"not osc at all")
    c.send("/livernn/bogus", 1)
    errors = c.wait_for("/livernn/error", count=3)
    text = " ".join(e[0] for e in errors)
    assert "larger than 1024" in text and "malformed" in text and "unknown address" in text
    assert c.ask("/livernn/ping", "/livernn/pong") == []  # still serving


def test_senders_other_than_loopback_are_ignored(server):
    srv, c, rec = server
    before = srv.engine.tempo.bpm
    srv.handle_datagram(encode("/livernn/tempo", [60.0]), ("192.0.2.7", 9000))
    assert srv.dropped["sender not allowed"] == 1
    time.sleep(0.05)
    assert srv.engine.tempo.bpm == before
    assert srv.allowed("127.0.0.1") and not srv.allowed("10.1.1.1")


def test_a_full_queue_refuses_instead_of_growing(tiny_model_path):
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=1)
    cfg = EngineConfig(command_queue=4)
    # not started: nothing drains the queue
    srv = build_server(serve_config(cfg), model, [RecordingOutput()], listen=False)
    engine = srv.engine
    for _ in range(10):
        srv.handle_datagram(encode("/livernn/temperature", [0.9]), ("127.0.0.1", 1))
    assert engine.commands.qsize() == 4
    assert srv.dropped["queue full"] == 6
