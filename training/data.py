"""Training data: the encoded split, and batches of random windows or stateful streams.

``batch_random`` (seed 002) draws B windows of T+1 characters anywhere in the stream;
``StatefulBatches`` (seed 000, truncated BPTT) cuts the stream into B parallel rows read in
consecutive T-chunks, so the state can be carried from one batch to the next.
``TrainBatches`` gives the loop one interface for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from livernn.errors import CorpusError
from livernn.vocab import Vocab
from training.config import TrainConfig
from training.corpus import Corpus, join_docs
from training.model import CharRNN


@dataclass(frozen=True)
class Data:
    vocab: Vocab
    train: torch.Tensor  # [N] int64 character ids
    val: torch.Tensor  # [M]


def corpus_vocab(corpus: Corpus) -> Vocab:
    """Every character of the corpus (and of the document separator)."""
    return Vocab.from_text(list(corpus.docs) + [join_docs(corpus.docs[:1])])


def encode(cfg: TrainConfig, vocab: Vocab, train_docs: list[str], val_docs: list[str]) -> Data:
    """The train/validation documents (``Corpus.split``) as id streams; validation capped at
    ``cfg.val_chars``."""
    train = torch.from_numpy(vocab.encode(join_docs(train_docs)))
    val = torch.from_numpy(vocab.encode(join_docs(val_docs)))
    if cfg.val_chars and val.numel() > cfg.val_chars:
        val = val[: cfg.val_chars]
    if train.numel() < 2:
        raise CorpusError("corpus is too small to train on")
    return Data(vocab, train, val)


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


class TrainBatches:
    """One step's ``(x[B, T], y[B, T], state[L, B, S])`` on ``device``, either batching.

    Random windows start from a zero state; stateful streams start from the state the previous
    chunk ended in (``carry``), reset to zero when the streams wrap around.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        data: torch.Tensor,
        model: CharRNN,
        device: torch.device,
        gen: torch.Generator,
    ) -> None:
        self.batch, self.seq = cfg.batch_size, cfg.seq_len
        self.model, self.device, self.gen = model, device, gen
        self.data = data
        self.stateful = (
            StatefulBatches(data, cfg.batch_size, cfg.seq_len)
            if cfg.batching == "stateful"
            else None
        )
        self.state = model.initial_state(cfg.batch_size, device) if self.stateful else None

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.stateful is None:
            x, y = batch_random(self.data, self.batch, self.seq, self.gen)
            return (
                x.to(self.device),
                y.to(self.device),
                self.model.initial_state(self.batch, self.device),
            )
        x, y, wrapped = self.stateful.next()
        if wrapped:
            self.state = self.model.initial_state(self.batch, self.device)
        return x.to(self.device), y.to(self.device), self.state.detach()

    def carry(self, new_state: torch.Tensor) -> None:
        """Keep the state a stateful chunk ended in, for the next chunk."""
        if self.stateful is not None:
            self.state = new_state.float().detach()
