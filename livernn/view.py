"""The live terminal view of ``livernn serve`` (plain text + ANSI, no dependency).

``render`` is pure (status dict in, text out). ``TerminalView`` redraws it a few times a second
on a TTY; ``TuneLog`` writes one line per tune when the output is not a TTY (logs, pipes).
Both are outputs fed by the engine thread; ``--quiet`` uses neither. The header says where
the sound goes (``sound_lines``: the MIDI port or "none: OSC only", the built-in synth), so a
missing output stays on screen instead of scrolling away with the startup lines.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any, TextIO

from livernn.abc import tunes
from livernn.outputs.base import Monitor, TuneInfo
from livernn.vocab import printable

CLEAR_LINE = "\x1b[K"
HOME = "\x1b[H"
CLEAR_BELOW = "\x1b[J"
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
TEXT_TAIL = 4000  # characters of a voice's current tune kept for the view


def sound_lines(midi: str | None, no_midi: str, synth: str | None) -> list[str]:
    """Where the sound goes, for the view's header: the MIDI port (or "none: OSC only" and
    why), then the built-in synth when there is one."""
    lines = [f"MIDI out: {midi}" if midi else f"MIDI out: none: OSC only ({no_midi})"]
    if synth:
        lines.append(f"synth: {synth}")
    elif not midi:
        lines.append("no sound: try --synth (FluidSynth), or see 'livernn ports'")
    return lines


def tune_line(voice: int, tune: TuneInfo, number: int | None = None) -> str:
    """One line describing a tune that starts (for logs and the view), control characters
    escaped. ``number``: the tune's number in the voice's set (1 = first), as the header
    counts them; without it, its number since the last seed."""
    q = f", Q: {tune.tempo:g}" if tune.tempo else ""
    title = tune.title or "(untitled)"
    n = tune.tune + 1 if number is None else number
    return printable(
        f"voice {voice + 1} tune {n}: {title} (K: {tune.key or '?'}, M: {tune.meter or '?'}{q})"
    )


class TuneText:
    """Each voice's current tune as text, from the generated characters: it restarts at
    the ``X:`` that starts a tune, the ``X`` included."""

    def __init__(self) -> None:
        self.text: dict[int, str] = {}
        self._line: dict[int, str] = {}

    def add(self, voice: int, text: str) -> None:
        tail, line = self.text.get(voice, ""), self._line.get(voice, "")
        for c in text:
            line = "" if c == "\n" else line + c
            tail += c
            if line == tunes.TUNE_START:
                tail = line
        self.text[voice], self._line[voice] = tail[-TEXT_TAIL:], line


def _fit(s: str, width: int) -> str:
    return s if len(s) <= width else s[: max(0, width - 1)] + "~"


def render(
    status: dict[str, Any],
    log: list[str],
    width: int = 80,
    height: int = 24,
    ansi: bool = True,
    sound: list[str] | None = None,
    text: dict[int, str] | None = None,
) -> str:
    """The whole screen for one status snapshot; ``sound`` (``sound_lines``) under the first
    line; ``text``: voice index (0-based) -> the tune's text, else the status's own."""
    b, d, r = (BOLD, DIM, RESET) if ansi else ("", "", "")
    voices = status.get("voices", [])
    lines: list[str] = []
    state = "playing" if status.get("running") else "stopped"
    sync = status.get("sync", "alone")
    if sync == "link":
        state += f"  Link ({status.get('peers', 0)} peers)"
    elif sync != "alone":
        state += f"  following the {sync}"
    lines.append(
        f"{b}livernn{r}  {state}  {status.get('tempo', 0):.1f} BPM  beat {status.get('beat', 0):.1f}"
        f"  sounding {status.get('sounding', 0)}  voices {len(voices)}"
    )
    for line in sound or []:
        lines.append(f"{b}{line}{r}" if "none" in line or "no sound" in line else line)
    for v in voices:
        q = f" Q:{v['tune_tempo']:g}" if v.get("tune_tempo") else ""
        lines.append(
            f"{b}[{v['voice']}]{r} ch {v['channel']}  T={v['temperature']:.2f}"
            + (f" k={v['top_k']}" if v.get("top_k") else "")
            + (f" p={v['top_p']:.2f}" if v.get("top_p", 1.0) < 1.0 else "")
            + (f" constrain {v['constrain']}" if v.get("constrain") else "")
            + f"  {b}{printable(v.get('title') or '(untitled)')}{r}  K:{printable(v.get('key') or '?')}"
            f" M:{v.get('meter') or '?'}{q}  tunes {v.get('tunes', 0)} notes {v.get('notes', 0)}"
            + (f"  unsure {v['bits']:.1f} bits" if v.get("bits") else "")
            + ("" if v.get("running") else "  (stopped)")
        )
    for entry in log[-3:]:
        lines.append(f"{d}{entry}{r}")
    lines.append("")
    room = max(3, height - len(lines) - 1)
    if voices:
        per = max(2, room // len(voices))
        for v in voices:
            shown = (text or {}).get(v["voice"] - 1, v.get("text") or "")
            text_lines = shown.split("\n")[-per:]
            if len(voices) > 1:
                lines.append(f"{d}-- voice {v['voice']} --{r}")
            lines.extend(printable(t) for t in text_lines)  # a crafted vocabulary: no escapes
    return "\n".join(
        _fit(line, width) + (CLEAR_LINE if ansi else "") for line in lines[: height - 1]
    )


class TerminalView(Monitor):
    """Redraws the screen from the engine's status (throttled by the engine)."""

    name = "view"

    def __init__(self, stream: TextIO | None = None, sound: list[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.sound = sound or []
        self.log: list[str] = []
        self.tunes: dict[int, int] = {}  # voice -> tunes started (the header's count)
        self.texts = TuneText()
        self._started = False

    def text(self, t: float, voice: int, text: str) -> None:
        self.texts.add(voice, text)

    def tune(self, t: float, voice: int, tune: TuneInfo) -> None:
        self.tunes[voice] = self.tunes.get(voice, 0) + 1
        self.log.append(tune_line(voice, tune, self.tunes[voice]))
        del self.log[:-50]

    def status(self, t: float, info: dict[str, Any]) -> None:
        size = shutil.get_terminal_size((100, 30))
        screen = render(
            info, self.log, size.columns, size.lines, sound=self.sound, text=self.texts.text
        )
        prefix = "\x1b[2J" if not self._started else ""
        self._started = True
        self.stream.write(prefix + HOME + screen + CLEAR_BELOW)
        self.stream.flush()

    def close(self, t: float) -> None:
        if self._started:
            self.stream.write("\n")
            self.stream.flush()


class TuneLog(Monitor):
    """One line per tune on a stream that is not a terminal."""

    name = "tunelog"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tunes: dict[int, int] = {}  # voice -> tunes started (as the status counts them)

    def tune(self, t: float, voice: int, tune: TuneInfo) -> None:
        self.tunes[voice] = self.tunes.get(voice, 0) + 1
        self.stream.write(tune_line(voice, tune, self.tunes[voice]) + "\n")
        self.stream.flush()
