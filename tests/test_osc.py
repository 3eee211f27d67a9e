"""The OSC address space: parsing, validation, replies (pure functions, no sockets)."""

from __future__ import annotations

import contextlib
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.osc import (
    ADDRESSES,
    Command,
    Context,
    OscError,
    encode,
    parse_datagram,
    to_command,
    unescape,
)
from livernn.vocab import Vocab

VOCAB = Vocab.from_text("X:1\nT:ab cdefgABCDEFG|/2345678Kmixdor#z[]")
CTX = Context(voices=4, vocab=VOCAB)


def cmd(address, *args, ctx=CTX):
    return to_command(address, list(args), ctx, sender=("127.0.0.1", 5000))


def test_every_address_is_in_the_table_with_its_argument_kinds():
    for needed in [
        "seed",
        "prime",
        "key",
        "meter",
        "temperature",
        "top_k",
        "top_p",
        "rng_seed",
        "tempo",
        "start",
        "stop",
        "reset",
        "panic",
        "channel",
        "program",
        "velocity",
        "transpose",
        "subscribe",
        "unsubscribe",
        "ping",
        "status",
    ]:
        spec = ADDRESSES[f"/livernn/{needed}"]
        assert spec.path == f"/livernn/{needed}"
        assert all(a.kind in "fis" for a in spec.args)


@pytest.mark.parametrize("value", [0.8, 1, 0.8000000000000000444])
def test_numbers_arrive_as_i_f_d_h(value):
    c = cmd("/livernn/temperature", value)
    assert c == Command("temperature", float(value), None, ("127.0.0.1", 5000))


def test_typed_datagrams_i_f_d_h_all_parse():
    base = b"/livernn/top_k\x00\x00"
    dgrams = {
        "i": base + b",i\x00\x00" + struct.pack(">i", 5),
        "f": base + b",f\x00\x00" + struct.pack(">f", 5.0),
        "d": base + b",d\x00\x00" + struct.pack(">d", 5.0),
        "h": base + b",h\x00\x00" + struct.pack(">q", 5),
    }
    for tag, data in dgrams.items():
        ((address, args),) = parse_datagram(data)
        assert cmd(address, *args).value == 5, tag


def test_integral_floats_are_fine_integers_pd_style():
    assert cmd("/livernn/channel", 3.0).value == 3
    with pytest.raises(OscError, match="whole number"):
        cmd("/livernn/channel", 3.5)


@pytest.mark.parametrize(
    "address,args,reason",
    [
        ("/livernn/temperature", [0.0], "> 0"),
        ("/livernn/temperature", [-1], "> 0"),
        ("/livernn/temperature", [math.nan], "finite"),
        ("/livernn/temperature", [math.inf], "finite"),
        ("/livernn/temperature", ["hot"], "number"),
        ("/livernn/temperature", [True], "number"),
        ("/livernn/temperature", [], "needs"),
        ("/livernn/temperature", [1.0, 2.0], "argument"),
        ("/livernn/top_p", [1.5], "<= 1"),
        ("/livernn/top_k", [-1], ">= 0"),
        ("/livernn/tempo", [0], ">= 1"),
        ("/livernn/tempo", [5000], "<= 1000"),
        ("/livernn/channel", [0], ">= 1"),
        ("/livernn/channel", [17], "<= 16"),
        ("/livernn/program", [128], "<= 127"),
        ("/livernn/transpose", [49], "<= 48"),
        ("/livernn/start", [1], "no arguments"),
        ("/livernn/seed", [], "needs text"),
        ("/livernn/seed", ["X:1\u00e9"], "vocabulary"),
        ("/livernn/meter", ["seven"], "not a meter"),
        ("/livernn/key", ["D\nX:"], "not a key"),
        ("/livernn/nope", [], "unknown address"),
        ("/other/thing", [], "unknown address"),
        ("/livernn/voice/0/temperature", [1.0], "voice must be 1..4"),
        ("/livernn/voice/5/temperature", [1.0], "voice must be 1..4"),
        ("/livernn/voice/1/tempo", [100.0], "all voices"),
        ("/livernn/voice/1/nope", [], "unknown address"),
        ("/livernn/subscribe", ["example.org"], "IPv4"),
        ("/livernn/subscribe", [70000], "<= 65535"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(address, args, reason):
    with pytest.raises(OscError, match=reason):
        cmd(address, *args)


def test_per_voice_addresses():
    c = cmd("/livernn/voice/2/temperature", 0.5)
    assert (c.name, c.value, c.voice) == ("temperature", 0.5, 1)
    assert cmd("/livernn/temperature", 0.5).voice is None


def test_seed_text_joins_arguments_and_unescapes_newlines():
    c = cmd("/livernn/seed", "X:", 1.0, "\\nT:ab")
    assert c.value == "X: 1 \nT:ab"  # joined by spaces, as Pd splits them
    assert unescape("a\\nb") == "a\nb"


def test_key_and_meter():
    assert cmd("/livernn/meter", "6/8").value == "6/8"
    assert cmd("/livernn/meter", "C|").value == "C|"
    assert cmd("/livernn/key", "Dmix").value == "Dmix"


def test_subscribe_defaults_to_the_sender():
    assert cmd("/livernn/subscribe").value == ("127.0.0.1", 5000)
    assert cmd("/livernn/subscribe", 9001).value == ("127.0.0.1", 9001)
    assert cmd("/livernn/subscribe", 9001, "localhost").value == ("127.0.0.1", 9001)
    assert cmd("/livernn/unsubscribe", 9001.0, "10.0.0.2").value == ("10.0.0.2", 9001)


def test_garbage_is_a_malformed_packet():
    for junk in (b"", b"hello", b"/livernn/seed\x00\x00\x00,s\x00\x00abc", b"#bundle\x00\x01"):
        with pytest.raises(OscError, match="malformed"):
            parse_datagram(junk)


def test_encode_round_trip_and_bundles():
    data = encode("/livernn/note", [60, 80, 0.5, 1, 2])
    ((address, args),) = parse_datagram(data)
    assert address == "/livernn/note" and args[:2] == [60, 80] and args[2] == pytest.approx(0.5)
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscBundleBuilder(IMMEDIATELY)
    for name in ("/livernn/start", "/livernn/ping"):
        b.add_content(OscMessageBuilder(name).build())
    assert [a for a, _ in parse_datagram(b.build().dgram)] == ["/livernn/start", "/livernn/ping"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_osc_error(data):
    try:
        messages = parse_datagram(data)
    except OscError:
        return
    for address, args in messages:
        with contextlib.suppress(OscError):
            to_command(address, args, CTX)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(ADDRESSES) + ["/livernn/voice/1/seed", "/livernn/voice/3/top_p"]),
    st.lists(
        st.one_of(
            st.integers(-(2**40), 2**40),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=20),
            st.booleans(),
            st.none(),
        ),
        max_size=3,
    ),
)
def test_any_arguments_give_a_command_or_an_osc_error(address, args):
    try:
        c = to_command(address, args, CTX)
    except OscError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(c, Command)
