"""Where notes go: a MIDI port, OSC note echo, a MIDI file, a recording for tests.

Every output implements ``Output``; the engine calls them from its own thread with the send
time ``t`` (seconds on the engine clock). Channels are 1..16.
"""

from livernn.outputs.base import Output, RecordingOutput

__all__ = ["Output", "RecordingOutput"]
