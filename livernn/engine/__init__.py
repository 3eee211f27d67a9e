"""The real-time engine: voices writing just ahead of the playhead, notes sent on time.

- ``core.Engine``: voices + scheduler + outputs, driven by ``tick()`` (no thread: tests drive
  it on a ``FakeClock``; ``livernn.server.Server`` runs it on a thread).
- ``voice.Voice``: one stream of text and the notes it makes (reseed, next character with
  header forcing, text tracking, placing a tune on the global beat line).
- ``commands``: the command table, one small handler per OSC address of ``livernn.osc``.
- ``inbox.Inbox``: the one bounded queue of commands between the OSC thread and the engine.

See docs/DESIGN.md for the walk of one ``/livernn/seed`` from the socket to the note-on.
"""

from livernn.engine.core import Engine
from livernn.engine.inbox import Inbox
from livernn.engine.interfaces import StepModel, make_interpreter
from livernn.engine.sending import EPS_BEATS
from livernn.engine.voice import SEED_CHUNK, TEXT_TAIL, Voice

__all__ = [
    "EPS_BEATS",
    "SEED_CHUNK",
    "TEXT_TAIL",
    "Engine",
    "Inbox",
    "StepModel",
    "Voice",
    "make_interpreter",
]
