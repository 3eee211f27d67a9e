"""Bad files and arguments: every row of the "Bad input" table (docs/GUIDE.md), run as a real
``python -m livernn`` process. Each gets exactly one line on stderr, ``livernn: error: ...``
(or, where livernn carries on by design, one notice), the exit status the table says, and
never a traceback.

``python -m tests.test_stage_badinput`` prints the table for docs/GUIDE.md from real runs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    label: str  # what was tried (the README's first column)
    argv: tuple[str, ...]  # {model}, {dir}, {port}, {busy} are filled in
    message: str  # a regular expression the one stderr line must match
    status: int = 2
    serve_seconds: float = 0.0  # > 0: a server that is expected to run; SIGTERM after this
    jack: bool = False  # run against the test's JACK server (which has a client 'livernn:stage')


ROWS = [
    Row("model file missing", ("serve", "--model", "{dir}/nope.onnx"), r"model file not found"),
    Row("not ONNX (a text file)", ("serve", "--model", "{dir}/text.onnx"), r"not a loadable ONNX model"),
    Row("truncated ONNX file", ("serve", "--model", "{dir}/truncated.onnx"), r"not a loadable ONNX model"),
    Row("ONNX without livernn metadata", ("serve", "--model", "{dir}/nometa.onnx"), r"has no livernn metadata"),
    Row("metadata key missing", ("serve", "--model", "{dir}/nohidden.onnx"), r"metadata is missing livernn.hidden"),
    Row("wrong input names", ("serve", "--model", "{dir}/names.onnx"), r"has no input named 'tokens'"),
    Row("wrong input type", ("serve", "--model", "{dir}/dtype.onnx"), r"input 'tokens' is float, the contract says int64"),
    Row("vocabulary size differs from the logits", ("serve", "--model", "{dir}/vocab.onnx"), r"vocabulary|logits"),
    Row("seed character not in the vocabulary", ("serve", "--model", "{model}", "--seed", "X:1\u00e9"), r"not in the (model's )?vocabulary"),
    Row("livernn info on a text file", ("info", "{dir}/text.onnx"), r"not a loadable ONNX model"),
    Row("livernn generate, truncated model", ("generate", "--model", "{dir}/truncated.onnx", "--seed", "X:1", "--length", "10"), r"not a loadable ONNX model"),
    Row("OSC port in use", ("serve", "--model", "{model}", "--osc-port", "{busy}"), r"cannot listen for OSC on 127\.0\.0\.1:\d+: Address already in use"),
    Row("OSC host not an address", ("serve", "--model", "{model}", "--osc-host", "no.such.host.invalid"), r"cannot listen for OSC on no\.such\.host\.invalid"),
    Row("unknown MIDI port (carries on with OSC)", ("serve", "--model", "{model}", "--osc-port", "{port}", "--midi-api", "jack", "--midi-port", "no-such-port", "--quiet"), r"no MIDI output \(jack: no port matches 'no-such-port'", status=0, serve_seconds=3.0, jack=True),
    Row("MIDI port name in use (JACK renames the client)", ("serve", "--model", "{model}", "--osc-port", "{port}", "--midi-api", "jack", "--virtual", "stage", "--quiet"), r"MIDI out: virtual port 'stage' \(jack\)", status=0, serve_seconds=3.0, jack=True),
    Row("no MIDI system at all (carries on with OSC)", ("serve", "--model", "{model}", "--osc-port", "{port}", "--quiet", "--midi-port", "synth"), r"no MIDI output \(", status=0, serve_seconds=3.0),
    Row("MIDI API not available (carries on with OSC)", ("serve", "--model", "{model}", "--osc-port", "{port}", "--midi-api", "coremidi", "--quiet"), r"no MIDI output \(coremidi", status=0, serve_seconds=3.0),
    Row("record into a missing folder", ("serve", "--model", "{model}", "--record", "{dir}/no/such/dir/out.mid"), r"cannot record to .*does not exist"),
    Row("tempo not a number", ("serve", "--tempo", "fast"), r"argument --tempo: invalid float value: 'fast'"),
    Row("tempo negative", ("serve", "--model", "{model}", "--tempo", "-120"), r"tempo must be between 1 and 1000 BPM"),
    Row("tempo NaN", ("serve", "--model", "{model}", "--tempo", "nan"), r"tempo must be between 1 and 1000 BPM"),
    Row("tempo enormous", ("serve", "--model", "{model}", "--tempo", "1e9"), r"tempo must be between 1 and 1000 BPM"),
    Row("temperature 0", ("serve", "--model", "{model}", "--temperature", "0"), r"temperature must be > 0"),
    Row("temperature infinite", ("serve", "--model", "{model}", "--temperature", "inf"), r"temperature must be > 0 and <= 10"),
    Row("no voices", ("serve", "--model", "{model}", "--voices", "0"), r"--voices must be 1\.\.64"),
    Row("MIDI channel 17", ("serve", "--model", "{model}", "--channel", "17"), r"channel must be 1\.\.16"),
    Row("OSC port out of range", ("serve", "--model", "{model}", "--osc-port", "70000"), r"--osc-port must be 0\.\.65535"),
    Row("packet cap too small", ("serve", "--model", "{model}", "--max-packet", "10"), r"--max-packet must be 64\.\.65507"),
    Row("--osc-out without a port", ("serve", "--model", "{model}", "--osc-out", "host:x"), r"expected HOST:PORT"),
    Row("empty seed", ("serve", "--model", "{model}", "--seed", ""), r"seed text must not be empty"),
    Row("lookahead too long", ("serve", "--model", "{model}", "--lookahead", "5"), r"lookahead must be > 0 and <= 2 s"),
    Row("unknown device", ("serve", "--device", "tpu"), r"argument --device: invalid choice: 'tpu'"),
    Row("unknown flag", ("serve", "--frobnicate"), r"unrecognized arguments: --frobnicate"),
    Row("unknown command", ("play",), r"invalid choice: 'play'"),
    Row("corpus path missing", ("train", "--corpus", "{dir}/none.abc", "--out", "{dir}/run"), r"corpus path .* does not exist"),
    Row("unreadable corpus (not UTF-8)", ("train", "--corpus", "{dir}/binary.abc", "--out", "{dir}/run"), r"is not UTF-8"),
    Row("empty corpus", ("train", "--corpus", "{dir}/empty.abc", "--out", "{dir}/run"), r"has no text"),
    Row("corpus folder without .abc/.txt", ("train", "--corpus", "{dir}/emptydir", "--out", "{dir}/run"), r"has no .* files"),
    Row("vocabulary with a lone surrogate", ("info", "{dir}/surrogate.onnx"), r"lone surrogate, not text"),
    Row("serve, vocabulary with a lone surrogate", ("serve", "--model", "{dir}/surrogate.onnx"), r"lone surrogate, not text"),
    Row("logits' width follows the input length", ("serve", "--model", "{dir}/timewide.onnx"), r"gives logits of shape \[2, 3, \d+\] for tokens \[2, 3\]"),
    Row("model too slow for real time", ("serve", "--model", "{dir}/slow.onnx"), r"takes [\d.]+ ms, more than the 10 ms real time needs .*--allow-slow-model"),
    Row("--allow with a hostname", ("serve", "--model", "{model}", "--allow", "myhost.local"), r"--allow takes IP addresses or CIDR ranges"),
    Row("--record onto an existing file", ("serve", "--model", "{model}", "--record", "{dir}/text.onnx"), r"cannot record to .*the file exists \(--force overwrites it\)"),
    Row("--record onto a folder", ("serve", "--model", "{model}", "--record", "{dir}/emptydir"), r"cannot record to .*it is a folder"),
    Row("--synth with a missing soundfont", ("serve", "--model", "{model}", "--synth", "--soundfont", "{dir}/none.sf2"), r"soundfont not found: .*none\.sf2"),
    Row("--synth-wav onto an existing file", ("serve", "--model", "{model}", "--synth-wav", "{dir}/text.onnx"), r"cannot record to .*the file exists \(--force overwrites it\)"),
    Row("--synth-gain out of range", ("serve", "--model", "{model}", "--synth", "--synth-gain", "50"), r"--synth-gain must be 0\.\.10"),
    Row("export a pickle that is not a checkpoint", ("export", "{dir}/evil.pt", "--out", "{dir}/x.onnx"), r"is not a livernn checkpoint \(it holds Python objects"),
]  # fmt: skip


class Evil:
    """Unpickling this would create a file: it must never happen."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/livernn-pwned-by-pickle",))


def make_files(d: Path, model: Path) -> None:
    from tests.onnx_gru import CHARS, save_gru

    (d / "text.onnx").write_text("hello, I am not a model\n")
    data = model.read_bytes()
    (d / "truncated.onnx").write_bytes(data[: len(data) // 2])
    from livernn.contract import REQUIRED_KEYS

    save_gru(d / "nometa.onnx", drop_keys=REQUIRED_KEYS)
    save_gru(d / "nohidden.onnx", drop_keys=("livernn.hidden",))
    save_gru(d / "names.onnx", names=("ids", "state", "logits", "state_out"))
    from onnx import TensorProto

    save_gru(d / "dtype.onnx", tokens_dtype=TensorProto.FLOAT)
    save_gru(d / "vocab.onnx", vocab_out=len(CHARS) + 3)
    save_gru(d / "surrogate.onnx", chars=[*CHARS[:-1], "\ud800"])
    save_gru(d / "timewide.onnx", time_dependent=True)
    save_gru(d / "slow.onnx", slow=1500)
    (d / "binary.abc").write_bytes(b"X:1\n\xff\xfe\x00garbage")
    (d / "empty.abc").write_text("")
    (d / "emptydir").mkdir()
    (d / "emptydir" / "notes.md").write_text("not a corpus")
    with open(d / "evil.pt", "wb") as f:
        pickle.dump(Evil(), f)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_row(
    row: Row, fill: dict[str, str], jack_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str] | None:
    if row.jack and jack_env is None:
        return None
    argv = [a.format(**fill) for a in row.argv]
    if "serve" in argv and "--osc-port" not in argv:
        argv += ["--osc-port", str(free_port())]
    if "serve" in argv and not any(a in argv for a in ("--midi-port", "--midi-api", "--virtual")):
        argv += ["--no-midi"]
    cmd = [sys.executable, "-m", "livernn", *argv]
    env = {**os.environ, "JACK_NO_START_SERVER": "1"}
    if row.jack:
        env = jack_env
    else:  # no JACK server reachable: the machine has no MIDI system
        env["JACK_DEFAULT_SERVER"] = "livernn-no-such-jack-server"
    if not row.serve_seconds:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    time.sleep(row.serve_seconds)
    alive = p.poll() is None
    p.terminate()
    out, err = p.communicate(timeout=30)
    if not alive:  # it should still have been serving
        return subprocess.CompletedProcess(cmd, 99, out, err)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


@contextlib.contextmanager
def jack_with_stage_client(model: str):
    """A JACK dummy server on which a livernn already holds the virtual port 'stage'
    (None when JACK is not installed)."""
    from tests.support.jack import jack_server

    try:
        cm = jack_server(fluidsynth=False)
        jack = cm.__enter__()
    except pytest.skip.Exception:
        yield None
        return
    holder = None
    try:
        cmd = [sys.executable, "-m", "livernn", "serve", "--model", model, "--quiet"]
        cmd += ["--osc-port", str(free_port()), "--midi-api", "jack", "--virtual", "stage"]
        holder = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=jack.env
        )
        jack.wait_for_port("livernn:stage", timeout=30)
        yield jack.env
    finally:
        if holder is not None:
            holder.terminate()
            holder.wait(10)
        cm.__exit__(None, None, None)


def run_all(model: str, d: Path) -> dict[str, subprocess.CompletedProcess[str] | None]:
    """Every row run once, several at a time (each is a fresh interpreter start)."""
    make_files(d, Path(model))
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    fill = {"model": model, "dir": str(d), "busy": str(busy.getsockname()[1])}
    try:
        with jack_with_stage_client(model) as jack_env, ThreadPoolExecutor(max_workers=4) as ex:
            futs = {
                r.label: ex.submit(run_row, r, {**fill, "port": str(free_port())}, jack_env)
                for r in ROWS
            }
            return {label: f.result() for label, f in futs.items()}
    finally:
        busy.close()


@pytest.fixture(scope="module")
def results(tiny_model_path, tmp_path_factory):
    return run_all(str(tiny_model_path), tmp_path_factory.mktemp("bad"))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("row", ROWS, ids=[r.label for r in ROWS])
def test_bad_input_gets_one_clear_line(results, row):
    r = results[row.label]
    if r is None:
        pytest.skip("JACK is not installed (see .ci/run)")
    lines = error_lines(r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    assert r.returncode == row.status, (r.returncode, r.stderr)
    if row.serve_seconds:  # carries on: the notice is one line among the startup lines
        notices = [line for line in lines if re.search(row.message, line)]
        assert len(notices) == 1, r.stderr
        assert not any(line.startswith("livernn: error") for line in lines), r.stderr
    else:
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("livernn: error: "), lines[0]
        assert re.search(row.message, lines[0]), lines[0]
    assert not Path("/tmp/livernn-pwned-by-pickle").exists()


def test_readme_lists_every_row():
    readme = (ROOT / "docs" / "GUIDE.md").read_text()  # moved there from the README
    section = readme.split("### Bad input", 1)[-1].split("\n## ", 1)[0]
    missing = [r.label for r in ROWS if f"| {r.label} |" not in section]
    assert missing == [], missing


def markdown_table(results: dict[str, subprocess.CompletedProcess[str]]) -> str:
    out = ["| input | command | exit | what livernn says |", "|---|---|---|---|"]
    for row in ROWS:
        r = results[row.label]
        if r is None:
            continue
        lines = error_lines(r.stderr)
        said = next((line for line in lines if re.search(row.message, line)), " / ".join(lines))
        said = re.sub(r"/tmp/[^\s':]*/", "", said).replace("|", "\\|").replace("`", "'")
        said = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", said)
        cmd = " ".join(row.argv).replace("{dir}/", "").replace("{model}", "M.onnx")
        cmd = cmd.replace("{busy}", "PORT").replace("{port}", "PORT").replace("|", "\\|")
        cmd = cmd.replace("\n", "\\n")
        out.append(f"| {row.label} | `livernn {cmd}` | {r.returncode} | `{said}` |")
    return "\n".join(out)


if __name__ == "__main__":  # print the README table from real runs
    import tempfile

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        print(markdown_table(run_all(sys.argv[1], Path(tmp))))
