"""Streaming ABC interpreter: characters in, notes out (see events.py for the contract)."""

from livernn.abc.events import Bar, Event, NoteEvent, TuneChange, TuneEnd, TuneStart

__all__ = ["Bar", "Event", "NoteEvent", "TuneChange", "TuneEnd", "TuneStart"]
