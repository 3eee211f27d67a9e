"""The built-in synth (``--synth``): FluidSynth as a managed subprocess, fed on its stdin.

A note sink among the others (``base.NoteSink``), wired by ``server.build_server``. livernn
starts ``fluidsynth`` with a General MIDI soundfont and sends it shell commands (``noteon``,
``noteoff``, ``prog``, ``cc``) down a pipe: no MIDI system, port or connection is needed, so
it sounds the same on JACK, PulseAudio/PipeWire, ALSA or CoreAudio, whichever FluidSynth can
open (JACK first when a server is up). ``--synth-wav FILE`` runs a second FluidSynth on its
``file`` driver, fed the same commands, which writes the set's audio in real time (how it is
tested on a machine with no sound card). The children run in their own session (a Ctrl-C
in the terminal reaches livernn, which silences and reaps them) and quit by themselves when
the pipe closes, so even a SIGKILLed livernn leaves no synth behind.

``render`` uses ``find_fluidsynth``/``find_soundfont``/``render_wav`` for ``livernn render
--out X.wav``, normalised to ``PEAK_DBFS``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from livernn.config import SynthConfig
from livernn.errors import ConfigError
from livernn.outputs.base import NoteSink

log = logging.getLogger(__name__)

# Where distributions and package managers put a General MIDI soundfont, best first.
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Fedora, Arch
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf2/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",  # macOS Homebrew (Apple silicon, Intel)
    "/usr/local/share/soundfonts/default.sf2",
    "~/.local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/fluid-synth/sf2/VintageDreamsWaves-v2.sf2",  # fluid-synth's own
    "/usr/local/share/fluid-synth/sf2/VintageDreamsWaves-v2.sf2",
)
PEAK_DBFS = -3.0  # where rendered audio peaks (livernn render --out X.wav)
# FluidSynth's gain for one voice: a tune on the GM piano then peaks near PEAK_DBFS
# (measured: BENCHMARKS.md "Loudness"); several voices share it (gain / sqrt(voices)).
DEFAULT_GAIN = 2.5
START_TIMEOUT = 15.0  # seconds for FluidSynth to load the soundfont and open its driver
RELEASE = 0.3  # seconds of release tail after all-notes-off before the synth quits


def install_hint() -> str:
    if sys.platform == "darwin":
        return "brew install fluid-synth"
    return "apt-get install fluidsynth fluid-soundfont-gm"


def find_fluidsynth(what: str = "--synth") -> str:
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ConfigError(f"{what} needs FluidSynth, which is not installed ({install_hint()})")
    return exe


def find_soundfont(given: Path | None = None, what: str = "--synth") -> Path:
    """``given`` when it is a file, else the first of ``SOUNDFONTS`` that exists."""
    if given is not None:
        if not given.expanduser().is_file():
            raise ConfigError(f"soundfont not found: {given}")
        return given.expanduser()
    for p in SOUNDFONTS:
        path = Path(p).expanduser()
        if path.is_file():
            return path
    raise ConfigError(
        f"{what} needs a General MIDI soundfont and none was found "
        f"({install_hint()}, or give --soundfont PATH)"
    )


def audio_drivers(exe: str) -> list[str]:
    """The audio drivers this FluidSynth was built with (``fluidsynth -a help``)."""
    try:
        r = subprocess.run(
            [exe, "-a", "help"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return re.findall(r"'([\w-]+)'", r.stdout + r.stderr)


def drivers_to_try(exe: str, wanted: str | None) -> list[str | None]:
    """The given driver, else JACK when a server is up, FluidSynth's default (None), then
    the platform's other sound systems FluidSynth was built with."""
    if wanted is not None:
        return [wanted]
    from livernn.outputs import jack

    have = audio_drivers(exe)
    order: list[str | None] = []
    if "jack" in have and jack.running():
        order.append("jack")
    order.append(None)
    if sys.platform == "darwin":
        order += ["coreaudio", "portaudio"]
    elif sys.platform.startswith("win"):
        order += ["wasapi", "dsound", "waveout"]
    else:
        order += ["pipewire", "pulseaudio", "alsa", "sdl2"]
    return [d for d in dict.fromkeys(order) if d is None or d in have]


class FluidSynth:
    """One ``fluidsynth`` process reading shell commands on its stdin."""

    def __init__(self, proc: subprocess.Popen, logfile, label: str) -> None:
        self.proc = proc
        self.logfile = logfile  # its stdout and stderr (a temporary file)
        self.label = label
        self.failed = False

    @classmethod
    def start(
        cls, exe: str, soundfont: Path, driver: str | None, gain: float, wav: Path | None = None
    ) -> FluidSynth:
        """Start it and wait until its shell answers (the audio driver is open); ConfigError
        with FluidSynth's own reason when it exits instead."""
        cmd = [exe, "-n", "-q", "-g", f"{gain:.3f}", "-o", "shell.prompt="]
        if wav is not None:
            cmd += ["-a", "file", "-o", f"audio.file.name={wav}", "-o", "audio.file.type=wav"]
            label = f"WAV {wav}"
        else:
            if driver is not None:
                cmd += ["-a", driver]
            if driver == "jack":
                cmd += ["-j"]  # connect its audio outputs to the system playback ports
            label = driver or "default driver"
        cmd.append(str(soundfont))
        logfile = tempfile.TemporaryFile(prefix="livernn-fluidsynth-")  # noqa: SIM115 (closed by close)
        env = {**os.environ, "JACK_NO_START_SERVER": "1"}
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=logfile, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,  # the terminal's Ctrl-C is livernn's to handle
        )  # fmt: skip
        synth = cls(proc, logfile, label)
        synth.send("get synth.midi-channels", quiet=True)  # answered once the shell is up
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                why = synth.reason()
                synth.close(0.0)
                raise ConfigError(f"fluidsynth ({label}) did not start: {why}")
            if re.search(r"^\d+\s*$", synth.output(), re.M):
                return synth
            time.sleep(0.02)
        synth.close(0.0)
        raise ConfigError(f"fluidsynth ({label}) did not start in {START_TIMEOUT:g} s")

    def output(self) -> str:
        try:
            self.logfile.seek(0)
            return self.logfile.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def reason(self) -> str:
        """FluidSynth's last error line (one line)."""
        lines = [ln.strip() for ln in self.output().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower() or "fail" in ln.lower()]
        return ((errors or lines or ["no output"])[-1])[:200]

    def send(self, line: str, quiet: bool = False) -> None:
        """One shell command; a synth that has gone is said once (the show goes on)."""
        stdin = self.proc.stdin
        if self.failed or stdin is None or stdin.closed:
            return
        try:
            os.write(stdin.fileno(), (line + "\n").encode())
        except (OSError, ValueError) as e:
            self.failed = True
            if not quiet:
                log.error("fluidsynth (%s) stopped: %s (%s)", self.label, e, self.reason())

    def alive(self) -> bool:
        return self.proc.poll() is None

    def quit(self) -> None:
        """Ask it to quit and close its stdin (it also quits on end of input)."""
        self.send("quit")
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()

    def close(self, timeout: float = 5.0) -> None:
        """Quit and reap: wait up to ``timeout`` (the WAV is finished), then kill."""
        self.quit()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("fluidsynth (%s) did not quit; killed", self.label)
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.logfile.close()


class SynthOutput(NoteSink):
    """Notes to one or two FluidSynths (the sound card, the ``--synth-wav`` file); closing
    releases every note, lets the release ring for ``RELEASE`` s and reaps them."""

    name = "synth"
    latency_group = "midi"

    def __init__(self, synths: list[FluidSynth], description: str) -> None:
        self.synths = synths
        self.description = description
        self._warned = False

    def _send(self, line: str) -> None:
        for s in self.synths:
            s.send(line)

    def note_on(self, t, voice, channel, pitch, velocity, duration) -> None:
        self._send(f"noteon {channel - 1} {pitch} {velocity}")

    def note_off(self, t, voice, channel, pitch) -> None:
        self._send(f"noteoff {channel - 1} {pitch}")

    def program(self, t, channel, program) -> None:
        self._send(f"prog {channel - 1} {program}")

    def panic(self, t, channels) -> None:
        for ch in channels:
            self._send(f"cc {ch - 1} 123 0")

    def tick(self, t) -> None:
        if not self._warned and any(not s.alive() for s in self.synths):
            self._warned = True
            dead = next(s for s in self.synths if not s.alive())
            log.error("fluidsynth (%s) exited: %s", dead.label, dead.reason())

    def close(self, t) -> None:
        self.panic(t, list(range(1, 17)))
        if any(s.alive() for s in self.synths):
            time.sleep(RELEASE)
        for s in self.synths:
            s.quit()
        for s in self.synths:
            s.close()


def gain_for(cfg: SynthConfig, voices: int) -> float:
    if cfg.gain is not None:
        return cfg.gain
    return DEFAULT_GAIN / math.sqrt(max(1, voices))


def open_synth(cfg: SynthConfig, voices: int = 1) -> SynthOutput | None:
    """Start what ``cfg`` asks for (None when ``--synth`` is off); ConfigError when FluidSynth
    or a soundfont is missing, or when no audio driver opens and there is no ``--synth-wav``
    (then the sound card is skipped with a warning and the file is still written)."""
    if not cfg.enabled:
        return None
    exe = find_fluidsynth()
    sf2 = find_soundfont(cfg.soundfont)
    gain = gain_for(cfg, voices)
    synths: list[FluidSynth] = []
    parts: list[str] = []
    try:
        if cfg.wav is not None:
            synths.append(FluidSynth.start(exe, sf2, None, gain, wav=cfg.wav))
        if cfg.audio:
            tried: list[str] = []
            for driver in drivers_to_try(exe, cfg.driver):
                t0 = time.monotonic()
                try:
                    synths.append(FluidSynth.start(exe, sf2, driver, gain))
                except ConfigError as e:
                    tried.append(str(e).removeprefix("fluidsynth "))
                    continue
                log.info("fluidsynth (%s) started in %.2f s", driver, time.monotonic() - t0)
                parts.append(f"FluidSynth on {synths[-1].label}")
                break
            else:
                msg = "no audio output for --synth (" + "; ".join(tried) + ")"
                if cfg.wav is None:
                    raise ConfigError(msg + "; start JACK or PulseAudio, or use --synth-wav FILE")
                log.warning("%s; writing %s only", msg, cfg.wav)
        if cfg.wav is not None:
            parts.append(f"audio to {cfg.wav}")
    except BaseException:
        for s in synths:
            s.close(1.0)
        raise
    desc = ", ".join(parts) + f" ({sf2.name}, gain {gain:.2f})"
    return SynthOutput(synths, desc)


def render_wav(mid_path: Path, wav_path: Path, soundfont: Path | None = None) -> float:
    """Render a MIDI file with ``fluidsynth -ni -F`` and normalise it to ``PEAK_DBFS``; the
    peak before normalising, in dBFS."""
    from livernn.outputs import wav

    exe = find_fluidsynth("writing .wav")
    sf2 = find_soundfont(soundfont, "writing .wav")
    cmd = [exe, "-ni", "-q", "-g", "1.0", "-F", str(wav_path), "-r", "44100", str(sf2)]
    proc = subprocess.run(
        [*cmd, str(mid_path)], capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode != 0 or not wav_path.is_file():
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ConfigError(f"fluidsynth failed to render {wav_path}: {last[0]}")
    return wav.normalise(wav_path, PEAK_DBFS)
