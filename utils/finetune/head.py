"""The binary head trained on cached embeddings: the course's MLP or a linear probe.

Loss: ``BCEWithLogitsLoss`` with ``pos_weight = negatives / positives`` of the training rows, so
the rare thefts (~17 % of DCSASS Shoplifting clips) weigh as much as the normal clips in total.
Optimiser: AdamW. After each epoch the head scores the validation clips; the weights of the epoch
with the best validation average precision are kept, and training stops after ``patience``
epochs without improvement (the loop of :mod:`utils.finetune.loop`). All randomness
(initialisation, dropout, shuffling) comes from ``seed`` inside a forked RNG, so on CPU the same
inputs give bit-identical heads. On the CPU the
head trains on one thread: its layers are too small to gain from more, the result then does not
depend on the machine's thread count, and on a busy machine it is 20x faster than two
contending threads (measured: 10 epochs of a 2048-d head, 0.9 s vs 21 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.metrics import average_precision

if TYPE_CHECKING:
    import torch

    from utils.finetune.loop import LoopSettings, TrainResult

HEADS = ("course", "linear")


def build_head(kind: str, in_dim: int, *, dropout: float = 0.5) -> torch.nn.Module:
    """``course``: Linear(D, 512) -> ReLU -> Dropout(0.5) -> Linear(512, 128) -> ReLU ->
    Linear(128, 1); ``linear``: Linear(D, 1). Both output one logit per clip."""
    from torch import nn

    if kind == "course":
        return nn.Sequential(nn.Linear(in_dim, 512), nn.ReLU(), nn.Dropout(dropout),
                             nn.Linear(512, 128), nn.ReLU(), nn.Linear(128, 1))
    if kind == "linear":
        return nn.Sequential(nn.Linear(in_dim, 1))
    raise InputError(f"head must be one of {HEADS}, got {kind!r}")


def pos_weight(labels: Any) -> float:
    """negatives / positives of the training labels (InputError when a class is missing)."""
    y = np.asarray(labels)
    pos = int((y == 1).sum())
    neg = int(y.size - pos)
    if pos == 0 or neg == 0:
        raise InputError(f"training needs both classes, got {pos} positive and {neg} negative")
    return neg / pos


def save_head(head: torch.nn.Module, path: Path, *, kind: str, in_dim: int,
              run_id: str = "") -> Path:
    """The head's state dict as safetensors (atomic), with its kind, input size and run id."""
    from safetensors.torch import save_file

    from utils.io import atomic_path

    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"kind": kind, "in_dim": str(in_dim),
                                             "run_id": run_id})
    return path


def load_head(path: Path, *, in_dim: int | None = None) -> tuple[torch.nn.Module, str]:
    """The head saved by :func:`save_head`, in eval mode, and its kind; :class:`InputError`
    for a file that is not such a head (or, given ``in_dim``, one of another input size)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from utils.errors import first_line

    if not path.is_file():
        raise InputError(f"{path}: no such head file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        found = int(meta.get("in_dim", 0))
        if in_dim is not None and found != in_dim:
            raise InputError(f"{path}: a head for {found}-dimensional features, the backbone "
                             f"gives {in_dim}")
        head = build_head(meta.get("kind", ""), found)
        head.load_state_dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: not a head saved by a run ({first_line(exc)})") from None
    return head.eval(), meta["kind"]


def logits(head: torch.nn.Module, x: Any, *, batch_size: int = 1024,
           device: str = "cpu") -> torch.Tensor:
    """Logits (n,) of the head in eval mode on embeddings ``x`` (n, D), on the CPU."""
    import torch

    head.eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.inference_mode():
        out = [head(xt[i:i + batch_size].to(device)).float().cpu()
               for i in range(0, len(xt), batch_size)]
    return torch.cat(out).reshape(-1) if out else torch.empty(0)


def predict(head: torch.nn.Module, x: Any, *, device: str = "cpu") -> np.ndarray:
    """Sigmoid probabilities of the head on embeddings ``x`` (n, D), float64."""
    import torch

    return torch.sigmoid(logits(head, x, device=device)).double().numpy()


@contextmanager
def one_cpu_thread(device: str) -> Iterator[None]:
    import torch

    if device != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train_head(
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    settings: LoopSettings | None = None,
    *,
    kind: str = "course",
    progress: bool = True,
    **fields: Any,
) -> TrainResult:
    """Train a head on embeddings (rows of ``x_train``, labels 0/1), early-stopped on val AP.

    ``settings`` (or its fields as keywords: epochs, lr, weight_decay, batch_size, patience,
    seed, device) drive :func:`utils.finetune.loop.fit`; the history has a ``val_loss`` column.
    """
    import torch

    from utils.finetune.loop import LoopSettings, Task, fit, require_val_positive

    loop = settings if settings is not None else LoopSettings(**fields)
    device = loop.device
    xtr = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    ytr = torch.as_tensor(np.asarray(y_train, dtype=np.float32))
    yv = np.array(y_val)
    if xtr.ndim != 2 or len(xtr) != len(ytr) or len(x_val) != len(yv):
        raise InputError(f"x_train must be (n, D) matching y_train, x_val matching y_val; got "
                         f"{tuple(xtr.shape)}, {len(ytr)}, {len(x_val)}, {len(yv)}")
    require_val_positive(yv)
    weight = pos_weight(ytr.numpy())
    val_loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight))
    xv = torch.as_tensor(np.asarray(x_val, dtype=np.float32))
    yv_tensor = torch.as_tensor(yv, dtype=torch.float32)

    def setup() -> Task:
        head = build_head(kind, xtr.shape[1]).to(device)
        order = torch.Generator().manual_seed(loop.seed)

        def batches(epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for idx in torch.randperm(len(xtr), generator=order).split(loop.batch_size):
                yield xtr[idx].to(device), ytr[idx].to(device)

        def validate() -> dict[str, float]:
            val_logits = logits(head, xv, device=device)
            return {"val_loss": float(val_loss_fn(val_logits, yv_tensor)),
                    "val_ap": average_precision(yv, torch.sigmoid(val_logits).double().numpy())}

        return Task(head, [{"params": head.parameters()}], [head], batches,
                    lambda x: head(x).squeeze(1), validate, weight)

    with one_cpu_thread(device):
        return fit(setup, loop, desc=f"{kind} head", progress=progress)
