"""``livernn serve`` end to end: a real subprocess on real UDP sockets with the tiny model,
driven by python-osc and by liblo's ``oscsend``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import mido
import pytest
from pythonosc.udp_client import SimpleUDPClient

from livernn.errors import LivernnError
from tests.support.server import free_udp_port, serve

SEED = "X:1\\nT:Test\\nM:4/4\\nL:1/8\\nK:D\\nDEFG ABcd|"


def note_count(s):
    s.poll(0.05)
    return len(s.messages("/livernn/note"))


@pytest.mark.slow
def test_play_steer_stop_and_sigterm(tiny_model_path, tmp_path):
    record = tmp_path / "played.mid"
    with serve(tiny_model_path, "--no-autostart", "--record", str(record), "--rng-seed", "1") as s:
        s.subscribe()
        time.sleep(0.3)
        assert note_count(s) == 0  # --no-autostart: silent until /livernn/start
        po = SimpleUDPClient(s.osc_host, s.osc_port)
        po.send_message("/livernn/seed", SEED)
        po.send_message("/livernn/temperature", 0.8)
        po.send_message("/livernn/tempo", 200.0)
        po.send_message("/livernn/start", [])
        notes = s.wait_for("/livernn/note", count=8, timeout=10)
        assert [n[0] for n in notes[:8]] == [62, 64, 66, 67, 69, 71, 73, 74]  # the seed's notes
        assert all(n[1] > 0 and n[2] == pytest.approx(60 / 200 / 2, rel=1e-3) for n in notes[:8]), (
            notes
        )
        assert s.messages("/livernn/tune")[0] == ["Test", 1]
        status = dict(zip(*[iter(s.ask("/livernn/status", "/livernn/status"))] * 2, strict=True))
        assert status["temperature"] == pytest.approx(0.8) and status["tempo"] == 200.0
        if shutil.which("oscsend"):  # liblo's client: a different OSC implementation
            subprocess.run(
                ["oscsend", "127.0.0.1", str(s.osc_port), "/livernn/temperature", "f", "0.6"],
                check=True,
                timeout=5,
            )
            subprocess.run(
                ["oscsend", "127.0.0.1", str(s.osc_port), "/livernn/top_k", "i", "5"],
                check=True,
                timeout=5,
            )
            time.sleep(0.2)
            status = dict(
                zip(*[iter(s.ask("/livernn/status", "/livernn/status"))] * 2, strict=True)
            )
            assert status["temperature"] == pytest.approx(0.6) and status["top_k"] == 5
        po.send_message("/livernn/stop", [])
        s.ask("/livernn/ping", "/livernn/pong")
        time.sleep(0.15)
        n = note_count(s)
        time.sleep(0.6)
        assert note_count(s) == n  # stop silences everything
        assert (
            dict(zip(*[iter(s.ask("/livernn/status", "/livernn/status"))] * 2, strict=True))[
                "sounding"
            ]
            == 0
        )
        if shutil.which("oscsend"):
            subprocess.run(
                ["oscsend", "127.0.0.1", str(s.osc_port), "/livernn/tempo", "f", "240"],
                check=True,
                timeout=5,
            )
            subprocess.run(
                ["oscsend", "127.0.0.1", str(s.osc_port), "/livernn/start"], check=True, timeout=5
            )
        else:
            po.send_message("/livernn/start", [])
        s.wait_for("/livernn/note", count=n + 3, timeout=10)
        if shutil.which("oscsend"):  # a seed from liblo, with the \n escape
            seed = "X:1\\nT:Liblo\\nM:4/4\\nL:1/8\\nK:G\\nGABc dedB|"
            subprocess.run(
                ["oscsend", "127.0.0.1", str(s.osc_port), "/livernn/seed", "s", seed],
                check=True,
                timeout=5,
            )
            deadline = time.monotonic() + 10
            while ["Liblo", 1] not in s.messages("/livernn/tune") and time.monotonic() < deadline:
                s.poll(0.1)
            assert ["Liblo", 1] in s.messages("/livernn/tune")
        assert s.stop(signal.SIGTERM) == 0
        assert s.stop_seconds < 1.0
    mid = mido.MidiFile(str(record))
    held: dict[tuple[int, int], int] = {}
    ons = 0
    for msg in mid:
        if msg.type == "note_on" and msg.velocity > 0:
            held[(msg.channel, msg.note)] = held.get((msg.channel, msg.note), 0) + 1
            ons += 1
        elif msg.type in ("note_off", "note_on"):
            held[(msg.channel, msg.note)] = 0
    assert ons >= n + 3 and not any(held.values())


def test_sigint_exits_zero_within_a_second(tiny_model_path):
    with serve(tiny_model_path, "--tempo", "300") as s:
        s.subscribe()
        s.wait_for("/livernn/note", count=2, timeout=10)
        assert s.stop(signal.SIGINT) == 0
        assert s.stop_seconds < 1.0
        assert "Traceback" not in s.output()


def test_no_midi_port_is_said_once_and_osc_keeps_working(tiny_model_path):
    env = {"JACK_DEFAULT_SERVER": f"livernn-none-{free_udp_port()}"}  # never a running JACK
    with serve(tiny_model_path, "--midi-api", "jack", midi=True, env=env) as s:
        assert s.ask("/livernn/ping", "/livernn/pong") == []
        s.subscribe()
        s.wait_for("/livernn/note", count=1, timeout=10)
        out = s.output()
    assert out.count("no MIDI output") == 1 and "playing to OSC only" in out
    assert "Traceback" not in out and "JackShm" not in out


def run_cli(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "livernn", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["--model", "/nonexistent/model.onnx"], "not found"),
        (["--tempo", "0"], "tempo"),
        (["--voices", "0"], "--voices"),
        (["--channel", "17"], "channel"),
        (["--lookahead", "-1"], "lookahead"),
        (["--seed", "X:1\u00e9"], "vocabulary"),
        (["--osc-out", "host:notaport"], "HOST:PORT"),
    ],
)
def test_bad_options_are_one_line_errors(tiny_model_path, args, message):
    full = ["--model", str(tiny_model_path), "--no-midi", "--osc-port", str(free_udp_port())]
    r = run_cli(*(full + args))
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("livernn: error:")]
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_a_busy_port_is_a_clear_error(tiny_model_path):
    with serve(tiny_model_path) as s:
        r = run_cli("--model", str(tiny_model_path), "--no-midi", "--osc-port", str(s.osc_port))
        assert r.returncode == 2
        assert "cannot listen for OSC" in r.stderr and "Traceback" not in r.stderr


def test_every_flag_reaches_the_config():
    from livernn.cli import build_parser
    from livernn.serve import build_config

    args = build_parser().parse_args(
        ["serve", "--voices", "3", "--channel", "9", "--temperature", "0.5", "--temperature",
         "1.5", "--seed", "X:1\\nT:A\\n", "--program", "40", "--no-repeats", "--realtime",
         "--quantize", "bar", "--lookahead", "0.1", "--max-note", "2", "--tempo", "90",
         "--top-k", "5", "--top-p", "0.9", "--rng-seed", "7", "--osc-out", "127.0.0.1:9001",
         "--osc-out", "9002", "--allow", "10.0.0.5", "--max-packet", "2048", "--no-autostart",
         "--osc-out-bundles",
         "--virtual", "synth", "--midi-api", "jack", "--record", "x.mid", "--quiet"]
    )  # fmt: skip
    cfg = build_config(args)
    e = cfg.engine
    assert [v.channel for v in e.voices] == [9, 11, 12]  # counting on, skipping the drums
    assert [v.temperature for v in e.voices] == [0.5, 1.5, 1.5]
    assert [v.rng_seed for v in e.voices] == [7, 8, 9]
    assert {v.seed for v in e.voices} == {"X:1\nT:A\n"}
    assert {(v.program, v.top_k, v.top_p) for v in e.voices} == {(40, 5, 0.9)}
    assert (e.expand_repeats, e.realtime, e.quantize, e.autostart) == (False, True, "bar", False)
    assert (e.lookahead, e.max_note, e.tempo) == (0.1, 2.0, 90.0)
    assert cfg.osc.out == (("127.0.0.1", 9001), ("127.0.0.1", 9002))
    assert cfg.osc.allow == ("10.0.0.5",) and cfg.osc.max_packet == 2048 and cfg.osc.bundles
    assert (cfg.midi.virtual, cfg.midi.api, str(cfg.record), cfg.quiet) == (
        "synth",
        "jack",
        "x.mid",
        True,
    )


def test_the_band_flags_reach_the_config():
    from livernn.cli import build_parser
    from livernn.serve import build_config

    parse = build_parser().parse_args
    cfg = build_config(
        parse(["serve", "--clock-out", "--clock-in", "drum", "--quantum", "3", "--midi-latency",
               "25", "--osc-latency", "7.5", "--no-realtime", "--virtual", "x"])
    )  # fmt: skip
    s = cfg.engine.sync
    assert (s.clock_out, s.clock_in, s.quantum, s.link) == (True, "drum", 3.0, False)
    assert (s.midi_latency, s.osc_latency) == (0.025, 0.0075)
    assert cfg.engine.realtime is False
    assert build_config(parse(["serve", "--no-midi"])).engine.realtime is True  # the default
    for bad, why in ((["--clock-out", "--no-midi"], "drop --no-midi"),
                     (["--quantum", "0"], "--quantum"), (["--midi-latency", "-5"], "latency"),
                     (["--link", "--clock-in", "x"], r"choose one|livernn\[link\]")):  # fmt: skip
        with pytest.raises(LivernnError, match=why):
            build_config(parse(["serve", *bad]))
