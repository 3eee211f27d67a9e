"""The character model: embedding -> stacked GRU/LSTM/RNN -> dropout -> linear.

``forward(ids[B, T], state[L, B, S]) -> (logits[B, T, V], state[L, B, S])`` is exactly the ONNX
contract of ``livernn/contract.py``: S = hidden for GRU/RNN and 2 * hidden for LSTM (h then c
on the last axis). Dropout is applied to the input of every layer and to the output of the stack, as in
seed 000 (input dropout on the embedding, ``nn.GRU``'s inter-layer dropout, output dropout).
"""

from __future__ import annotations

import torch
from torch import nn

from livernn import contract
from training.config import ModelConfig

__all__ = ["CharRNN", "ModelConfig"]

# one torch module per contract cell kind
RNN_CLASSES: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}
assert tuple(RNN_CLASSES) == contract.CELLS


class CharRNN(nn.Module):
    """A stacked recurrent character model with one flat state tensor."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg.validate()
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embedding)
        self.drop_in = nn.Dropout(cfg.dropout)
        rnn_cls = RNN_CLASSES[cfg.cell]
        self.rnn = rnn_cls(
            cfg.embedding,
            cfg.hidden,
            num_layers=cfg.layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.layers > 1 else 0.0,
        )
        self.drop_out = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.zeros(self.cfg.layers, batch, self.cfg.state_size, device=device)

    def forward(self, ids: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.drop_in(self.embed(ids))  # [B, T, E]
        if self.cfg.cell == "lstm":
            h, c = state.split(self.cfg.hidden, dim=-1)  # [L, B, H] each
            y, (h, c) = self.rnn(x, (h.contiguous(), c.contiguous()))  # y: [B, T, H]
            state = torch.cat([h, c], dim=-1)  # [L, B, 2H]
        else:
            y, state = self.rnn(x, state)  # y: [B, T, H], state: [L, B, H]
        logits = self.head(self.drop_out(y))  # [B, T, V]
        return logits, state

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
