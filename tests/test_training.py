"""The model, the batching, the training loop, checkpoints/resume, and `livernn train` errors.

Real torch training throughout (tiny models, a few steps); needs the [train] extra.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="needs the [train] extra (torch)")

from livernn.cli import main  # noqa: E402
from livernn.errors import ConfigError, CorpusError, ModelError  # noqa: E402
from livernn.paths import BUILTIN_CORPUS  # noqa: E402
from training.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from training.data import StatefulBatches, batch_random  # noqa: E402
from training.evaluate import sample_text  # noqa: E402
from training.model import CharRNN, ModelConfig  # noqa: E402
from training.train import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _cfg(out: Path, **kw) -> TrainConfig:
    base = dict(
        corpus=(str(BUILTIN_CORPUS),),
        out=str(out),
        batch_size=8,
        seq_len=32,
        lr=1e-2,
        warmup_steps=2,
        max_steps=6,
        epochs=3,
        steps_per_epoch=2,
        patience=0,
        val_chars=2000,
        sample_chars=20,
        plot=False,
        quiet=True,
        threads=1,
    )
    base.update(kw)
    return TrainConfig(**base)


TINY = ModelConfig(vocab_size=1, layers=1, hidden=16, embedding=8, dropout=0.0)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_forward_shapes_and_state_carry(cell: str) -> None:
    torch.manual_seed(0)
    m = CharRNN(ModelConfig(vocab_size=11, cell=cell, layers=2, hidden=6, embedding=4)).eval()
    S = 12 if cell == "lstm" else 6
    ids = torch.randint(0, 11, (3, 9))  # [B, T]
    state = torch.randn(2, 3, S)  # [L, B, S]
    logits, out = m(ids, state)
    assert logits.shape == (3, 9, 11) and out.shape == (2, 3, S)
    # the state carries: two chunks with the state passed on == one pass
    l1, s1 = m(ids[:, :4], state)
    l2, s2 = m(ids[:, 4:], s1)
    torch.testing.assert_close(torch.cat([l1, l2], 1), logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s2, out, atol=1e-5, rtol=1e-5)


def test_model_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown cell 'transformer'"):
        ModelConfig(vocab_size=5, cell="transformer").validate()
    with pytest.raises(ConfigError, match="dropout"):
        ModelConfig(vocab_size=5, dropout=1.5).validate()
    with pytest.raises(ConfigError, match="layers"):
        ModelConfig(vocab_size=5, layers=0).validate()
    cfg = ModelConfig(vocab_size=5, cell="lstm", hidden=7)
    assert cfg.state_size == 14 and ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_dropout_is_on_inputs_and_outputs_only_in_training() -> None:
    m = CharRNN(ModelConfig(vocab_size=7, layers=3, hidden=8, embedding=4, dropout=0.5))
    assert m.rnn.dropout == 0.5 and m.drop_in.p == 0.5 and m.drop_out.p == 0.5
    ids, st = torch.randint(0, 7, (2, 5)), m.initial_state(2)
    m.eval()
    a, _ = m(ids, st)
    b, _ = m(ids, st)
    assert torch.equal(a, b)  # deterministic in eval
    m.train()
    c, _ = m(ids, st)
    assert not torch.allclose(a, c)


def test_batching_random_windows_and_stateful_streams() -> None:
    data = torch.arange(1000)
    gen = torch.Generator().manual_seed(0)
    x, y = batch_random(data, 4, 10, gen)
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y, x + 1)  # targets are the next characters
    sb = StatefulBatches(data, batch=4, seq=10)
    x1, y1, w1 = sb.next()
    x2, _, w2 = sb.next()
    assert not w1 and not w2
    assert torch.equal(x2[:, 0], x1[:, -1] + 1)  # each row continues where it stopped
    assert torch.equal(y1, x1 + 1)
    rows = [sb.next()[2] for _ in range(30)]
    assert any(rows)  # wraps around (and says so, so the state is reset)
    with pytest.raises(CorpusError):
        StatefulBatches(torch.arange(3), batch=4, seq=10)


def test_tiny_fixture_learns_abc(tiny_run) -> None:
    # uniform over ~80 characters is 6.3 bits; a few seconds of training gets well below 3.5
    assert tiny_run.best_val_bpc < 3.5, tiny_run.history
    assert tiny_run.best_path.is_file() and tiny_run.latest_path.is_file()
    ck = load_checkpoint(tiny_run.best_path)  # weights_only=True inside
    assert ck["model_config"]["hidden"] == 32 and ck["tokens_seen"] == tiny_run.tokens_seen
    assert json.loads(ck["clean"])["headers"] is True
    model, vocab = model_from_checkpoint(ck)
    texts = [
        sample_text(model, vocab, "X:1\n", 400, torch.device("cpu"), temperature=0.7, seed=s)
        for s in (1, 2, 3)
    ]
    assert any("K:" in t for t in texts) and all(t.count("|") >= 5 for t in texts), texts


def test_train_writes_checkpoints_plot_samples_and_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    r1 = train(_cfg(run, plot=True, max_steps=4), TINY)
    assert r1.steps == 4 and r1.epochs == 2
    for name in ("latest.pt", "best.pt", "loss.png", "samples.txt", "history.json"):
        assert (run / name).is_file(), name
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "samples.txt").read_text().count("=== epoch") == 2
    hist = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in hist] == [1, 2] and all(h["val_bpc"] > 0 for h in hist)
    # resume continues from the checkpoint: steps, tokens and history carry on
    r2 = train(_cfg(run, max_steps=8, epochs=10, resume="auto"), TINY)
    assert r2.steps == 8 and r2.tokens_seen == 2 * r1.tokens_seen
    assert len(r2.history) == 4
    # a checkpoint from another corpus (another vocabulary) is refused in one line
    other = tmp_path / "other.txt"
    other.write_text("abc abc\n\nxyz", encoding="utf-8")
    with pytest.raises(ModelError, match="another vocabulary"):
        train(_cfg(tmp_path / "r3", corpus=(str(other),), resume=str(run / "latest.pt")), TINY)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_stateful_batching_trains_every_cell(tmp_path: Path, cell: str) -> None:
    mcfg = ModelConfig(vocab_size=1, cell=cell, layers=2, hidden=24, embedding=8, dropout=0.1)
    r = train(_cfg(tmp_path, batching="stateful", max_steps=30, steps_per_epoch=10, lr=2e-2), mcfg)
    first, last = r.history[0]["train_bpc"], r.history[-1]["train_bpc"]
    assert last < first - 0.5, r.history  # it learns (uniform is ~6.3 bits)
    model, _ = model_from_checkpoint(load_checkpoint(r.latest_path))
    assert model.cfg.cell == cell


def test_early_stopping_on_validation_loss(tmp_path: Path) -> None:
    # lr so small nothing improves after the first epoch: patience 1 stops at epoch 2
    r = train(_cfg(tmp_path, lr=1e-9, warmup_steps=0, max_steps=0, epochs=50, patience=1), TINY)
    assert r.epochs <= 3


def test_text_corpus_trains(tmp_path: Path) -> None:
    poem = tmp_path / "fierro.txt"
    poem.write_text(("Aquí me pongo a cantar\nal compás de la vigüela\n\n" * 40), encoding="utf-8")
    r = train(_cfg(tmp_path / "run", corpus=(str(poem),), max_steps=4), TINY)
    ck = load_checkpoint(r.best_path)
    assert "ü" in ck["vocab"] and "fierro.txt" in ck["corpus"]


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_train_and_export(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    rc, out, _ = _cli(
        [
            "train",
            *_train_cmd(run, "--max-steps", "3", "--steps-per-epoch", "3", "--quiet"),
            "--export",
            str(tmp_path / "m.onnx"),
        ],
        capsys,
    )
    assert rc == 0, out
    assert "best validation" in out and "parity max abs diff" in out
    assert (tmp_path / "m.onnx").is_file()
    rc, out, err = _cli(["export", str(run / "best.pt"), "--out", str(tmp_path / "n.onnx")], capsys)
    assert rc == 0 and "parity ok" in out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--corpus", "/nonexistent/tunes.abc"], "does not exist"),
        (["--corpus", "EMPTY"], "has no text"),
        (["--corpus", str(BUILTIN_CORPUS), "--cell", "transformer"], "unknown cell"),
        (["--corpus", str(BUILTIN_CORPUS), "--clean", "fingers"], "unknown cleaning option"),
        (["--corpus", str(BUILTIN_CORPUS), "--resume", "NOTCKPT"], "not a livernn checkpoint"),
        (["--corpus", str(BUILTIN_CORPUS), "--resume", "MISSING"], "does not exist"),
        (["--corpus", str(BUILTIN_CORPUS), "--lr", "0"], "learning rate"),
    ],
)
def test_cli_train_bad_inputs_are_one_line_errors(tmp_path: Path, capsys, args, message) -> None:
    empty = tmp_path / "empty.abc"
    empty.write_text("\n\n", encoding="utf-8")
    notckpt = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, notckpt)
    subs = {"EMPTY": str(empty), "NOTCKPT": str(notckpt), "MISSING": str(tmp_path / "no.pt")}
    args = [subs.get(a, a) for a in args]
    rc, _, err = _cli(["train", *args, "--out", str(tmp_path / "run"), "--max-steps", "1"], capsys)
    assert rc == 2
    assert err.startswith("livernn: error:") and message in err
    assert err.count("\n") == 1, err  # one line, no traceback


def test_cli_export_refuses_other_files(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    rc, _, err = _cli(["export", str(junk), "--out", str(tmp_path / "x.onnx")], capsys)
    assert rc == 2 and err.startswith("livernn: error:") and "junk.pt" in err
    assert "checkpoint" in err and err.count("\n") == 1
    # a checkpoint whose weights belong to another model
    run = tmp_path / "run"
    train(_cfg(run, max_steps=1, steps_per_epoch=1, epochs=1), TINY)
    ck = torch.load(run / "best.pt", weights_only=True)
    ck["model_config"]["hidden"] = 32
    torch.save(ck, tmp_path / "mismatch.pt")
    rc, _, err = _cli(
        ["export", str(tmp_path / "mismatch.pt"), "--out", str(tmp_path / "y.onnx")], capsys
    )
    assert rc == 2 and "do not fit its config" in err and err.count("\n") == 1
    assert not (tmp_path / "y.onnx").exists()


def _train_cmd(out: Path, *extra: str) -> list[str]:
    return [
        "--corpus",
        str(BUILTIN_CORPUS),
        "--out",
        str(out),
        "--layers",
        "1",
        "--hidden",
        "16",
        "--embedding",
        "8",
        "--batch-size",
        "8",
        "--seq-len",
        "16",
        "--val-chars",
        "1000",
        "--no-plot",
        "--threads",
        "1",
        *extra,
    ]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_saves_a_checkpoint_before_exiting(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livernn",
            "train",
            *_train_cmd(out, "--epochs", "100000", "--steps-per-epoch", "5"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (out / "history.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)  # wait until training is under way (first epoch done)
        assert proc.poll() is None, proc.communicate()
        os.remove(out / "latest.pt")
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "[interrupted]" in stdout
    ck = load_checkpoint(out / "latest.pt")
    assert ck["step"] > 0


@pytest.mark.slow
def test_torchrun_ddp_one_process(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not on PATH")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node=1",
            "-m",
            "livernn",
            "train",
            *_train_cmd(out, "--max-steps", "4", "--steps-per-epoch", "2", "--quiet"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ck = load_checkpoint(out / "latest.pt")
    assert ck["step"] == 4 and not any(k.startswith("module.") for k in ck["model"])


# every flag `livernn train` has had (README documents them); they are derived from the configs
TRAIN_FLAGS = (
    "--corpus",
    "--out",
    "--cell",
    "--layers",
    "--hidden",
    "--embedding",
    "--dropout",
    "--clean",
    "--text-split",
    "--val-fraction",
    "--batching",
    "--batch-size",
    "--seq-len",
    "--lr",
    "--optimizer",
    "--schedule",
    "--warmup-steps",
    "--weight-decay",
    "--grad-clip",
    "--epochs",
    "--steps-per-epoch",
    "--max-steps",
    "--max-minutes",
    "--max-chars",
    "--patience",
    "--val-chars",
    "--device",
    "--amp",
    "--threads",
    "--seed",
    "--resume",
    "--no-plot",
    "--sample-chars",
    "--export",
    "--quiet",
)


def test_train_and_export_flags_come_from_the_config_dataclasses() -> None:
    from livernn.cli import build_parser
    from training.config import ExportConfig, from_args

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    flags = {s for a in sub["train"]._actions for s in a.option_strings}
    assert set(TRAIN_FLAGS) <= flags, set(TRAIN_FLAGS) - flags
    # defaults are the dataclasses' own
    args = parser.parse_args(["train", "--corpus", "a.abc", "--out", "r"])
    assert from_args(TrainConfig, args) == TrainConfig(corpus=("a.abc",), out="r")
    assert from_args(ModelConfig, args, vocab_size=1) == ModelConfig(vocab_size=1)
    # types from the annotations, negated bools, nargs/const, choices
    args = parser.parse_args(
        ["train", "--corpus", "a", "b", "--out", "r", "--no-plot", "--quiet", "--resume",
         "--batch-size", "3", "--lr", "0.5", "--text-split", "file", "--cell", "lstm"]
    )  # fmt: skip
    cfg, mcfg = from_args(TrainConfig, args), from_args(ModelConfig, args, vocab_size=1)
    assert cfg.corpus == ("a", "b") and cfg.batch_size == 3 and cfg.lr == 0.5
    assert cfg.plot is False and cfg.quiet is True and cfg.resume == "auto"
    assert cfg.text_split == "file" and mcfg.cell == "lstm"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--corpus", "a", "--out", "r", "--batching", "sideways"])
    args = parser.parse_args(["export", "c.pt", "--out", "m.onnx", "--no-check"])
    assert from_args(ExportConfig, args) == ExportConfig("c.pt", "m.onnx", check=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop",
    [
        # lr so small nothing improves: rank 0's patience ends the run (the other ranks never
        # measure validation, so they must be told)
        ("--patience", "1", "--lr", "1e-9", "--warmup-steps", "0", "--max-minutes", "2"),
        # one endless epoch: the time budget ends it, on rank 0's clock
        ("--patience", "0", "--epochs", "1", "--steps-per-epoch", "1000000", "--max-minutes",
         "0.05"),
    ],
    ids=["patience", "max-minutes"],
)  # fmt: skip
def test_torchrun_two_processes_stop_together(tmp_path: Path, stop: tuple[str, ...]) -> None:
    out = tmp_path / "ddp2"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "livernn", "train",
        *_train_cmd(out, "--epochs", "100000", "--steps-per-epoch", "3", "--quiet", *stop),
    ]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and both workers
        stdout, stderr = proc.communicate()
        pytest.fail(f"ranks did not stop together (hung); stderr: {stderr[-2000:]}")
    print(f"2-process torchrun ({stop[1]}) took {time.monotonic() - t0:.1f} s")
    # a worker's own last words (a C++ terminate) come before the launcher's long report
    said = [ln for ln in stderr.splitlines() if "terminate" in ln or "what()" in ln]
    assert proc.returncode == 0, "\n".join(said[:10]) + "\n" + stderr[-2000:]
    # both ranks print their result line, and they left the loop at the same step
    results = [line for line in stdout.splitlines() if line.startswith("best validation")]
    steps = {line.split("(")[1].split(" steps")[0] for line in results}
    assert len(results) == 2 and len(steps) == 1, stdout
    ck = load_checkpoint(out / "latest.pt")
    assert ck["step"] == int(steps.pop())
    if stop[1] == "1":
        assert ck["bad_epochs"] >= 1 and ck["epoch"] <= 3, ck["history"]
    else:
        assert ck["epoch"] == 1 and ck["seconds"] >= 3.0
