"""The Max patch (patches/max/livernn.maxpat): Max cannot run here, so we check what we can.

- it is valid Max JSON: unique ids, every patchline's outlet and inlet exist on its boxes, and
  every object's inlet/outlet counts are the ones Max gives that object;
- every OSC message it can send is one the server accepts, checked against the server's own
  address table and validator (``livernn.osc``), with the values its sliders and menus produce;
- the wiring does what the README says: every control reaches ``udpsend``, the reply port it
  subscribes is the one ``udpreceive`` listens on, and notes flow to ``noteout``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import pytest

from livernn.osc import ADDRESSES, OUT_ADDRESSES, Context, to_command

SENDER = ("127.0.0.1", 50000)  # where Max's udpsend sends from
PATCH = Path(__file__).resolve().parents[1] / "patches" / "max" / "livernn.maxpat"
# every control the patch must offer (issue 17 added listen mode, loop, rewind, mutate,
# bookmark/recall and the constraint level; issue 11 Link and the send-ahead latencies)
NEEDED = (
    *("seed", "key", "meter", "temperature", "tempo", "start", "stop", "panic"),
    *("midi_in", "loop", "rewind", "mutate", "bookmark", "recall", "constrain"),
    *("link", "midi_latency", "osc_latency"),
)

# (inlets, outlets) Max gives each object; ``n`` is the number of arguments.
UI_COUNTS = {
    "message": (2, 1),
    "comment": (1, 0),
    "umenu": (1, 3),
    "slider": (1, 1),
    "flonum": (1, 2),
    "number": (1, 2),
    "button": (1, 1),
    "toggle": (1, 1),
}
OBJ_COUNTS = {
    "udpsend": lambda n: (1, 0),
    "udpreceive": lambda n: (1, 1),
    "loadbang": lambda n: (1, 1),
    "metro": lambda n: (2, 1),
    "route": lambda n: (n + 1, n + 1),
    "unpack": lambda n: (1, n),
    "prepend": lambda n: (1, 1),
    "makenote": lambda n: (3, 2),
    "noteout": lambda n: (3, 0),
    "print": lambda n: (1, 0),
    "t": lambda n: (1, n),
    "*": lambda n: (2, 1),
}


def atoms(text: str) -> list[Any]:
    """Split Max box text into atoms: quotes group, ``\\\\`` is a backslash, numbers parse."""
    out: list[Any] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|((?:[^\s\\]|\\.)+)', text):
        quoted, bare = m.group(1), m.group(2)
        raw = quoted if quoted is not None else bare
        word = re.sub(r"\\(.)", r"\1", raw)
        if quoted is None and re.fullmatch(r"-?\d+", word):
            out.append(int(word))
        elif quoted is None and re.fullmatch(r"-?(\d+\.\d*|\.\d+)", word):
            out.append(float(word))
        else:
            out.append(word)
    return out


def messages_of(text: str) -> list[list[Any]]:
    """The messages a message box sends: its text split at unescaped commas."""
    return [atoms(part) for part in re.split(r"(?<!\\),", text) if part.strip()]


@pytest.fixture(scope="module")
def patcher() -> dict[str, Any]:
    return json.loads(PATCH.read_text())["patcher"]


@pytest.fixture(scope="module")
def boxes(patcher) -> dict[str, dict[str, Any]]:
    return {b["box"]["id"]: b["box"] for b in patcher["boxes"]}


@pytest.fixture(scope="module")
def graph(patcher) -> dict[str, list[tuple[int, str, int]]]:
    out: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
    for line in patcher["lines"]:
        (src, o), (dst, i) = line["patchline"]["source"], line["patchline"]["destination"]
        out[src].append((o, dst, i))
    return out


def by_class(boxes, name: str) -> list[dict[str, Any]]:
    return [
        b
        for b in boxes.values()
        if b["maxclass"] == "newobj" and b.get("text", "").split()[:1] == [name]
    ]


def reaches(graph, start: str, goal: str) -> bool:
    seen, todo = {start}, deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            return True
        for _, dst, _ in graph.get(node, []):
            if dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return False


def upstream(patcher, box_id: str) -> list[str]:
    return [
        ln["patchline"]["source"][0]
        for ln in patcher["lines"]
        if ln["patchline"]["destination"][0] == box_id
    ]


def test_valid_max_json(patcher):
    ids = [b["box"]["id"] for b in patcher["boxes"]]
    assert len(ids) == len(set(ids)), "box ids must be unique"
    for b in patcher["boxes"]:
        box = b["box"]
        for key in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert key in box, f"{box.get('id')}: missing {key}"
        assert len(box["patching_rect"]) == 4
        if "outlettype" in box:
            assert len(box["outlettype"]) == box["numoutlets"], box["id"]
    assert patcher["lines"], "a patch with no patchlines does nothing"


def test_object_inlets_and_outlets_are_what_max_gives(boxes):
    for box in boxes.values():
        cls = box["maxclass"]
        if cls == "newobj":
            name, *args = box["text"].split()
            assert name in OBJ_COUNTS, f"{box['id']}: unexpected object [{box['text']}]"
            want = OBJ_COUNTS[name](len(args))
        else:
            assert cls in UI_COUNTS, f"{box['id']}: unexpected box class {cls}"
            want = UI_COUNTS[cls]
        assert (box["numinlets"], box["numoutlets"]) == want, f"{box['id']} {box.get('text', cls)}"


def test_every_patchline_connects_existing_outlets_and_inlets(patcher, boxes):
    for line in patcher["lines"]:
        (src, o), (dst, i) = line["patchline"]["source"], line["patchline"]["destination"]
        assert src in boxes and dst in boxes, line
        assert 0 <= o < boxes[src]["numoutlets"], f"{src} has no outlet {o}"
        assert 0 <= i < boxes[dst]["numinlets"], f"{dst} has no inlet {i}"


def _slider_range(box: dict[str, Any]) -> tuple[float, float]:
    lo = float(box.get("min", 0))
    size = float(box.get("size", 128))
    return (lo, lo + size) if box.get("floatoutput") else (lo, lo + size - 1)


def _values_feeding(patcher, boxes, box_id: str) -> list[Any]:
    """The values that can arrive at a box: the ends of a slider found upstream."""
    todo, seen = deque([box_id]), {box_id}
    while todo:
        for src in upstream(patcher, todo.popleft()):
            if boxes[src]["maxclass"] == "slider":
                return list(_slider_range(boxes[src]))
            if src not in seen:
                seen.add(src)
                todo.append(src)
    return []


def sent_messages(patcher, boxes) -> list[tuple[str, str, list[Any]]]:
    """(box id, address, args) of every OSC message the patch can send, with every value its
    sliders and menus can put into it."""
    sent = []
    for box in boxes.values():
        if box["maxclass"] == "message":
            for msg in messages_of(box.get("text", "")):
                if not msg or not str(msg[0]).startswith("/"):
                    continue
                if "$1" in msg:
                    values = _values_feeding(patcher, boxes, box["id"])
                    assert values, f"{box['id']}: nothing feeds $1 in {box['text']!r}"
                    for v in values:
                        sent.append((box["id"], msg[0], [v if a == "$1" else a for a in msg[1:]]))
                else:
                    sent.append((box["id"], msg[0], msg[1:]))
        elif box["maxclass"] == "newobj" and box["text"].startswith("prepend /"):
            address = box["text"].split()[1]
            menus = [
                boxes[s] for s in upstream(patcher, box["id"]) if boxes[s]["maxclass"] == "umenu"
            ]
            assert menus, f"{box['id']}: [prepend {address}] is fed by no menu"
            for menu in menus:
                for item in menu["items"]:
                    if item != ",":
                        sent.append((box["id"], address, [item]))
    return sent


def test_every_osc_message_is_one_the_server_accepts(patcher, boxes):
    sent = sent_messages(patcher, boxes)
    addresses = {a for _, a, _ in sent}
    for needed in NEEDED:
        assert f"/livernn/{needed}" in addresses, f"the patch never sends /livernn/{needed}"
    for box_id, address, args in sent:
        assert address in ADDRESSES, f"{box_id}: the server has no address {address}"
        to_command(address, args, Context(), sender=SENDER)  # raises OscError with the reason


def test_seeds_are_abc_headers_after_unescaping(patcher, boxes):
    seeds = [args for _, a, args in sent_messages(patcher, boxes) if a == "/livernn/seed"]
    assert seeds
    for args in seeds:
        text = to_command("/livernn/seed", args, Context()).value
        assert text.startswith("X:") and "\nK:" in text, repr(text)
        assert "\\" not in text, f"a backslash survived: {text!r}"


def test_controls_reach_udpsend_and_replies_reach_noteout(patcher, boxes, graph):
    (send,) = by_class(boxes, "udpsend")
    (recv,) = by_class(boxes, "udpreceive")
    (noteout,) = by_class(boxes, "noteout")
    for box_id, address, _ in sent_messages(patcher, boxes):
        assert reaches(graph, box_id, send["id"]), f"{box_id} ({address}) never reaches udpsend"
    assert reaches(graph, recv["id"], noteout["id"]), "notes never reach noteout"

    # the server answers to the port we subscribe; udpreceive must listen there
    reply_port = int(recv["text"].split()[1])
    subscribes = [args for _, a, args in sent_messages(patcher, boxes) if a == "/livernn/subscribe"]
    assert subscribes and all(args == [reply_port] for args in subscribes)
    (loadbang,) = by_class(boxes, "loadbang")
    assert any(
        "/livernn/subscribe" in boxes[dst].get("text", "") for _, dst, _ in graph[loadbang["id"]]
    ), "the patch does not subscribe when it opens"

    # routed addresses are ones the server sends
    for route in by_class(boxes, "route"):
        for address in route["text"].split()[1:]:
            assert address in OUT_ADDRESSES, f"the server never sends {address}"


def test_note_wiring_into_makenote(boxes, graph):
    """pitch -> makenote left, velocity -> middle, duration (s -> ms) -> right."""
    (route,) = by_class(boxes, "route")
    assert route["text"].split()[1] == "/livernn/note"
    (unpack,) = [boxes[dst] for o, dst, _ in graph[route["id"]] if o == 0]
    assert unpack["text"].split()[0] == "unpack"
    (makenote,) = by_class(boxes, "makenote")

    def inlet_reached(outlet: int) -> set[int]:
        found: set[int] = set()
        todo = deque(dst for o, dst, _ in graph[unpack["id"]] if o == outlet)
        seen = set(todo)
        while todo:
            node = todo.popleft()
            for _, dst, i in graph.get(node, []):
                if dst == makenote["id"]:
                    found.add(i)
                elif dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        for o, dst, i in graph[unpack["id"]]:
            if o == outlet and dst == makenote["id"]:
                found.add(i)
        return found

    assert inlet_reached(0) == {0}
    assert inlet_reached(1) == {1}
    assert inlet_reached(2) == {2}
    assert any(b.get("text") == "* 1000." for b in boxes.values()), "seconds must become ms"


def test_confidence_is_shown(boxes, graph):
    """/livernn/confidence (pitch, bits, voice) is routed and its bits reach a flonum."""
    (route,) = by_class(boxes, "route")
    addresses = route["text"].split()[1:]
    assert "/livernn/confidence" in addresses
    outlet = addresses.index("/livernn/confidence")
    (unpack,) = [boxes[dst] for o, dst, _ in graph[route["id"]] if o == outlet]
    assert unpack["text"].split()[0] == "unpack" and unpack["text"].split()[2] == "0."
    shown = [boxes[dst]["maxclass"] for o, dst, _ in graph[unpack["id"]] if o == 1]
    assert shown == ["flonum"], shown


def test_menus_send_every_mode_the_server_knows(patcher, boxes):
    """The listen-mode and constraint menus offer every value the server accepts."""
    sent = sent_messages(patcher, boxes)
    modes = {args[0] for _, a, args in sent if a == "/livernn/midi_in"}
    levels = {args[0] for _, a, args in sent if a == "/livernn/constrain"}
    assert modes == {"listen", "accompany", "off"}, modes
    assert levels == {"none", "syntax", "meter"}, levels
    loops = {args[0] for _, a, args in sent if a == "/livernn/loop"}
    assert 0 in loops and len(loops) >= 2, "a loop and a way to end it"
    links = {args[0] for _, a, args in sent if a == "/livernn/link"}
    assert links == {0, 1}, f"join and leave the Link session: {links}"


def test_atoms_parser():
    assert atoms('/a 1 2.5 "b c" d\\\\n') == ["/a", 1, 2.5, "b c", "d\\n"]
    assert messages_of("/a 1, /b") == [["/a", 1], ["/b"]]
