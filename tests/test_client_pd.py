"""The Pure Data patch (patches/pd/livernn.pd), run by real Pd 0.53 headless.

The end-to-end test runs the SHIPPED patch inside a small wrapper (tests/pd/livernn_test.pd
loads it as an abstraction and drives it through the receive names of its choosers, sliders
and buttons)
against a real ``livernn serve`` subprocess: Pd sends key, meter, temperature, tempo, seed,
start, a constraint level and a listen mode, prints every note that comes back, and quits by itself after 12 notes. A second OSC
listener subscribed to the same server sees the same notes, and the server's /livernn/status
shows the values Pd sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict, deque
from pathlib import Path

import pytest

from livernn.osc import ADDRESSES, OUT_ADDRESSES, Context, to_command
from tests.support import server

ROOT = Path(__file__).resolve().parents[1]
PATCH = ROOT / "patches" / "pd" / "livernn.pd"
WRAPPER = ROOT / "tests" / "pd" / "livernn_test.pd"
NOTE_RE = re.compile(r"^NOTE: (\S+) (\S+) (\S+)", re.M)
SENDER = ("127.0.0.1", 50000)
# every control the patch must offer (issue 17 added listen mode, loop, rewind, mutate,
# bookmark/recall and the constraint level; issue 11 Link and the send-ahead latencies)
NEEDED = (
    *("seed", "key", "meter", "temperature", "tempo", "start", "stop", "panic"),
    *("midi_in", "loop", "rewind", "mutate", "bookmark", "recall", "constrain"),
    *("link", "midi_latency", "osc_latency"),
)

needs_pd = pytest.mark.skipif(
    shutil.which("pd") is None, reason="Pure Data is not installed (apt-get install puredata-core)"
)


@pytest.fixture
def livernn_server(tiny_model_path):
    """A real ``livernn serve`` (tiny model, free port), whose client socket is subscribed too."""
    with server.serve(tiny_model_path) as s:
        s.subscribe()
        yield s


def pd_records(text: str) -> list[str]:
    """The records of a .pd file (split at unescaped semicolons), whitespace collapsed."""
    return [" ".join(r.split()) for r in re.split(r"(?<!\\);\s*\n?", text) if r.strip()]


def pd_boxes(text: str) -> list[list[str]]:
    """Every box of the top canvas, in index order, as its words after '#X'."""
    kinds = ("obj", "msg", "text", "floatatom", "symbolatom")
    return [
        r.split()[1:] for r in pd_records(text) if r.startswith("#X ") and r.split()[1] in kinds
    ]


def run_pd(*args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pd", "-nogui", "-nosound", "-nomidi", "-stderr", "-noprefs", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_osc_addresses_are_ones_the_server_accepts():
    boxes = pd_boxes(PATCH.read_text())
    formats = [b[4:] for b in boxes if b[0] == "obj" and b[3] == "oscformat"]
    assert formats and all(f[:1] == ["livernn"] and len(f) == 2 for f in formats), formats
    paths = {"/" + "/".join(f) for f in formats}
    for path in paths:
        assert path in ADDRESSES, f"the server has no address {path}"
    for needed in NEEDED:
        assert f"/livernn/{needed}" in paths, f"the patch never sends /livernn/{needed}"
    # what comes back is routed by the names the server sends, the confidence among them
    routes = [b[4:] for b in boxes if b[0] == "obj" and b[3] == "route" and "note" in b[4:]]
    assert routes
    for name in routes[0]:
        assert f"/livernn/{name}" in OUT_ADDRESSES
    assert "confidence" in routes[0], "the patch does not show /livernn/confidence"


def pd_connections(text: str) -> list[tuple[int, int, int, int]]:
    return [
        tuple(int(w) for w in r.split()[2:6])  # type: ignore[misc]
        for r in pd_records(text)
        if r.startswith("#X connect ")
    ]


def pd_atom(word: str) -> float | str:
    """One atom as Pd sends it: every number a float, the file's backslash escapes undone."""
    word = re.sub(r"\\(.)", r"\1", word)
    try:
        return float(word)
    except ValueError:
        return word


def pd_sent(text: str) -> dict[int, list[list[float | str]]]:
    """For every [oscformat livernn NAME]: the argument lists the patch can feed it, from its
    message boxes, its choosers' [list store] items and its sliders' ends (receives and
    $-messages are followed no further). A message box that reaches oscformat with a
    selector and no [list] on the way is an error in Pd ("no method"), so it fails here."""
    boxes = pd_boxes(text)
    into: dict[int, list[int]] = defaultdict(list)
    for src, _, dst, _ in pd_connections(text):
        into[dst].append(src)
    sent: dict[int, list[list[float | str]]] = {}
    for i, box in enumerate(boxes):
        if box[0] != "obj" or box[3] != "oscformat":
            continue
        found: list[list[float | str]] = []
        todo, seen = deque([(i, False)]), {(i, False)}
        while todo:
            node, listed = todo.popleft()
            for src in into[node]:
                b = boxes[src]
                kind, words = b[0], b[3:]
                if kind == "msg":
                    if any("$" in w for w in words):
                        continue
                    args = [pd_atom(w) for w in words]
                    if args[:1] == ["bang"]:
                        found.append([])
                        continue
                    head = args[0] if args else None
                    assert listed or not isinstance(head, str), (
                        f"box {src} [{' '.join(words)}( reaches oscformat without [list]"
                    )
                    found.append(args)
                    continue
                if kind == "obj" and words[:2] == ["list", "store"]:
                    found.extend([pd_atom(w)] for w in words[2:])
                    continue
                if kind == "obj" and words[0] == "hsl":
                    found.extend([[float(words[3])], [float(words[4])]])
                    continue
                if kind == "obj" and words[0] == "bng":
                    found.append([])
                    continue
                if kind == "obj" and words[0] == "t" and set(words[1:]) == {"b"}:
                    found.append([])
                    continue
                if kind == "obj" and words[0] in ("r", "receive", "loadbang", "metro", "sel"):
                    continue
                state = (src, listed or (kind == "obj" and words == ["list"]))
                if state not in seen:
                    seen.add(state)
                    todo.append(state)
        sent[i] = found
    return sent


def test_every_osc_message_is_one_the_server_accepts():
    """Each message a box can send, checked by the server's own validator; every oscformat's
    output reaches [netsend]."""
    text = PATCH.read_text()
    boxes = pd_boxes(text)
    (netsend,) = [i for i, b in enumerate(boxes) if b[0] == "obj" and b[3] == "netsend"]
    out: dict[int, list[int]] = defaultdict(list)
    for src, _, dst, _ in pd_connections(text):
        out[src].append(dst)
    checked = set()
    for i, arg_lists in pd_sent(text).items():
        address = "/" + "/".join(boxes[i][4:6])
        todo, seen = deque([i]), {i}
        while todo:
            for dst in out[todo.popleft()]:
                if dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        assert netsend in seen, f"box {i} ({address}) never reaches netsend"
        for args in arg_lists:
            to_command(address, args, Context(), sender=SENDER)  # raises OscError: the reason
            checked.add(address)
    for needed in NEEDED:
        assert f"/livernn/{needed}" in checked, f"no value of /livernn/{needed} was checked"
    links = {
        a[0]
        for i, arg_lists in pd_sent(text).items()
        if boxes[i][5:6] == ["link"]
        for a in arg_lists
    }
    assert links == {0.0, 1.0}, f"join and leave the Link session: {links}"


@needs_pd
def test_patch_loads_in_vanilla_pd_without_errors():
    """Every object creates (vanilla 0.53 only: puredata-core has no externals) and every
    connection is valid (Pd reports 'connection failed' otherwise)."""
    r = run_pd("-send", "pd quit", "-open", str(PATCH), timeout=20)
    assert r.returncode == 0, r.stderr
    bad = [ln for ln in r.stderr.splitlines() if re.search(r"error|couldn't create|failed", ln)]
    assert not bad, "\n".join(bad)


def parse_notes(stderr: str) -> list[tuple[int, int, float]]:
    return [(int(float(p)), int(float(v)), float(d)) for p, v, d in NOTE_RE.findall(stderr)]


def same_notes(a: list[tuple[int, int, float]], b: list[tuple[int, int, float]]) -> bool:
    """Equal pitches and velocities, durations equal to Pd's printing precision."""
    return len(a) == len(b) and all(
        x[:2] == y[:2] and abs(x[2] - y[2]) <= 1e-4 * max(1.0, y[2])
        for x, y in zip(a, b, strict=True)
    )


@needs_pd
@pytest.mark.slow
def test_shipped_patch_plays_a_real_server(livernn_server):
    s = livernn_server
    r = run_pd(
        "-path", str(PATCH.parent),
        "-send", f"livernn-connect {s.osc_host} {s.osc_port}",
        "-open", str(WRAPPER),
        timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "TIMEOUT" not in r.stderr, f"Pd got too few notes:\n{r.stderr[-3000:]}"
    assert "livernn-error" not in r.stderr, r.stderr  # the server refused something Pd sent
    errors = [ln for ln in r.stderr.splitlines() if "error" in ln]
    assert not errors, "\n".join(errors)  # e.g. a tune title Pd could not display
    status = s.ask("/livernn/status", "/livernn/status")
    status = dict(zip(status[::2], status[1::2], strict=True))
    heard = [(int(a[0]), int(a[1]), float(a[2])) for a in s.messages("/livernn/note")]

    notes = parse_notes(r.stderr)
    assert len(notes) >= 12, r.stderr
    for pitch, velocity, seconds in notes:
        assert 0 <= pitch <= 127 and 1 <= velocity <= 127 and seconds > 0
    # the very notes the server sent to its other subscriber, in the same order
    assert any(
        same_notes(notes, heard[i : i + len(notes)]) for i in range(len(heard) - len(notes) + 1)
    ), (notes, heard)
    # the sliders the wrapper moved reached the server
    assert status["tempo"] == pytest.approx(240.0)
    assert status["temperature"] == pytest.approx(0.8, abs=1e-6)
    assert status["constrain"] == "syntax"  # a new control, sent through its receive name
    assert status["running"] == 0  # the wrapper pressed stop before quitting
