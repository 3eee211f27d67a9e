"""Training data: the encoded split, and batches of random windows or stateful streams.

``batch_random`` (seed 002) draws B windows of T+1 characters anywhere in the stream;
``StatefulBatches`` (seed 000, truncated BPTT) cuts the stream into B parallel rows read in
consecutive T-chunks, so the state can be carried from one batch to the next.
``TrainBatches`` gives the loop one interface for both. ``--mix`` weights the random windows
by ``--corpus`` argument (``Data.spans``); validation is kept per collection (``Data.val_parts``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from livernn.errors import CorpusError
from livernn.vocab import Vocab
from training.config import TrainConfig
from training.corpus import Corpus, Split, join_docs
from training.model import CharRNN


@dataclass(frozen=True)
class Data:
    vocab: Vocab
    train: torch.Tensor  # [N] int64 character ids, the --corpus arguments one after another
    val: torch.Tensor  # [M] every collection's held-out tunes
    val_parts: dict[str, torch.Tensor] = field(default_factory=dict)  # collection -> [M_c]
    spans: tuple[tuple[int, int, float], ...] = ()  # (start, length, weight) in train per group


def corpus_vocab(corpus: Corpus) -> Vocab:
    """Every character of the corpus (and of the document separator)."""
    return Vocab.from_text(list(corpus.docs) + [join_docs(corpus.docs[:1])])


def encode(cfg: TrainConfig, vocab: Vocab, split: Split) -> Data:
    """The split (``Corpus.split_by_tune``) as id streams: training grouped by ``--corpus``
    argument (weighted by ``cfg.mix``), validation per collection, each capped at
    ``cfg.val_chars``."""
    parts, spans, start = [], [], 0
    groups = sorted(set(split.train_groups))
    for g in groups:
        docs = [d for d, x in zip(split.train, split.train_groups, strict=True) if x == g]
        ids = torch.from_numpy(vocab.encode(join_docs(docs)))
        parts.append(ids)
        spans.append((start, ids.numel(), float(cfg.mix[g]) if cfg.mix else 0.0))
        start += ids.numel()
    train = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    val_parts = {}
    for name, docs in sorted(split.val_by_collection().items()):
        ids = torch.from_numpy(vocab.encode(join_docs(docs)))
        val_parts[name] = ids[: cfg.val_chars] if cfg.val_chars else ids
    val = torch.cat(list(val_parts.values())) if val_parts else torch.zeros(0, dtype=torch.long)
    if train.numel() < 2:
        raise CorpusError("corpus is too small to train on")
    if cfg.mix and not any(w > 0 for _, _, w in spans):
        raise CorpusError("--mix gives weight only to --corpus arguments with no training text")
    return Data(vocab, train, val, val_parts, tuple(spans) if cfg.mix else ())


def _starts(spans: tuple[tuple[int, int, float], ...], n: int, seq: int, gen: torch.Generator):
    """B window starts: a group drawn by weight, then a uniform start inside it."""
    w = torch.tensor([s[2] for s in spans], dtype=torch.float64)
    g = torch.multinomial(w, n, replacement=True, generator=gen)  # [B]
    off = torch.tensor([s[0] for s in spans])[g]
    room = (torch.tensor([s[1] for s in spans])[g] - seq - 1).clamp_min(1)
    return off + (torch.rand(n, generator=gen, dtype=torch.float64) * room).long()  # [B]


def batch_random(
    data: torch.Tensor,
    batch: int,
    seq: int,
    gen: torch.Generator,
    spans: tuple[tuple[int, int, float], ...] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows (seed 002): B windows of T+1 characters anywhere in the stream, or in
    the groups of ``spans`` drawn by their weights."""
    n = data.numel() - seq - 1
    if spans:
        starts = _starts(spans, batch, seq, gen)  # [B]
    else:
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
        data: Data,
        model: CharRNN,
        device: torch.device,
        gen: torch.Generator,
    ) -> None:
        self.batch, self.seq = cfg.batch_size, cfg.seq_len
        self.model, self.device, self.gen = model, device, gen
        self.spans = data.spans  # --mix: windows drawn per --corpus argument by weight
        self.data = data.train
        self.stateful = (
            StatefulBatches(self.data, cfg.batch_size, cfg.seq_len)
            if cfg.batching == "stateful"
            else None
        )
        self.state = model.initial_state(cfg.batch_size, device) if self.stateful else None

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.stateful is None:
            x, y = batch_random(self.data, self.batch, self.seq, self.gen, self.spans)
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
