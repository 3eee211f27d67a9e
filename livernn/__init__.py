"""livernn: a live-coding instrument made of a character-level recurrent network.

The runtime (this package) needs only onnxruntime, numpy, python-osc and mido; training lives
in the separate ``training`` package and needs the ``[train]`` extra (torch).
"""

__version__ = "0.1.0"
