"""The training loop (``livernn train``): one flat loop, nanoGPT style.

CUDA when available (cuDNN RNN, bf16/fp16 autocast), CPU otherwise; AdamW, clipping by norm,
warmup + cosine learning rate; random windows (seed 002) or stateful truncated BPTT that
carries the state across batches (seed 000, ``training/data.py``); validation bits/char every
epoch (``training/evaluate.py``); ``latest.pt`` and ``best.pt`` checkpoints that carry their
own config (``training/checkpoint.py``); resume; Ctrl-C and SIGTERM save before exiting;
progress with loss and chars/s; a loss-curve PNG; a sample each epoch; early stopping.
Multi-GPU: run under ``torchrun`` (DistributedDataParallel); the stop decision is rank 0's,
broadcast, so every rank leaves the loop at the same step (``training/distributed.py``).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from livernn.errors import ModelError
from livernn.vocab import Vocab
from training.checkpoint import load_checkpoint, make_payload, save_checkpoint
from training.config import ModelConfig, TrainConfig
from training.corpus import CleanOptions, Corpus, load_corpus
from training.data import Data, TrainBatches, corpus_vocab, encode
from training.distributed import Dist, amp_dtype, pick_device
from training.evaluate import evaluate_bpc, evaluate_parts, sample_text
from training.finetune import freeze_below, init_checkpoint
from training.model import CharRNN
from training.progress import Progress, plot_history
from training.schedule import budget_used, lr_at, out_of_budget

log = logging.getLogger(__name__)


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
    init_val_bpc: float = math.nan  # with --init: the base model's, on the same held-out tunes


@dataclass
class RunState:
    """Where the run stands; every checkpoint carries it, and resume restores it."""

    step: int = 0
    epoch: int = 0
    tokens: int = 0  # training characters seen, all ranks together
    best_val: float = math.inf
    bad_epochs: int = 0  # epochs since the validation loss last improved (rank 0's count)
    last_val: float = math.nan
    seconds: float = 0.0  # training time, earlier runs of a resumed run included
    history: list[dict] = field(default_factory=list)

    @classmethod
    def from_checkpoint(cls, ck: dict) -> RunState:
        history = json.loads(ck.get("history", "[]"))
        return cls(
            step=ck["step"],
            epoch=ck["epoch"],
            tokens=ck["tokens_seen"],
            best_val=ck["best_val_bpc"],
            bad_epochs=ck.get("bad_epochs", 0),
            last_val=history[-1]["val_bpc"] if history else math.nan,
            seconds=float(ck.get("seconds", 0.0)),
            history=history,
        )


@dataclass(frozen=True)
class Job:
    """What the loop trains, and on what (fixed for the whole run)."""

    cfg: TrainConfig
    model: CharRNN
    net: nn.Module  # the model, or its DDP wrapper
    opt: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    dtype: torch.dtype | None  # autocast dtype, None for fp32
    vocab: Vocab
    corpus: Corpus
    data: Data
    dist: Dist
    out: Path
    steps_per_epoch: int

    @property
    def latest(self) -> Path:
        return self.out / "latest.pt"

    @property
    def best(self) -> Path:
        return self.out / "best.pt"

    def save(self, run: RunState, val_bpc: float, *paths: Path) -> None:
        pl = make_payload(
            model=self.model, opt=self.opt, cfg=self.cfg, vocab=self.vocab,
            corpus=self.corpus, val_bpc=val_bpc, run=run,
        )  # fmt: skip
        for path in paths:
            save_checkpoint(path, pl)


# ----------------------------------------------------------------------------- helpers


def _interrupt_on_sigterm() -> Callable[[], None]:
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


# ----------------------------------------------------------------------------- setup


def _resume_checkpoint(cfg: TrainConfig, out: Path, vocab: Vocab) -> dict | None:
    """The checkpoint ``--resume`` names (``auto``: OUT/latest.pt when it exists), checked
    against this corpus's characters."""
    path = cfg.resume
    if path == "auto":
        path = str(out / "latest.pt") if (out / "latest.pt").is_file() else ""
    if not path:
        return None
    ck = load_checkpoint(path)
    fine_tune = bool(json.loads(ck.get("train_config", "{}")).get("init"))
    fits = set(vocab.chars) <= set(ck["vocab"]) if fine_tune else Vocab(ck["vocab"]) == vocab
    if not fits:  # a fine-tuning run keeps its base model's (larger) vocabulary
        raise ModelError(
            f"checkpoint {path!r} was trained on another vocabulary/corpus; "
            "start a new run directory instead"
        )
    ck["_path"] = path
    return ck


def setup(
    cfg: TrainConfig, mcfg: ModelConfig | None, corpus: Corpus | None, dist: Dist
) -> tuple[Job, RunState]:
    """Corpus, vocabulary, split, model, optimiser; restored from a checkpoint on resume."""
    out = Path(cfg.out)
    if dist.master:
        out.mkdir(parents=True, exist_ok=True)
    clean = CleanOptions.parse(cfg.clean)
    if corpus is None:
        corpus = load_corpus(list(cfg.corpus), clean, cfg.text_split)
    split = corpus.split_by_tune(cfg.val_fraction, cfg.seed)
    base = init_checkpoint(cfg, corpus) if cfg.init else None
    ck = _resume_checkpoint(cfg, out, corpus_vocab(corpus))
    vocab = Vocab((ck or base)["vocab"]) if ck or base else corpus_vocab(corpus)
    if ck is not None or base is not None:
        given = mcfg
        mcfg = ModelConfig.from_dict((ck or base)["model_config"])  # type: ignore[index]
        if ck is None and given is not None:  # fine-tuning: the base's shape, this run's dropout
            mcfg = replace(mcfg, dropout=given.dropout)
    mcfg = ModelConfig(**{**asdict(mcfg or ModelConfig(vocab_size=1)), "vocab_size": len(vocab)})
    mcfg.validate()
    data = encode(cfg, vocab, split)

    model = CharRNN(mcfg).to(dist.device)
    if base is not None:
        model.load_state_dict(base["model"])
    if cfg.train_layers:
        freeze_below(model, cfg.train_layers)
    optim_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optim_kw = {"weight_decay": cfg.weight_decay} if cfg.optimizer == "adamw" else {}
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = optim_cls(trainable, lr=cfg.lr, **optim_kw)
    dtype = amp_dtype(cfg.amp, dist.device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype is torch.float16)
    run = RunState()
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        run = RunState.from_checkpoint(ck)
        log.info("resumed from %s at step %d, epoch %d", ck["_path"], run.step, run.epoch)
    net = dist.wrap(model)
    chars_per_step = cfg.batch_size * cfg.seq_len * dist.world
    steps_per_epoch = cfg.steps_per_epoch or max(1, data.train.numel() // chars_per_step)
    if dist.master:
        log.info(
            "corpus: %s; %s; train %d chars, val %d chars, vocab %d; model %s, %d params; "
            "device %s%s",
            corpus.describe(), split.describe(), data.train.numel(), data.val.numel(),
            len(vocab), mcfg, model.num_params(), dist.device,
            f"; fine-tuning {cfg.init}" if base is not None else "",
        )  # fmt: skip
    job = Job(cfg, model, net, opt, scaler, dtype, vocab, corpus, data, dist, out, steps_per_epoch)
    return job, run


# ----------------------------------------------------------------------------- step and epoch


def train_step(job: Job, batches: TrainBatches, lr: float) -> tuple[float, int]:
    """One optimiser step on one batch: (loss in nats/char, characters in the batch)."""
    job.net.train()
    x, y, state = batches.next()  # x, y: [B, T]; state: [L, B, S]
    for g in job.opt.param_groups:
        g["lr"] = lr
    device = job.dist.device
    with torch.autocast(
        device.type, dtype=job.dtype or torch.float32, enabled=job.dtype is not None
    ):
        logits, new_state = job.net(x, state)  # [B, T, V], [L, B, S]
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
    batches.carry(new_state)
    job.opt.zero_grad(set_to_none=True)
    job.scaler.scale(loss).backward()
    job.scaler.unscale_(job.opt)
    torch.nn.utils.clip_grad_norm_(job.model.parameters(), job.cfg.grad_clip)
    job.scaler.step(job.opt)
    job.scaler.update()
    return loss.item(), x.numel()


def end_epoch(job: Job, run: RunState, train_bpc: float, cps: float) -> None:
    """Rank 0 at the end of an epoch: validate, record, checkpoint, sample, plot, log."""
    cfg, out = job.cfg, job.out
    val = job.data.val
    run.last_val, parts = validate(job)
    if val.numel() <= 1:
        run.last_val = train_bpc
    run.history.append(
        {
            "epoch": run.epoch,
            "step": run.step,
            "tokens": run.tokens,
            "train_bpc": train_bpc,
            "val_bpc": run.last_val,
            "seconds": run.seconds,
            "chars_per_s": cps,
            **({"val_by_collection": parts} if parts else {}),
        }
    )
    improved = run.last_val < run.best_val
    run.bad_epochs = 0 if improved else run.bad_epochs + 1
    run.best_val = min(run.best_val, run.last_val)
    job.save(run, run.last_val, job.latest, *([job.best] if improved else []))
    if cfg.sample_chars:
        text = sample_text(
            job.model, job.vocab, cfg.sample_prefix, cfg.sample_chars, job.dist.device,
            seed=run.epoch,
        )  # fmt: skip
        with open(out / "samples.txt", "a", encoding="utf-8") as f:
            f.write(f"=== epoch {run.epoch} (val {run.last_val:.3f} bpc)\n{text}\n\n")
        log.debug("sample:\n%s", text)
    if cfg.plot:
        plot_history(run.history, out / "loss.png")
    (out / "history.json").write_text(json.dumps(run.history, indent=1))
    each = "".join(f", {name} {bpc:.3f}" for name, bpc in parts.items())
    log.info(
        f"epoch {run.epoch}: train {train_bpc:.3f} bpc, val {run.last_val:.3f} bpc "
        f"(best {run.best_val:.3f}{each}), {run.tokens:,} chars, {cps:,.0f} chars/s, "
        f"{run.seconds:.0f} s"
    )


def validate(job: Job) -> tuple[float, dict[str, float]]:
    """Validation bits/char overall and per collection (one collection: no breakdown)."""
    if len(job.data.val_parts) > 1:
        return evaluate_parts(job.model, job.data.val_parts, job.dist.device)
    if job.data.val.numel() > 1:
        return evaluate_bpc(job.model, job.data.val, job.dist.device), {}
    return math.nan, {}


def should_stop(cfg: TrainConfig, run: RunState, budget_over: bool) -> bool:
    """Rank 0's stop decision at the end of an epoch (budget, epochs, patience)."""
    patience_over = bool(cfg.patience and run.bad_epochs >= cfg.patience)
    return budget_over or run.epoch >= cfg.epochs or patience_over


# ----------------------------------------------------------------------------- the loop


def save_interrupted(job: Job, run: RunState) -> None:
    """Rank 0 after Ctrl-C/SIGTERM: ``latest.pt`` (and ``best.pt`` if there is none yet)."""
    job.save(run, run.last_val if run.history else math.nan, job.latest)
    if not job.best.is_file():
        job.save(run, math.nan, job.best)
    log.warning("interrupted: saved %s", job.latest)


def train(
    cfg: TrainConfig, mcfg: ModelConfig | None = None, corpus: Corpus | None = None
) -> TrainResult:
    """Train a model; returns where the checkpoints are and the validation figures.

    ``mcfg.vocab_size`` is ignored (set from the corpus). When resuming, the checkpoint's model
    config and vocabulary win, and a checkpoint of a different model/corpus is refused.
    """
    cfg.validate()
    dist = Dist.init(pick_device(cfg.device))
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + dist.rank)
    restore, interrupted = (lambda: None), False
    job: Job | None = None
    try:
        job, run = setup(cfg, mcfg, corpus, dist)
        init_val = math.nan
        if cfg.init and dist.master and run.step == 0:
            init_val = validate(job)[0]
            log.info("validation before fine-tuning: %.3f bits/char", init_val)
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + dist.rank + run.step)
        batches = TrainBatches(cfg, job.data, job.model, dist.device, gen)
        total_steps = cfg.max_steps or (cfg.epochs * job.steps_per_epoch)
        progress = Progress(job.steps_per_epoch, cfg.quiet or not dist.master)
        t0, before = time.monotonic(), run.seconds
        ep_loss, ep_n, ep_t0, ep_tok0 = 0.0, 0, time.monotonic(), run.tokens
        restore = _interrupt_on_sigterm()
        try:
            while True:
                run.seconds = dist.shared_clock(before + time.monotonic() - t0)
                lr = lr_at(cfg, run.step, budget_used(cfg, run, total_steps))
                loss, chars = train_step(job, batches, lr)
                run.step += 1
                run.tokens += chars * dist.world
                ep_loss, ep_n = ep_loss + loss, ep_n + 1
                cps = (run.tokens - ep_tok0) / max(time.monotonic() - ep_t0, 1e-9)
                progress.update(run.step, run.epoch, ep_loss / ep_n, cps, lr)
                run.seconds = dist.shared_clock(before + time.monotonic() - t0)
                budget_over = out_of_budget(cfg, run)  # the same on every rank
                if run.step % job.steps_per_epoch and not budget_over:
                    continue
                # end of an epoch: rank 0 validates, saves and decides whether to stop
                run.epoch += 1
                progress.end()
                if dist.master:
                    end_epoch(job, run, ep_loss / ep_n / math.log(2), cps)
                if dist.agree(should_stop(cfg, run, budget_over)):
                    break
                ep_loss, ep_n, ep_t0, ep_tok0 = 0.0, 0, time.monotonic(), run.tokens
        except KeyboardInterrupt:
            interrupted = True
            progress.end()
            run.seconds = before + time.monotonic() - t0
            if dist.master:
                save_interrupted(job, run)
    finally:
        restore()
        best, latest = (job.best, job.latest) if job is not None else (None, None)
        job = None  # its DDP wrapper holds the process group: freed before the group goes
        dist.close()
    return TrainResult(
        best_val_bpc=run.best_val,
        last_val_bpc=run.last_val,
        tokens_seen=run.tokens,
        steps=run.step,
        epochs=run.epoch,
        seconds=time.monotonic() - t0 + before,
        best_path=best,
        latest_path=latest,
        history=run.history,
        interrupted=interrupted,
        init_val_bpc=init_val,
    )
