"""Streaming ABC interpreter: characters in, notes out (see events.py for the contract)."""

from livernn.abc.events import Bar, Event, NoteEvent, TuneChange, TuneEnd, TuneStart
from livernn.abc.interpreter import AbcInterpreter, InterpreterOptions

__all__ = [
    "AbcInterpreter",
    "Bar",
    "Event",
    "InterpreterOptions",
    "NoteEvent",
    "TuneChange",
    "TuneEnd",
    "TuneStart",
]
