"""One error hierarchy for everything livernn reports to a user.

Every error a user can cause (bad file, bad flag, bad OSC message, unknown character) is a
``LivernnError`` whose ``str()`` is one line that says what was wrong; the CLI prints it as
``livernn: error: <message>`` and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class LivernnError(Exception):
    """Base class: a problem with user input, reported in one line."""


class VocabError(LivernnError, ValueError):
    """Text contains a character the model does not know."""


class ModelError(LivernnError):
    """A model file is missing, unreadable, or breaks the ONNX contract."""


class CorpusError(LivernnError):
    """A training corpus is missing, unreadable or empty."""


class ConfigError(LivernnError, ValueError):
    """A command-line option or control value is out of range."""


class PortError(LivernnError):
    """A MIDI or network port cannot be opened."""
