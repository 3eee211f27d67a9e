"""An independent check of ABC tunes: what abc2midi (default flags) says of each.

Used by the constraint tests and bench/constrained.py to judge the automaton from outside:
a tune is clean when abc2midi writes it with no ``Error``, and its bars are full when
abc2midi gives no "Bar N has X time units while the time signature has Y" warning (it
checks pickups the way the automaton promises: the closing bar completes the first).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

BAR_WARNING = re.compile(r"Bar \d+ has [\d/]+ time units while the time signature has")


@dataclass
class Verdict:
    errors: list[str] = field(default_factory=list)
    bar_warnings: list[str] = field(default_factory=list)
    other_warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors


def have_abc2midi() -> bool:
    return shutil.which("abc2midi") is not None


def check_tune(text: str) -> Verdict:
    """abc2midi's verdict on one tune (``X:`` line to its end)."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "t.abc"
        src.write_text(text.rstrip("\n") + "\n\n", encoding="utf-8")
        p = subprocess.run(
            ["abc2midi", str(src), "-o", str(Path(d) / "t.mid")],
            capture_output=True, text=True, errors="replace", timeout=30,
        )  # fmt: skip
    v = Verdict()
    for line in (p.stdout + p.stderr).splitlines():
        if line.startswith("Error"):
            v.errors.append(line)
        elif line.startswith("Warning"):
            (v.bar_warnings if BAR_WARNING.search(line) else v.other_warnings).append(line)
    if p.returncode != 0 and not v.errors:
        v.errors.append(f"abc2midi exited {p.returncode}")
    return v
