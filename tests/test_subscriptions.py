"""Who may receive livernn's traffic (issue 14.5, 14.6, 14.12): subscriptions only to the
sender, the loopback or hosts the command line names; they expire; nobody cancels another's;
replies are budgeted per sender, per host and in total; ``--allow`` takes CIDR ranges and
refuses what can never match; IPv6 clients can subscribe themselves."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from livernn.config import EngineConfig, OscConfig, VoiceConfig
from livernn.osc import encode
from livernn.outputs.subscribers import LIFETIME, SubscriberTable, parse_networks
from livernn.server import build_server
from tests.support.server import OscClient, free_udp_port, serve, serve_config

ME = ("127.0.0.1", 5000)


@pytest.mark.parametrize(
    "host",
    ["8.8.8.8", "10.0.0.1", "192.168.1.255", "255.255.255.255", "224.0.0.1", "ff02::1"],
)
def test_a_subscription_cannot_point_at_another_host_broadcast_or_multicast(host):
    t = SubscriberTable()
    why = t.add((host, 9000), ME, now=0.0)
    assert why is not None and "--allow-subscribe" in why
    assert t.targets() == []


def test_the_sender_itself_the_loopback_and_named_hosts_may_be_subscribed():
    t = SubscriberTable(fixed_hosts=("10.0.0.9",), allow=parse_networks(("10.1.0.0/16",), "x"))
    assert t.add(("127.0.0.1", 9001), ME, 0.0) is None
    assert t.add(("::1", 9001), ("::1", 5000), 0.0) is None
    assert t.add(("192.0.2.7", 9001), ("192.0.2.7", 4000), 0.0) is None  # its own address
    assert t.add(("10.0.0.9", 9001), ME, 0.0) is None  # an --osc-out host
    assert t.add(("10.1.2.3", 9001), ME, 0.0) is None  # inside --allow-subscribe
    assert (
        SubscriberTable(allow=parse_networks(("224.0.0.1",), "x")).add(("224.0.0.1", 9), ME, 0.0)
        is None
    )  # multicast only when named on the command line


def test_subscriptions_expire_unless_their_owner_speaks():
    t = SubscriberTable()
    t.add(("127.0.0.1", 9001), ME, now=0.0)
    t.add(("127.0.0.1", 9002), ("127.0.0.1", 5001), now=0.0)
    t.renew(ME, now=LIFETIME - 1)
    assert t.expire(LIFETIME + 1) == [("127.0.0.1", 9002)]
    assert t.targets() == [("127.0.0.1", 9001)]


def test_one_client_cannot_unsubscribe_another_nor_fill_the_table():
    t = SubscriberTable(limit=32)
    assert t.add(("127.0.0.1", 9001), ME, 0.0) is None
    why = t.remove(("127.0.0.1", 9001), ("127.0.0.1", 6666))
    assert why is not None and "another client" in why and t.targets()
    assert t.remove(("127.0.0.1", 9001), ("127.0.0.1", 9001)) is None  # the target itself may
    for port in range(2000, 2010):
        t.add(("127.0.0.1", port), ("127.0.0.1", port + 100), 0.0)
    assert len(t.targets()) == 4  # one host holds at most 4


@pytest.mark.parametrize("bad", ["localhost.example", "10.0.0.0/33", "nonsense", ""])
def test_allow_refuses_what_can_never_match(bad):
    with pytest.raises(ValueError, match="takes IP addresses or CIDR ranges"):
        parse_networks((bad,), "--allow")


def test_allow_takes_cidr_ranges(tiny_model_path):
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=1)
    osc = OscConfig(port=0, allow=("10.0.0.0/8", "2001:db8::/32"))
    srv = build_server(serve_config(EngineConfig(), osc), model)
    try:
        assert srv.allowed("10.200.1.1") and srv.allowed("2001:db8::5")
        assert srv.allowed("127.0.0.1") and srv.allowed("::1")
        assert not srv.allowed("11.0.0.1") and not srv.allowed("192.168.0.1")
    finally:
        srv.stop()


def test_cli_refuses_a_hostname_for_allow(tiny_model_path):
    r = subprocess.run(
        [sys.executable, "-m", "livernn", "serve", "--model", str(tiny_model_path),
         "--allow", "myhost.local"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "livernn: error: --allow takes IP addresses or CIDR ranges (10.0.0.0/8, ::1), not "
        "'myhost.local'"
    ]


def test_replies_are_budgeted_per_host_and_in_total(tiny_model_path):
    """3,000 source ports used to get 50 error replies a second each; status was unlimited."""
    from livernn.model import OnnxModel

    model = OnnxModel(tiny_model_path, voices=1)
    osc = OscConfig(port=0)
    srv = build_server(serve_config(EngineConfig(voices=(VoiceConfig(rng_seed=1),)), osc), model)
    replies = srv.replies
    now = 1000.0
    sent = sum(replies.allow(("127.0.0.1", 10000 + p), "/livernn/error", now) for p in range(3000))
    assert sent <= osc.replies_per_host  # not 3000
    status = sum(replies.allow(("127.0.0.2", 7), "/livernn/status", now) for _ in range(500))
    assert status <= osc.status_per_host
    assert all(replies.allow(("127.0.0.1", 7), "/livernn/pong", now) for _ in range(1000))
    srv.stop()


def test_amplification_of_a_status_flood_is_bounded(tiny_model_path):
    """Bytes out per byte in over real UDP: 2,000 status requests get at most the budget."""
    with serve(tiny_model_path, "--no-autostart") as s:
        req = encode("/livernn/status", [])
        flood = OscClient((s.osc_host, s.osc_port))
        t0 = time.monotonic()
        for _ in range(2000):
            flood.send_raw(req)
        flood.poll(0.5)
        seconds = time.monotonic() - t0
        replies = flood.messages("/livernn/status")
        assert 1 <= len(replies) <= 10 * (seconds + 1) + 10
        flood.close()


def test_an_ipv6_client_subscribes_itself(tiny_model_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = free_udp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "livernn", "serve", "--model", str(tiny_model_path), "--no-midi",
         "--quiet", "--osc-host", "::1", "--osc-port", str(port), "--tempo", "240"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    c = OscClient.__new__(OscClient)
    c.server = ("::1", port)
    c.sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    c.sock.bind(("::1", 0))
    c.address = c.sock.getsockname()[:2]
    c.received = []
    try:
        for _ in range(150):
            c.send("/livernn/ping")
            if c.poll(0.2) and c.messages("/livernn/pong"):
                break
        c.send("/livernn/subscribe")
        c.ask("/livernn/ping", "/livernn/pong")
        assert c.messages("/livernn/error") == []
        assert c.wait_for("/livernn/note", count=2, timeout=20)
    finally:
        c.close()
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out[-2000:]
