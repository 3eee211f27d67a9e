"""The engine's state as the live view and ``/livernn/status`` see it (pure functions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livernn.engine.core import Engine


def describe(engine: Engine) -> dict[str, Any]:
    return {
        "tempo": engine.tempo.bpm,
        "running": any(v.running for v in engine.voices),
        "beat": engine.playhead(),
        "sounding": len(engine.sounding),
        "pending": len(engine.scheduler),
        "voices": [v.describe() for v in engine.voices],
        "sync": sync_name(engine),
        "peers": getattr(engine.sync.source, "peers", 0),
    }


def sync_name(engine: Engine) -> str:
    """What livernn keeps time with: "alone", "link" or "midi clock"."""
    src = engine.sync.source
    return "alone" if src is None else src.name


def pairs(engine: Engine) -> list[Any]:
    """Name/value pairs for ``/livernn/status`` (voice 1 for the per-voice fields)."""
    v = engine.voices[0]
    return [
        "running", int(any(x.running for x in engine.voices)),
        "tempo", float(engine.tempo.bpm),
        "voices", len(engine.voices),
        "temperature", float(v.params.temperature),
        "top_k", int(v.params.top_k),
        "top_p", float(v.params.top_p),
        "constrain", v.cfg.constrain,
        "channel", int(v.cfg.channel),
        "backing", int(v.cfg.backing),
        "title", v.title,
        "key", v.key,
        "meter", v.meter,
        "tunes", int(v.tunes),
        "sounding", len(engine.sounding),
        "sync", sync_name(engine),
        "peers", int(getattr(engine.sync.source, "peers", 0)),
    ]  # fmt: skip
