"""A regression head on cached embeddings: standardise, (optionally) one hidden layer, one
output in years, trained with an L1 or Huber loss and early-stopped on validation MAE.

L1 is the metric itself (the median is its best constant); Huber (delta in years) is quadratic
near zero and linear beyond, so a few mislabelled ages pull less than under a squared loss while
the gradient near the optimum is smoother than L1's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from utils.errors import InputError

LOSSES = ("l1", "huber")


def build_regressor(in_dim: int, mean: Any, std: Any, *, hidden: int = 256,
                    start: float = 30.0) -> Any:
    """Standardise (train mean/std as buffers) -> [Linear -> ReLU] -> Linear(1); the output
    bias starts at ``start`` (the training median), so epoch 0 is the constant baseline."""
    import torch
    from torch import nn

    class Regressor(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
            self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
            layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.ReLU()] if hidden else []
            out = nn.Linear(hidden or in_dim, 1)
            nn.init.zeros_(out.weight)
            nn.init.constant_(out.bias, start)
            self.body = nn.Sequential(*layers, out)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            mean, std = self.get_buffer("mean"), self.get_buffer("std")
            return self.body((x - mean) / std).squeeze(1)

    return Regressor()


def loss_function(loss: str, delta: float = 5.0) -> Any:
    import torch

    if loss not in LOSSES:
        raise InputError(f"loss must be one of {LOSSES}, got {loss!r}")
    return torch.nn.L1Loss() if loss == "l1" else torch.nn.HuberLoss(delta=delta)


def predict_ages(head: Any, x: Any, *, batch_size: int = 4096) -> np.ndarray:
    import torch

    head.eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.inference_mode():
        return torch.cat([head(b) for b in xt.split(batch_size)]).double().numpy()


@dataclass
class HeadResult:
    head: Any
    history: Any  # DataFrame epoch, train_loss, val_mae
    best_epoch: int
    best_val_mae: float


def train_regressor(x_train: Any, y_train: Any, x_val: Any, y_val: Any, *, loss: str = "huber",
                    hidden: int = 256, epochs: int = 30, lr: float = 1e-3,
                    weight_decay: float = 1e-4, batch_size: int = 64, patience: int = 8,
                    seed: int = 0, progress: bool = True) -> HeadResult:
    """Train on (embeddings, ages); keep the epoch with the lowest validation MAE (seeded,
    bit-identical on a CPU)."""
    import pandas as pd
    import torch
    from tqdm.auto import tqdm

    xtr = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    ytr = torch.as_tensor(np.asarray(y_train, dtype=np.float32))
    yv = np.asarray(y_val, dtype=float)
    if xtr.ndim != 2 or len(xtr) != len(ytr) or len(x_val) != len(yv) or not len(yv):
        raise InputError(f"need x_train (n, D) matching y_train and a non-empty validation set; "
                         f"got {tuple(xtr.shape)}, {len(ytr)}, {len(x_val)}, {len(yv)}")
    if epochs < 1 or patience < 1 or batch_size < 1 or hidden < 0:
        raise InputError(f"need epochs, patience, batch size >= 1 and hidden >= 0 (got {epochs}, "
                         f"{patience}, {batch_size}, {hidden})")
    loss_fn = loss_function(loss)
    std = xtr.std(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = build_regressor(xtr.shape[1], xtr.mean(0), torch.where(std > 0, std, 1.0),
                               hidden=hidden, start=float(ytr.median()))
        opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
        order = torch.Generator().manual_seed(seed)
        rows, best, best_mae, best_epoch, stale = [], None, np.inf, 0, 0
        for epoch in tqdm(range(1, epochs + 1), desc=f"{loss} head", disable=not progress):
            head.train()
            total = 0.0
            for idx in torch.randperm(len(xtr), generator=order).split(batch_size):
                opt.zero_grad()
                value = loss_fn(head(xtr[idx]), ytr[idx])
                value.backward()
                opt.step()
                total += value.item() * len(idx)
            val_mae = float(np.abs(predict_ages(head, x_val) - yv).mean())
            rows.append({"epoch": epoch, "train_loss": total / len(xtr), "val_mae": val_mae})
            if val_mae < best_mae:
                best, best_mae, best_epoch, stale = copy.deepcopy(head.state_dict()), val_mae, \
                    epoch, 0
            else:
                stale += 1
                if stale >= patience:
                    break
    assert best is not None
    head.load_state_dict(best)
    head.eval()
    return HeadResult(head, pd.DataFrame(rows), best_epoch, best_mae)
