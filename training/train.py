"""The training loop (``livernn train``): one flat loop, nanoGPT style.

CUDA when available (cuDNN RNN, bf16/fp16 autocast), CPU otherwise; AdamW, clipping by norm,
warmup + cosine learning rate; random windows (seed 002) or stateful truncated BPTT that
carries the state across batches (seed 000); validation bits/char every epoch; ``latest.pt`` and
``best.pt`` checkpoints that carry their own config (loaded with ``weights_only=True``);
resume; Ctrl-C saves before exiting; progress with loss and chars/s; a loss-curve PNG; a
sample each epoch; early stopping. Multi-GPU: run under ``torchrun`` (DistributedDataParallel).
"""

from __future__ import annotations

import json
import logging
import math
import os
import pickle
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from livernn.errors import ConfigError, CorpusError, ModelError
from livernn.vocab import Vocab
from training.config import BATCHING, TrainConfig
from training.corpus import CleanOptions, Corpus, join_docs, load_corpus
from training.model import CharRNN, ModelConfig

log = logging.getLogger(__name__)

CKPT_FORMAT = 1
__all__ = ["BATCHING", "TrainConfig", "train"]


@dataclass
class TrainResult:
    best_val_bpc: float
    last_val_bpc: float
    tokens_seen: int
    steps: int
    epochs: int
    seconds: float
    best_path: Path
    latest_path: Path
    history: list[dict] = field(default_factory=list)
    interrupted: bool = False


# ----------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by ``train`` (``weights_only=True``: never unpickles code)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"checkpoint {str(p)!r} does not exist")
    try:
        with warnings.catch_warnings():  # a foreign pickle warns before failing: one line
            warnings.simplefilter("ignore")
            ck = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own text advises weights_only=False: never
        raise ModelError(
            f"{str(p)!r} is not a livernn checkpoint (it holds Python objects, and livernn "
            "never unpickles code)"
        ) from None
    except Exception as e:  # torch raises many kinds for a bad file
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"cannot load checkpoint {str(p)!r}: {msg[:200]}") from None
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT or "model_config" not in ck:
        raise ModelError(f"{str(p)!r} is not a livernn checkpoint")
    return ck


def model_from_checkpoint(ck: dict) -> tuple[CharRNN, Vocab]:
    cfg = ModelConfig.from_dict(ck["model_config"])
    vocab = Vocab(ck["vocab"])
    if len(vocab) != cfg.vocab_size:
        raise ModelError("checkpoint vocabulary does not match its model config")
    model = CharRNN(cfg)
    try:
        model.load_state_dict(ck["model"])
    except RuntimeError as e:
        detail = " ".join(str(e).split())  # one line
        raise ModelError(f"checkpoint weights do not fit its config: {detail[:300]}") from None
    return model.eval(), vocab


# ----------------------------------------------------------------------------- data


def batch_random(
    data: torch.Tensor, batch: int, seq: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows (seed 002): B windows of T+1 characters anywhere in the stream."""
    n = data.numel() - seq - 1
    starts = torch.randint(0, max(n, 1), (batch,), generator=gen)  # [B]
    idx = starts[:, None] + torch.arange(seq + 1)[None, :]  # [B, T+1]
    idx = idx.clamp_max(data.numel() - 1)
    win = data[idx]  # [B, T+1]
    return win[:, :-1], win[:, 1:]


class StatefulBatches:
    """Truncated BPTT (seed 000): B parallel streams, consecutive T-chunks, state carried over."""

    def __init__(self, data: torch.Tensor, batch: int, seq: int) -> None:
        per = (data.numel() - 1) // batch
        if per < 2:
            raise CorpusError("corpus is too small for this batch size (stateful batching)")
        self.x = data[: per * batch].view(batch, per)  # [B, N]
        self.y = data[1 : per * batch + 1].view(batch, per)  # [B, N]
        self.seq = seq
        self.pos = 0

    def next(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """(x[B, T], y[B, T], wrapped): ``wrapped`` means the state must be reset."""
        wrapped = False
        if self.pos >= self.x.shape[1] - 1:
            self.pos, wrapped = 0, True
        t = min(self.seq, self.x.shape[1] - self.pos)
        x = self.x[:, self.pos : self.pos + t]
        y = self.y[:, self.pos : self.pos + t]
        self.pos += t
        return x, y, wrapped


@torch.no_grad()
def evaluate_bpc(
    model: CharRNN, data: torch.Tensor, device: torch.device, batch: int = 16, seq: int = 256
) -> float:
    """Bits per character of ``data`` (stateful over B parallel streams, state carried)."""
    model.eval()
    n = data.numel() - 1
    if n < 1:
        return float("nan")
    batch = max(1, min(batch, n // 64 or 1))
    per = n // batch
    x_all = data[: per * batch].view(batch, per).to(device)
    y_all = data[1 : per * batch + 1].view(batch, per).to(device)
    state = model.initial_state(batch, device)
    total, count = 0.0, 0
    for s in range(0, per, seq):
        logits, state = model(x_all[:, s : s + seq], state)  # [B, t, V]
        y = y_all[:, s : s + seq]
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"
        )
        total += loss.item()
        count += y.numel()
    return total / max(count, 1) / math.log(2)


@torch.no_grad()
def sample_text(
    model: CharRNN,
    vocab: Vocab,
    prefix: str,
    length: int,
    device: torch.device,
    temperature: float = 1.0,
    seed: int = 0,
) -> str:
    """Plain categorical sampling in torch, for progress samples (the runtime uses ONNX)."""
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.from_numpy(vocab.encode(prefix, errors="ignore")).view(1, -1).to(device)
    if ids.numel() == 0:
        ids = torch.zeros(1, 1, dtype=torch.long, device=device)
    state = model.initial_state(1, device)
    logits, state = model(ids, state)
    out = []
    for _ in range(length):
        p = torch.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)
        nxt = int(torch.multinomial(p, 1, generator=gen))
        out.append(vocab.chars[nxt])
        logits, state = model(torch.tensor([[nxt]], device=device), state)
    return prefix + "".join(out)


# ----------------------------------------------------------------------------- helpers


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA GPU is available to torch")
    return torch.device(name)


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant" or progress <= 0:
        return cfg.lr
    p = min(1.0, progress)
    lo = cfg.lr * cfg.min_lr_ratio
    return lo + 0.5 * (cfg.lr - lo) * (1 + math.cos(math.pi * p))


def plot_history(history: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is a nicety
        log.info("matplotlib not installed: no loss plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([h["tokens"] for h in history], [h["train_bpc"] for h in history], label="train")
    ax.plot([h["tokens"] for h in history], [h["val_bpc"] for h in history], label="validation")
    ax.set_xlabel("training characters")
    ax.set_ylabel("bits per character")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class Progress:
    """A one-line progress bar on a terminal, periodic log lines otherwise."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, step: int, epoch: int, loss: float, cps: float, lr: float) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < (0.2 if self.tty else 10.0):
            return
        self.last = now
        done = step % self.total if self.total else 0
        frac = done / self.total if self.total else 0.0
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        line = (
            f"epoch {epoch} [{bar}] step {step} loss {loss:.3f} "
            f"({loss / math.log(2):.3f} bpc) {cps:,.0f} chars/s lr {lr:.2e}"
        )
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        else:
            log.info(line)

    def end(self) -> None:
        if self.tty and not self.quiet:
            print(file=sys.stderr)


def _interrupt_on_sigterm():
    """SIGTERM (``kill``, schedulers) and SIGINT, even where it was ignored (``nohup ... &``),
    stop the loop like Ctrl-C: a checkpoint is saved. Returns a function that restores them."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore


# ----------------------------------------------------------------------------- the loop


def train(
    cfg: TrainConfig, mcfg: ModelConfig | None = None, corpus: Corpus | None = None
) -> TrainResult:
    """Train a model; returns where the checkpoints are and the validation figures.

    ``mcfg.vocab_size`` is ignored (set from the corpus). When resuming, the checkpoint's model
    config and vocabulary win, and a checkpoint of a different model/corpus is refused.
    """
    cfg.validate()
    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1 or "LOCAL_RANK" in os.environ
    rank, world = 0, 1
    device = pick_device(cfg.device)
    if ddp:
        import torch.distributed as dist

        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        if device.type == "cuda":
            device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
            torch.cuda.set_device(device)
    master = rank == 0
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.out)
    if master:
        out.mkdir(parents=True, exist_ok=True)

    # --- data
    clean = CleanOptions.parse(cfg.clean)
    if corpus is None:
        corpus = load_corpus(list(cfg.corpus), clean, cfg.text_split)
    train_docs, val_docs = corpus.split(cfg.val_fraction, cfg.seed)
    vocab = Vocab.from_text(list(corpus.docs) + [join_docs(corpus.docs[:1])])

    # --- resume
    ck = None
    resume_path = cfg.resume
    if resume_path == "auto":
        resume_path = str(out / "latest.pt") if (out / "latest.pt").is_file() else ""
    if resume_path:
        ck = load_checkpoint(resume_path)
        if Vocab(ck["vocab"]) != vocab:
            raise ModelError(
                f"checkpoint {resume_path!r} was trained on another vocabulary/corpus; "
                "start a new run directory instead"
            )
        mcfg = ModelConfig.from_dict(ck["model_config"])
    mcfg = ModelConfig(**{**asdict(mcfg or ModelConfig(vocab_size=1)), "vocab_size": len(vocab)})
    mcfg.validate()

    train_data = torch.from_numpy(vocab.encode(join_docs(train_docs)))
    val_data = torch.from_numpy(vocab.encode(join_docs(val_docs)))
    if cfg.val_chars and val_data.numel() > cfg.val_chars:
        val_data = val_data[: cfg.val_chars]
    if train_data.numel() < 2:
        raise CorpusError("corpus is too small to train on")

    model = CharRNN(mcfg).to(device)
    optim_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optim_kw = {"weight_decay": cfg.weight_decay} if cfg.optimizer == "adamw" else {}
    opt = optim_cls(model.parameters(), lr=cfg.lr, **optim_kw)
    dtype = amp_dtype(cfg.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)

    step, epoch, tokens, best_val, bad_epochs = 0, 0, 0, float("inf"), 0
    history: list[dict] = []
    elapsed_before = 0.0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, epoch, tokens = ck["step"], ck["epoch"], ck["tokens_seen"]
        best_val, bad_epochs = ck["best_val_bpc"], ck.get("bad_epochs", 0)
        history = json.loads(ck.get("history", "[]"))
        elapsed_before = float(ck.get("seconds", 0.0))
        log.info("resumed from %s at step %d, epoch %d", resume_path, step, epoch)

    net = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    chars_per_step = cfg.batch_size * cfg.seq_len * world
    steps_per_epoch = cfg.steps_per_epoch or max(1, train_data.numel() // chars_per_step)
    if master:
        log.info(
            "corpus: %s; train %d chars, val %d chars, vocab %d; model %s, %d params; device %s",
            corpus.describe(),
            train_data.numel(),
            val_data.numel(),
            len(vocab),
            mcfg,
            model.num_params(),
            device,
        )
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank + step)
    stateful = (
        StatefulBatches(train_data, cfg.batch_size, cfg.seq_len)
        if cfg.batching == "stateful"
        else None
    )
    train_state = model.initial_state(cfg.batch_size, device) if stateful else None

    def payload(val_bpc: float, seconds: float) -> dict:
        return {
            "format": CKPT_FORMAT,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "model_config": mcfg.to_dict(),
            "train_config": json.dumps(asdict(cfg)),
            "vocab": list(vocab.chars),
            "corpus": corpus.describe(),
            "clean": corpus.clean.to_json(),
            "val_bpc": float(val_bpc),
            "best_val_bpc": float(min(best_val, val_bpc)),
            "tokens_seen": int(tokens),
            "step": int(step),
            "epoch": int(epoch),
            "bad_epochs": int(bad_epochs),
            "seconds": float(seconds),
            "history": json.dumps(history),
        }

    t0 = time.monotonic()
    total_steps = cfg.max_steps or (cfg.epochs * steps_per_epoch)
    progress = Progress(steps_per_epoch, cfg.quiet or not master)
    interrupted, stop = False, False
    last_val = history[-1]["val_bpc"] if history else float("nan")
    latest, best = out / "latest.pt", out / "best.pt"
    ep_loss, ep_n, ep_t0, ep_tok0 = 0.0, 0, time.monotonic(), tokens
    restore = _interrupt_on_sigterm()
    try:
        while not stop:
            # one training step
            net.train()
            if stateful is not None:
                x, y, wrapped = stateful.next()
                if wrapped:
                    train_state = model.initial_state(cfg.batch_size, device)
                x, y = x.to(device), y.to(device)
                state = train_state.detach()
            else:
                x, y = batch_random(train_data, cfg.batch_size, cfg.seq_len, gen)
                x, y = x.to(device), y.to(device)  # [B, T] each
                state = model.initial_state(cfg.batch_size, device)
            elapsed = time.monotonic() - t0 + elapsed_before
            frac = step / total_steps if total_steps else 0.0
            if cfg.max_minutes:
                frac = max(frac, elapsed / (cfg.max_minutes * 60))
            if cfg.max_chars:
                frac = max(frac, tokens / cfg.max_chars)
            lr = lr_at(cfg, step, frac)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast(
                device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                logits, new_state = net(x, state)  # [B, T, V]
                loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
            if stateful is not None:
                train_state = new_state.float().detach()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            step += 1
            tokens += x.numel() * world
            ep_loss += loss.item()
            ep_n += 1
            cps = (tokens - ep_tok0) / max(time.monotonic() - ep_t0, 1e-9)
            progress.update(step, epoch, ep_loss / ep_n, cps, lr)

            elapsed = time.monotonic() - t0 + elapsed_before
            out_of_budget = (
                (cfg.max_steps and step >= cfg.max_steps)
                or (cfg.max_minutes and elapsed >= cfg.max_minutes * 60)
                or (cfg.max_chars and tokens >= cfg.max_chars)
            )
            if step % steps_per_epoch == 0 or out_of_budget:
                # end of an epoch: validate, sample, checkpoint, plot
                epoch += 1
                progress.end()
                train_bpc = ep_loss / ep_n / math.log(2)
                if master:
                    last_val = (
                        evaluate_bpc(model, val_data, device) if val_data.numel() > 1 else train_bpc
                    )
                    history.append(
                        {
                            "epoch": epoch,
                            "step": step,
                            "tokens": tokens,
                            "train_bpc": train_bpc,
                            "val_bpc": last_val,
                            "seconds": elapsed,
                            "chars_per_s": cps,
                        }
                    )
                    improved = last_val < best_val
                    bad_epochs = 0 if improved else bad_epochs + 1
                    best_val = min(best_val, last_val)
                    pl = payload(last_val, elapsed)
                    save_checkpoint(latest, pl)
                    if improved:
                        save_checkpoint(best, pl)
                    if cfg.sample_chars:
                        text = sample_text(
                            model, vocab, cfg.sample_prefix, cfg.sample_chars, device, seed=epoch
                        )
                        with open(out / "samples.txt", "a", encoding="utf-8") as f:
                            f.write(f"=== epoch {epoch} (val {last_val:.3f} bpc)\n{text}\n\n")
                        log.debug("sample:\n%s", text)
                    if cfg.plot:
                        plot_history(history, out / "loss.png")
                    (out / "history.json").write_text(json.dumps(history, indent=1))
                    msg = (
                        f"epoch {epoch}: train {train_bpc:.3f} bpc, val {last_val:.3f} bpc "
                        f"(best {best_val:.3f}), {tokens:,} chars, {cps:,.0f} chars/s, {elapsed:.0f} s"
                    )
                    log.info(msg)
                if (
                    out_of_budget
                    or epoch >= cfg.epochs
                    or (cfg.patience and bad_epochs >= cfg.patience)
                ):
                    stop = True
                ep_loss, ep_n, ep_t0, ep_tok0 = 0.0, 0, time.monotonic(), tokens
    except KeyboardInterrupt:
        interrupted = True
        progress.end()
        if master:
            elapsed = time.monotonic() - t0 + elapsed_before
            save_checkpoint(latest, payload(last_val if history else float("nan"), elapsed))
            if not best.is_file():
                save_checkpoint(best, payload(float("nan"), elapsed))
            log.warning("interrupted: saved %s", latest)
    finally:
        restore()
        if ddp:
            import torch.distributed as dist

            dist.destroy_process_group()
    return TrainResult(
        best_val_bpc=best_val,
        last_val_bpc=last_val,
        tokens_seen=tokens,
        steps=step,
        epochs=epoch,
        seconds=time.monotonic() - t0 + elapsed_before,
        best_path=best,
        latest_path=latest,
        history=history,
        interrupted=interrupted,
    )
