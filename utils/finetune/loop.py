"""The one training loop of lab 2, for the head on cached embeddings and for end-to-end
training of the last backbone stage, and its settings (:class:`LoopSettings`).

:func:`fit` seeds torch inside a forked RNG (the caller's random state is left alone), asks the
caller for a :class:`Task` (the modules, their parameter groups, how a batch is made and scored),
then runs up to ``epochs`` epochs of AdamW with ``BCEWithLogitsLoss(pos_weight)``; after each
epoch the task scores the validation split, the state of the epoch with the best validation
average precision is kept, and training stops after ``patience`` epochs without improvement.
On CUDA the forward runs under autocast with a gradient scaler (AMP); elsewhere both are off and
the loop is plain float32, so on the CPU the same seed gives bit-identical weights.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, get_type_hints

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import torch


@dataclass(frozen=True, kw_only=True)
class LoopSettings:
    """The training loop's settings, checked once when made (:class:`InputError` naming the
    ``actionlab finetune`` flag): a field's metadata gives its bound (``low``, ``above``,
    ``high``) or its ``choices``; :class:`utils.finetune.config.TrainConfig` adds fields."""

    epochs: int = field(default=10, metadata={"low": 1})
    lr: float = field(default=1e-3, metadata={"low": 0, "above": True})
    weight_decay: float = field(default=1e-2, metadata={"low": 0})
    batch_size: int = field(default=32, metadata={"low": 1})
    patience: int = field(default=5, metadata={"low": 1})
    seed: int = field(default=0, metadata={"low": 0})
    device: str = "cpu"

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, PurePath):  # paths are kept (and saved) as text
                value = str(value)
                object.__setattr__(self, f.name, value)
            _check(f.name, value, hints[f.name], f.metadata)


def _check(name: str, value: Any, kind: Any, meta: Any) -> None:
    """Refuse ``value`` for field ``name``: not of ``kind``, not finite, out of range or not
    one of the field's choices; the message names the command's flag."""
    flag = "--" + name.replace("_", "-")
    numeric = kind in (int, float)
    number = isinstance(value, int if kind is int else (int, float)) and not isinstance(
        value, bool)
    if (numeric and not number) or (not numeric and not isinstance(value, kind)):
        raise InputError(f"{flag} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    if numeric and not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number, got {value}")
    if "low" in meta:
        low, above = meta["low"], meta.get("above", False)
        if value < low or (above and value == low):
            raise InputError(f"{flag} must be {'>' if above else '>='} {low}, got {value}")
    if "high" in meta and value > meta["high"]:
        raise InputError(f"{flag} must be <= {meta['high']}, got {value}")
    if "choices" in meta and value not in meta["choices"]:
        raise InputError(f"{flag} must be one of {', '.join(meta['choices'])}, got {value!r}")


@dataclass
class TrainResult:
    """The head at its best validation epoch and the per-epoch history."""

    head: torch.nn.Module
    history: pd.DataFrame  # epoch, train_loss, the task's validation columns (val_ap, ...)
    best_epoch: int
    best_val_ap: float
    pos_weight: float
    stopped_early: bool


@dataclass
class Task:
    """What one training differs in, built by the caller once :func:`fit` has seeded torch."""

    head: torch.nn.Module  # in train mode during each epoch's batches
    param_groups: list[dict[str, Any]]  # AdamW's groups (the lr of a group without one: lr)
    kept: list[torch.nn.Module]  # modules restored to their best epoch (the head first)
    batches: Callable[[int], Iterable[tuple[Any, Any]]]  # epoch -> (inputs, 0/1 labels)
    forward: Callable[[Any], torch.Tensor]  # a batch's inputs -> logits (n,)
    validate: Callable[[], dict[str, float]]  # the epoch's validation columns, with val_ap
    pos_weight: float  # negatives / positives of the training labels


def require_val_positive(labels: Any) -> None:
    """Early stopping on validation AP needs a positive validation clip."""
    if not (np.asarray(labels) == 1).any():
        raise InputError("the validation split has no positive clip: early stopping on average "
                         "precision is impossible (choose another split or seed)")


def fit(setup: Callable[[], Task], settings: LoopSettings, *, desc: str,
        progress: bool = True) -> TrainResult:
    """Train the task ``setup`` builds (under ``settings.seed``) with early stopping on its
    validation AP; returns its head (eval mode) and every kept module at the best epoch."""
    import pandas as pd
    import torch
    from tqdm.auto import tqdm

    device, amp = settings.device, settings.device.startswith("cuda")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        task = setup()
        opt = torch.optim.AdamW(task.param_groups, lr=settings.lr,
                                weight_decay=settings.weight_decay)
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(task.pos_weight,
                                                                     device=device))
        rows: list[dict[str, float]] = []
        best_ap, best_epoch, best_states, stale = -np.inf, 0, [], 0
        for epoch in tqdm(range(1, settings.epochs + 1), desc=desc, disable=not progress):
            task.head.train()
            total, seen = 0.0, 0
            for x, y in task.batches(epoch):
                opt.zero_grad()
                with torch.autocast("cuda", enabled=amp):
                    logit = task.forward(x)
                loss = loss_fn(logit.float(), y.float().to(device))
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total, seen = total + loss.item() * len(y), seen + len(y)
            row = {"epoch": epoch, "train_loss": total / seen, **task.validate()}
            rows.append(row)
            if row["val_ap"] > best_ap:
                best_ap, best_epoch, stale = row["val_ap"], epoch, 0
                best_states = [copy.deepcopy(m.state_dict()) for m in task.kept]
            else:
                stale += 1
                if stale >= settings.patience:
                    break
    for module, state in zip(task.kept, best_states, strict=True):  # epoch 1 beats -inf
        module.load_state_dict(state)
    return TrainResult(task.head.eval(), pd.DataFrame(rows), best_epoch, float(best_ap),
                       task.pos_weight, stopped_early=len(rows) < settings.epochs)
