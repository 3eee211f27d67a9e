"""Ableton Link (``livernn serve --link``, ``/livernn/link 1``): the session's tempo, beat
phase and start/stop as an external beat line (``livernn/sync/__init__.py``; see
docs/DESIGN.md).

The binding is LinkPython-extern (``import link``; ``pip install 'livernn[link]'``), the
pybind11 wrapper of Ableton's Link library, which is GPL-2.0-or-later: it is an optional
extra, never a dependency, and livernn without it is MIT. Link's clock is the host's
monotonic raw clock in microseconds; livernn's engine clock is ``time.perf_counter``. The two
are compared at every poll (read back to back, a microsecond apart), so the small drift
between them never accumulates.

Link discovers peers by UDP multicast on every network interface: livernn joins only when
asked (``--link`` or ``/livernn/link 1``), and the tests run it in a network namespace that
has only loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from livernn.errors import ConfigError
from livernn.sync import External

log = logging.getLogger(__name__)

EXTRA = "pip install 'livernn[link]'"


def load_link() -> Any:
    """The ``link`` module, or ConfigError naming the extra."""
    try:
        import link
    except ImportError:
        raise ConfigError(
            f"--link needs the Ableton Link binding: {EXTRA} (LinkPython-extern, GPL)"
        ) from None
    return link


class LinkSource:
    """A Link peer. ``now`` is the engine clock; ``wake`` is called from Link's own thread
    when a peer changes the tempo or the transport, so the engine re-reads at once instead
    of at its next tick."""

    name = "link"

    def __init__(self, bpm: float, now: Callable[[], float], wake: Callable[[], None]) -> None:
        lib = load_link()
        self._now = now
        self._link = lib.Link(float(bpm))
        self._clock = self._link.clock()
        self._link.setTempoCallback(lambda _bpm: wake())
        self._link.setStartStopCallback(lambda _playing: wake())
        self._link.startStopSyncEnabled = True
        self._link.enabled = True
        self.playing: bool | None = None  # the session's transport, as last polled

    @property
    def peers(self) -> int:
        return int(self._link.numPeers())

    def _offset(self) -> float:
        """Link clock minus engine clock, seconds (both read back to back)."""
        a = self._now()
        micros = self._clock.micros()
        b = self._now()
        return micros * 1e-6 - (a + b) / 2

    def poll(self, now: float, quantum: float) -> External:
        off = self._offset()
        s = self._link.captureSessionState()
        at = round((now + off) * 1e6)
        self.playing = bool(s.isPlaying())
        return External(now, s.beatAtTime(at, quantum), s.tempo(), self.playing)

    def propose_tempo(self, bpm: float, now: float) -> None:
        s = self._link.captureSessionState()
        s.setTempo(float(bpm), round((now + self._offset()) * 1e6))
        self._link.commitSessionState(s)

    def propose_playing(self, playing: bool, now: float, quantum: float) -> None:
        s = self._link.captureSessionState()
        at = round((now + self._offset()) * 1e6)
        if playing:  # the start is a downbeat for everyone (Link's quantized launch)
            s.setIsPlayingAndRequestBeatAtTime(True, at, 0.0, quantum)
        else:
            s.setIsPlaying(False, at)
        self._link.commitSessionState(s)

    def close(self) -> None:
        self._link.enabled = False
