"""Where notes go and who watches: MIDI port, ``--record`` file, OSC echo, live view.

``base.NoteSink`` (note on/off, program, panic, close) is implemented by the MIDI port, the
MIDI file and the OSC note echo; ``base.Monitor`` (text, tune, status) by the live view, the
tune log and the OSC text/tune echo. ``messages`` is the one place mido messages are built.
"""

from livernn.outputs.base import Monitor, NoteSink, Output, TuneInfo

__all__ = ["Monitor", "NoteSink", "Output", "TuneInfo"]
