"""The OSC address space: parsing and validation (pure; the socket is livernn/endpoint.py).

``ADDRESSES`` (declared in livernn/osc_space.py, re-exported here) is the one table of every
address livernn understands, with its arguments, their types and ranges.
``parse_datagram`` turns a UDP datagram into messages, ``to_command`` turns one message into a
validated ``Command`` or raises ``OscError`` with the reason (sent back as ``/livernn/error``).
Nothing here has threads: the engine runs the receive loop.

Numbers are accepted as i, f, d or h (Pd sends every number as a float; an integral float is a
fine integer). ``\\n`` (backslash, n) in text means a newline. Per-voice addresses are
``/livernn/voice/N/<name>`` with N from 1; the plain address applies to every voice.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from livernn.constrain.tables import LEVELS
from livernn.errors import LivernnError
from livernn.osc_space import (  # noqa: F401  (the table's names, re-exported)
    ADDRESSES,
    MAX_TEXT,
    OUT_ADDRESSES,
    PREFIX,
    Address,
    Arg,
)
from livernn.oscwire import PacketError, split_packet
from livernn.vocab import Vocab


class OscError(LivernnError):
    """A malformed or out-of-range OSC message; the message is the reply's reason."""


_VOICE_RE = re.compile(r"^/livernn/voice/(\d{1,3})/([a-z_]+(?:/[a-z_]+)?)$")
_METER_RE = re.compile(r"^(C\|?|\d{1,2}/\d{1,2}|none)$")
MIDI_IN_MODES = ("listen", "accompany", "off")  # engine/listen.py
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9#=^_ ]{1,24}$")


@dataclass(frozen=True, slots=True)
class Command:
    """A validated control message. ``voice`` is 0-based or None for every voice; ``at``:
    when it applies on the engine clock (a bundle's timetag, livernn/timetag.py), None: now."""

    name: str
    value: Any = None
    voice: int | None = None
    sender: tuple[str, int] | None = None
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What validation needs to know about the running server."""

    voices: int = 1
    vocab: Vocab | None = None


def parse_datagram(data: bytes) -> list[tuple[str, list[Any]]]:
    """(address, args) of every message in a datagram (bundles are opened by the bounded
    ``oscwire.split_packet``; their timetags: ``timetag.parse_timed``); OscError when not OSC."""
    try:
        elements = split_packet(data).elements
    except PacketError as e:
        raise OscError(f"malformed OSC packet: {e}") from None
    return [parse_message(el.data) for el in elements]


def parse_message(data: bytes) -> tuple[str, list[Any]]:
    """One message parsed by python-osc (never a bundle: ``split_packet`` opened those).
    Arrays (``[`` ``]`` type tags) are refused first: no address takes one, and deeply
    nested ones make python-osc's message formatting recurse without bound."""
    end = data.find(b"\0")
    tags_at = (end // 4 + 1) * 4 if end >= 0 else len(data)
    tags_end = data.find(b"\0", tags_at)
    tags = data[tags_at : tags_end if tags_end >= 0 else len(data)]
    if b"[" in tags or b"]" in tags:
        raise OscError("malformed OSC packet: arrays are not accepted")
    try:
        m = OscMessage(data)
        address, params = m.address, list(m.params)
    except Exception as e:  # python-osc raises several kinds on garbage
        raise OscError(f"malformed OSC packet ({type(e).__name__})") from None
    if b"s" in tags and _consumed(data, tags_end, tags) != len(data):
        # OSC strings end at their first NUL: python-osc drops what follows it, so a seed
        # with a NUL inside would be cut short without a word.
        raise OscError(f"{address}: a string has a NUL inside it (or bytes after it)")
    return address, params


_FIXED = {"i": 4, "f": 4, "c": 4, "r": 4, "m": 4, "d": 8, "h": 8, "t": 8}


def _consumed(data: bytes, tags_end: int, tags: bytes) -> int:
    """Where the arguments a message's type tags describe end (OSC 1.0 sizes and padding);
    a string must be followed by NULs only up to its 4-byte boundary. -1 when malformed."""
    pos = (tags_end // 4 + 1) * 4
    for tag in tags[1:].decode("ascii", "replace"):
        if tag in _FIXED:
            pos += _FIXED[tag]
        elif tag == "s" or tag == "S":
            end = data.find(b"\0", pos)
            if end < 0:
                return -1
            pad = (end // 4 + 1) * 4
            if data[end:pad].strip(b"\0"):
                return -1
            pos = pad
        elif tag == "b":
            if pos + 4 > len(data):
                return -1
            size = int.from_bytes(data[pos : pos + 4], "big", signed=True)
            pos += 4 + ((size + 3) // 4) * 4
        elif tag not in "TFNI":
            return -1
    return pos


def unescape(text: str) -> str:
    """The two characters backslash-n become a newline (Pd and Max cannot send one)."""
    return text.replace("\\n", "\n")


def _number(addr: str, arg: Arg, v: Any) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise OscError(f"{addr}: {arg.name} must be a number, got {_show(v)}")
    if isinstance(v, float) and not math.isfinite(v):
        raise OscError(f"{addr}: {arg.name} must be finite, got {v}")
    if arg.kind == "i":
        if isinstance(v, float):
            if v != int(v):
                raise OscError(f"{addr}: {arg.name} must be a whole number, got {v:g}")
            v = int(v)
    else:
        v = float(v)
    lo, hi = arg.lo, arg.hi
    if (lo is not None and (v < lo or (arg.lo_open and v == lo))) or (hi is not None and v > hi):
        lo_s = f"> {lo:g}" if arg.lo_open else f">= {lo:g}"
        raise OscError(f"{addr}: {arg.name} must be {lo_s} and <= {hi:g}, got {v:g}")
    return v


def _show(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _text_of(args: Sequence[Any]) -> str:
    parts = []
    for v in args:
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise OscError(f"text arguments must be strings or numbers, got {_show(v)}")
        elif isinstance(v, float) and math.isfinite(v) and v == int(v):
            parts.append(str(int(v)))  # Pd sends "X: 1" as a symbol and a float
        else:
            parts.append(repr(v))
    return unescape(" ".join(parts))


def split_address(address: str, voices: int) -> tuple[Address, int | None]:
    """The table entry and 0-based voice (None: all) of an address; OscError when unknown."""
    spec = ADDRESSES.get(address)
    if spec is not None:
        return spec, None
    m = _VOICE_RE.match(address)
    if m:
        n, name = int(m.group(1)), m.group(2)
        spec = ADDRESSES.get(f"{PREFIX}/{name}")
        if spec is None:
            raise OscError(f"unknown address {_show(address)}")
        if not spec.per_voice:
            raise OscError(f"{PREFIX}/{name} applies to all voices; send it without /voice/N")
        if not 1 <= n <= voices:
            raise OscError(f"{address}: voice must be 1..{voices}, got {n}")
        return spec, n - 1
    raise OscError(f"unknown address {_show(address)}")


def to_command(
    address: str, args: Sequence[Any], ctx: Context, sender: tuple[str, int] | None = None
) -> Command:
    """Validate one message; OscError (with the reason) when it is bad."""
    spec, voice = split_address(address, ctx.voices)
    name = spec.name
    if spec.text:
        if not args:
            raise OscError(f"{address}: needs text")
        text = _text_of(args)
        if name in ("seed", "prime"):
            if len(text) > MAX_TEXT:
                raise OscError(f"{address}: text longer than {MAX_TEXT} characters")
            if not text:
                raise OscError(f"{address}: needs text")
        else:
            text = text.strip()
            if name == "constrain":
                if text not in LEVELS:
                    raise OscError(f"{address}: {_show(text)} is not one of {', '.join(LEVELS)}")
                return Command(name, text, voice, sender)
            if name == "midi_in":
                if text not in MIDI_IN_MODES:
                    raise OscError(f"{address}: {_show(text)} is not one of listen, accompany, off")
                return Command(name, text, voice, sender)
            if name in ("bookmark", "recall"):
                if not _NAME_RE.match(text):
                    raise OscError(f"{address}: {_show(text)} is not a name (letters, digits, _ -)")
                return Command(name, text, voice, sender)
            rx = _METER_RE if name.startswith("meter") else _KEY_RE
            if not rx.match(text):
                raise OscError(f"{address}: {_show(text)} is not a {name}")
        if ctx.vocab is not None:
            bad = ctx.vocab.unknown(text)
            if bad:
                raise OscError(
                    f"{address}: character {_show(bad[0])} is not in the model's vocabulary"
                )
        return Command(name, text, voice, sender)
    if name in ("subscribe", "unsubscribe"):
        return Command(name, _subscriber(address, args, sender), voice, sender)
    if len(args) > len(spec.args):
        want = "no arguments" if not spec.args else f"{len(spec.args)} argument(s)"
        raise OscError(f"{address}: takes {want}, got {len(args)}")
    if len(args) < sum(1 for a in spec.args if not a.optional):
        raise OscError(f"{address}: needs {' '.join(a.name for a in spec.args)}")
    value: Any = None
    if len(spec.args) > 1:  # every argument given: a tuple (mutate i f)
        if len(args) < len(spec.args):
            raise OscError(f"{address}: needs {' '.join(a.name for a in spec.args)}")
        value = tuple(_number(address, a, x) for a, x in zip(spec.args, args, strict=True))
    elif spec.args:
        value = _number(address, spec.args[0], args[0])
    return Command(name, value, voice, sender)


def _subscriber(
    address: str, args: Sequence[Any], sender: tuple[str, int] | None
) -> tuple[str, int]:
    host = sender[0] if sender else None
    port = sender[1] if sender else None
    if len(args) > 2:
        raise OscError(f"{address}: takes [port] [host], got {len(args)} arguments")
    for v in args:
        if isinstance(v, str):
            host = v.strip()
        else:
            port = int(_number(address, ADDRESSES[f"{PREFIX}/subscribe"].args[0], v))
    if host == "localhost":
        host = "::1" if sender is not None and ":" in sender[0] else "127.0.0.1"
    if host is None or port is None:
        raise OscError(f"{address}: needs a port and a host")
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:") :]  # an IPv4 client seen through a dual-stack socket
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            break
        except OSError:
            continue
    else:
        raise OscError(
            f"{address}: host must be an IPv4 or IPv6 address or localhost, got {_show(host)}"
        )
    return host, port


def encode(address: str, args: Sequence[Any] = ()) -> bytes:
    """One OSC message as bytes: ints as i (h when they do not fit), floats as f, str as s."""
    b = OscMessageBuilder(address)
    for v in args:
        if isinstance(v, bool):
            b.add_arg(int(v), "i")
        elif isinstance(v, int):
            b.add_arg(v, "i" if -(2**31) <= v < 2**31 else "h")
        elif isinstance(v, float):
            b.add_arg(v, "f")
        else:
            b.add_arg(str(v), "s")
    return b.build().dgram
