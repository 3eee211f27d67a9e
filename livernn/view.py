"""The live terminal view of ``livernn serve`` (plain text + ANSI, no dependency).

``render`` is pure (status dict in, text out). ``TerminalView`` redraws it a few times a second
on a TTY; ``TuneLog`` writes one line per tune when the output is not a TTY (logs, pipes).
Both are outputs fed by the engine thread; ``--quiet`` uses neither.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any, TextIO

from livernn.outputs.base import Monitor, TuneInfo
from livernn.vocab import printable

CLEAR_LINE = "\x1b[K"
HOME = "\x1b[H"
CLEAR_BELOW = "\x1b[J"
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def tune_line(voice: int, tune: TuneInfo) -> str:
    """One line describing a tune that starts (for logs and the view), control characters
    escaped."""
    q = f", Q: {tune.tempo:g}" if tune.tempo else ""
    title = tune.title or "(untitled)"
    return printable(
        f"voice {voice + 1} tune {tune.tune + 1}: {title} (K: {tune.key or '?'}, M: {tune.meter or '?'}{q})"
    )


def _fit(s: str, width: int) -> str:
    return s if len(s) <= width else s[: max(0, width - 1)] + "~"


def render(
    status: dict[str, Any], log: list[str], width: int = 80, height: int = 24, ansi: bool = True
) -> str:
    """The whole screen for one status snapshot."""
    b, d, r = (BOLD, DIM, RESET) if ansi else ("", "", "")
    voices = status.get("voices", [])
    lines: list[str] = []
    state = "playing" if status.get("running") else "stopped"
    lines.append(
        f"{b}livernn{r}  {state}  {status.get('tempo', 0):.1f} BPM  beat {status.get('beat', 0):.1f}"
        f"  sounding {status.get('sounding', 0)}  voices {len(voices)}"
    )
    for v in voices:
        q = f" Q:{v['tune_tempo']:g}" if v.get("tune_tempo") else ""
        lines.append(
            f"{b}[{v['voice']}]{r} ch {v['channel']}  T={v['temperature']:.2f}"
            + (f" k={v['top_k']}" if v.get("top_k") else "")
            + (f" p={v['top_p']:.2f}" if v.get("top_p", 1.0) < 1.0 else "")
            + (f" constrain {v['constrain']}" if v.get("constrain") else "")
            + f"  {b}{printable(v.get('title') or '(untitled)')}{r}  K:{printable(v.get('key') or '?')}"
            f" M:{v.get('meter') or '?'}{q}  tunes {v.get('tunes', 0)} notes {v.get('notes', 0)}"
            + ("" if v.get("running") else "  (stopped)")
        )
    for entry in log[-3:]:
        lines.append(f"{d}{entry}{r}")
    lines.append("")
    room = max(3, height - len(lines) - 1)
    if voices:
        per = max(2, room // len(voices))
        for v in voices:
            text_lines = (v.get("text") or "").split("\n")[-per:]
            if len(voices) > 1:
                lines.append(f"{d}-- voice {v['voice']} --{r}")
            lines.extend(printable(t) for t in text_lines)  # a crafted vocabulary: no escapes
    return "\n".join(
        _fit(line, width) + (CLEAR_LINE if ansi else "") for line in lines[: height - 1]
    )


class TerminalView(Monitor):
    """Redraws the screen from the engine's status (throttled by the engine)."""

    name = "view"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.log: list[str] = []
        self._started = False

    def tune(self, t: float, voice: int, tune: TuneInfo) -> None:
        self.log.append(tune_line(voice, tune))
        del self.log[:-50]

    def status(self, t: float, info: dict[str, Any]) -> None:
        size = shutil.get_terminal_size((100, 30))
        screen = render(info, self.log, size.columns, size.lines)
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

    def tune(self, t: float, voice: int, tune: TuneInfo) -> None:
        self.stream.write(tune_line(voice, tune) + "\n")
        self.stream.flush()
