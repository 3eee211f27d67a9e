"""The Sonic Pi client (patches/sonic-pi/livernn.rb), run by a real headless Sonic Pi.

A real ``sonic-pi-server`` (Ruby + Erlang + scsynth on a dummy JACK server) runs the SHIPPED
file unchanged, as if pasted into a buffer and Run, against a real ``livernn serve``; only the
server's port comes from the environment (``LIVERNN_OSC_PORT``, which the file reads). Sonic
Pi's own log (what its GUI shows, on the GUI port) proves it received each note cue and played
it with a synth; a second OSC listener proves those are the notes the server sent; the server's
/livernn/status proves the file's settings arrived. Then, like a performer, we change the
temperature in the code and Run again: only the change is sent, and the notes keep coming.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from livernn.osc import ADDRESSES, Context, to_command
from tests.support import server
from tests.support.sonicpi import sonic_pi

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "patches" / "sonic-pi" / "livernn.rb"
PLAYED_RE = re.compile(r"synth :(\w+), \{note: ([\d.]+), amp: ([\d.]+)")

# every control the file must offer (issue 17 added listen mode, loop, rewind, mutate,
# bookmark/recall and the constraint level; issue 11 Link and the send-ahead latencies, offered
# in comments); its key and meter go in the seed's header
NEEDED = (
    *("seed", "temperature", "tempo", "start", "stop", "panic", "subscribe"),
    *("midi_in", "loop", "rewind", "mutate", "bookmark", "recall", "constrain"),
    *("link", "midi_latency", "osc_latency"),
)
OSC_RE = re.compile(r'^[#\s]*osc[ (]"(/livernn/[a-z_/]+)"((?:,\s*[^,#\n)]+)*)', re.M)
SEND_RE = re.compile(r'^livernn_send_if_changed :\w+, "(/livernn/[a-z_/]+)", (\w+)', re.M)
SENDER = ("127.0.0.1", 4560)


@pytest.fixture
def livernn_server(tiny_model_path):
    """A real ``livernn serve`` (tiny model, free port), whose client socket is subscribed too."""
    with server.serve(tiny_model_path) as s:
        s.subscribe()
        yield s


def setting(code: str, name: str) -> str:
    m = re.search(rf"^{name}\s*=\s*(\S+)", code, re.M)
    assert m, f"{name} is not set in {CLIENT.name}"
    return m.group(1)


def played(sp) -> list[tuple[str, int, float]]:
    """(synth, pitch, amp) of every synth Sonic Pi's log says it played."""
    return [
        (s, int(float(n)), float(a)) for s, n, a in PLAYED_RE.findall("\n".join(sp.log_lines()))
    ]


def literal(text: str):
    """A Ruby literal as the file writes it: a string, an integer or a float."""
    text = text.strip()
    if text.startswith('"'):
        return text.strip('"')
    return float(text) if "." in text else int(text)


def sent_messages(code: str) -> list[tuple[str, list]]:
    """(address, args) of every message the file sends or offers in a comment to uncomment:
    ``osc "/livernn/x", literal, ...`` lines and ``livernn_send_if_changed`` of a setting
    (the seed, built by a helper, is checked by the end-to-end test)."""
    sent = [(a, [literal(x) for x in args.split(",")[1:]]) for a, args in OSC_RE.findall(code)]
    for address, value in SEND_RE.findall(code):
        if value.startswith("livernn_header"):
            continue
        sent.append((address, [literal(setting(code, value))]))
    return sent


def test_every_message_is_one_the_server_accepts():
    code = CLIENT.read_text()
    sent = sent_messages(code)
    addresses = set(re.findall(r'"(/livernn/[a-z_/]+)"', code))  # the seed, start, stop too
    for needed in NEEDED:
        assert f"/livernn/{needed}" in addresses, f"the file never sends /livernn/{needed}"
    for address, args in sent:
        assert address in ADDRESSES, f"the server has no address {address}"
        to_command(address, args, Context(), sender=SENDER)  # raises OscError with the reason
    assert re.search(r'^\s*\S.*sync "/osc\*/livernn/confidence"', code, re.M), (
        "the file does not read /livernn/confidence"
    )


def test_link_is_shown_commented_out():
    """``use_bpm :link`` (Sonic Pi 4's Link) is offered, only in comments: the headless Sonic Pi
    3 the end-to-end test runs has no Link and would stop at it."""
    code = CLIENT.read_text()
    assert re.search(r"^#\s*use_bpm :link\b", code, re.M), "the file does not show use_bpm :link"
    assert not re.search(r"^[^#\n]*:link\b", code, re.M), "use_bpm :link outside a comment"


def wait_until(predicate, timeout: float, server=None) -> bool:
    """Poll ``predicate`` (reading the server client's socket meanwhile) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if server is not None:
            server.poll(0.1)
        else:
            time.sleep(0.1)
    return predicate()


def status(s) -> dict:
    args = s.ask("/livernn/status", "/livernn/status")
    return dict(zip(args[::2], args[1::2], strict=True))


@pytest.mark.slow
@pytest.mark.sonicpi
@pytest.mark.jack
def test_shipped_file_plays_notes_from_a_real_server(livernn_server, tmp_path):
    s = livernn_server
    code = CLIENT.read_text()
    synth = setting(code, "livernn_synth").lstrip(":")
    with sonic_pi(tmp_path, env={"LIVERNN_OSC_PORT": str(s.osc_port)}) as sp:
        sp.run_code(code)
        ok = wait_until(lambda: len(played(sp)) >= 8, timeout=40, server=s)
        assert not sp.errors(), sp.errors()
        assert ok, f"Sonic Pi played {len(played(sp))} notes; its log:\n" + "\n".join(
            sp.log_lines()[-20:]
        )
        notes = played(sp)
        s.poll(0.2)
        heard = [(int(a[0]), int(a[1])) for a in s.messages("/livernn/note")]

        # Sonic Pi played each cue with the file's synth, loudness from the velocity: the very
        # notes the server sent to its other subscriber, in the same order
        assert {name for name, _, _ in notes} == {synth}
        pitches = [p for _, p, _ in notes]
        sent = [p for p, _ in heard]
        starts = [i for i in range(len(sent)) if sent[i : i + len(pitches)] == pitches]
        assert starts, f"Sonic Pi played {pitches}, the server sent {sent}"
        same = heard[starts[0] : starts[0] + len(pitches)]
        for (_, _, amp), (_, velocity) in zip(notes, same, strict=True):
            assert amp == pytest.approx(velocity / 127.0, abs=1e-3)
        assert any("/livernn/seed" in ln for ln in sp.log_lines()), "the seed was never sent"

        # the file's settings reached the server
        st = status(s)
        assert st["temperature"] == pytest.approx(float(setting(code, "livernn_temperature")))
        assert st["tempo"] == pytest.approx(float(setting(code, "livernn_tempo")))
        if st["title"] == "Sonic Pi":  # still the seeded tune (the model may end it early)
            assert st["key"] == setting(code, "livernn_key").strip('"')
        else:
            assert st["tunes"] >= 2, st

        # live coding: change the temperature and Run again; the tune goes on
        lines_before = len(sp.log_lines())
        count = len(played(sp))
        sp.run_code(
            re.sub(r"^livernn_temperature\s*=\s*\S+", "livernn_temperature = 0.5", code, flags=re.M)
        )
        assert wait_until(lambda: status(s)["temperature"] == pytest.approx(0.5), timeout=10)
        assert wait_until(lambda: len(played(sp)) >= count + 4, timeout=20, server=s), (
            "notes stopped"
        )
        assert not sp.errors(), sp.errors()
        resent = [ln for ln in sp.log_lines()[lines_before:] if "/livernn/seed" in ln]
        assert not resent, f"a temperature change must not re-send the seed: {resent}"

        # and stop: livernn_playing = false sends /livernn/stop
        assert status(s)["running"] == 1
        sp.run_code(
            re.sub(r"^livernn_playing\s*=\s*\S+", "livernn_playing = false", code, flags=re.M)
        )
        assert wait_until(lambda: status(s)["running"] == 0, timeout=10), "stop never arrived"
        assert not sp.errors(), sp.errors()
