"""``--midi-in PORT``: a performer's MIDI keyboard into the engine (call and response,
engine/listen.py; see docs/DESIGN.md). The port's callback runs on rtmidi's own thread and
only appends to the engine's queue (a bounded deque), with the time of arrival; the engine
reads it on its thread. Works with or without a MIDI output, on any rtmidi API.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

from livernn.engine.listen import Heard
from livernn.outputs.midi import _short, backend, candidate_apis, find_port, quiet_stderr

log = logging.getLogger(__name__)


def input_names(api: str | None) -> list[str]:
    """Input port names on one API; [] when the API is not usable here."""
    try:
        with quiet_stderr():
            return list(backend(api).get_input_names())
    except Exception:
        return []


def open_midi_in(
    wanted: str, api: str | None, heard: deque, now: Callable[[], float], wake: Callable[[], None]
) -> tuple[Any, str]:
    """Open the first input port whose name contains ``wanted``; (port, description) or
    (None, why not). ``now()``: the engine's clock; ``wake()``: the engine looks at once."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")

    def received(msg) -> None:
        if msg.type == "note_on":
            heard.append(Heard(now(), msg.note, msg.velocity > 0, msg.velocity))
        elif msg.type == "note_off":
            heard.append(Heard(now(), msg.note, False))
        else:
            return
        wake()

    port, desc = open_input(wanted, api, received)
    return port, desc


def open_input(wanted: str, api: str | None, callback: Callable[[Any], None]) -> tuple[Any, str]:
    """The first input port whose name contains ``wanted``, its messages to ``callback`` (on
    rtmidi's thread); (port, description) or (None, why not)."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    tried = []
    for api_ in candidate_apis(api):
        label = api_ or "default"
        try:
            with quiet_stderr():
                be = backend(api_)
                names = list(be.get_input_names())
                name = find_port(names, wanted)
                if name is None:
                    tried.append(f"{label}: no input matches {wanted!r} among {names or 'none'}")
                    continue
                port = be.open_input(name, callback=callback)
            return port, f"{name!r} ({label})"
        except Exception as e:
            tried.append(f"{label}: {_short(e)}")
    return None, "no MIDI input (" + "; ".join(tried) + ")"
