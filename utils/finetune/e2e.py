"""Optional end-to-end fine-tuning: the last backbone stage trains together with the head.

For students with GPU time (a T4): clips are decoded and augmented every epoch, as the backbone
changes and its embeddings cannot be cached. On CUDA the forward runs under autocast (float16)
with a gradient scaler (AMP); on the CPU it runs in float32 and works, only slowly (minutes per
epoch for a real backbone). Batch-norm statistics stay frozen (the backbone stays in eval mode):
with the small batches that fit on a T4 they would only get noisier. The stage learns at a tenth
of the head's learning rate. Early stopping and the outputs are those of the cached-feature head.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from utils.finetune.head import TrainResult
    from utils.video.presets import Preset

# The last feature stage of every zoo model, as a submodule path (checked by the tests).
LAST_STAGE = {
    "tsn_r50": "base_model.layer4",
    "tsm_r50": "base_model.layer4",
    "slowfast_r50": "net.blocks.4",
    "x3d_xs": "net.blocks.4",
    "x3d_s": "net.blocks.4",
    "x3d_m": "net.blocks.4",
    "r2plus1d_18": "net.layer4",
    "r3d_18": "net.layer4",
    "mc3_18": "net.layer4",
    "s3d": "net.features.15",
    "mvit_v2_s": "net.blocks.15",
    "tiny3d": "blocks.2",
}


def last_stage(model: Any) -> torch.nn.Module:
    """The module :data:`LAST_STAGE` names for ``model.spec.name``."""
    name = model.spec.name
    if name not in LAST_STAGE:
        raise InputError(f"end-to-end fine-tuning does not know the last stage of {name!r}; "
                         f"supported: {', '.join(LAST_STAGE)}")
    return model.get_submodule(LAST_STAGE[name])


def _embed(model: Any, x: torch.Tensor, device: str) -> torch.Tensor:
    import torch

    with torch.autocast("cuda", enabled=device.startswith("cuda")):
        return model.features(x.to(device, non_blocking=True)).float()


def _val_scores(model: Any, head: torch.nn.Module, loader: Any,
                device: str) -> tuple[np.ndarray, np.ndarray]:
    import torch

    head.eval()
    probs, labels = [], []
    with torch.inference_mode():
        for x, y in loader:
            probs.append(torch.sigmoid(head(_embed(model, x, device))).squeeze(1).cpu())
            labels.append(y)
    return torch.cat(probs).double().numpy(), torch.cat(labels).numpy()


def finetune_last_stage(
    model: Any,
    preset: Preset,
    parts: Mapping[str, pd.DataFrame],
    clips: Mapping[str, str | Path],
    *,
    out: Path,
    kind: str = "course",
    epochs: int = 10,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 8,
    patience: int = 5,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> TrainResult:
    """Train the last stage of ``model`` and a new head on decoded clips of ``parts["train"]``,
    early-stopped on val AP. ``model`` is left with the best stage weights, which are also
    saved to ``out`` (safetensors); returns the head as :func:`utils.finetune.head.train_head`.
    """
    import pandas as pd
    import torch
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    from utils.datasets.torch_data import ClipDataset, make_loader
    from utils.finetune.head import TrainResult, build_head, pos_weight
    from utils.io import atomic_path
    from utils.metrics import average_precision

    stage = last_stage(model)
    amp = device.startswith("cuda")
    pairs = {s: [(clips[c], int(y)) for c, y in zip(p["clip"], p["label"], strict=True)]
             for s, p in parts.items()}
    weight = pos_weight([y for _, y in pairs["train"]])
    if not any(y for _, y in pairs["val"]):
        raise InputError("the validation split has no positive clip: early stopping on average "
                         "precision is impossible")
    train_set = ClipDataset(pairs["train"], preset, train=True, seed=seed)
    train_loader = make_loader(train_set, batch_size=batch_size, shuffle=True, seed=seed)
    val_loader = make_loader(ClipDataset(pairs["val"], preset), batch_size=batch_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = build_head(kind, model.spec.embed_dim).to(device)
        for p in stage.parameters():
            p.requires_grad_(True)
        opt = torch.optim.AdamW([{"params": head.parameters(), "lr": lr},
                                 {"params": stage.parameters(), "lr": lr / 10}],
                                weight_decay=weight_decay)
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, device=device))
        model.eval()  # frozen batch-norm statistics, see the module docstring
        rows: list[dict[str, float]] = []
        best: tuple[float, int, dict, dict] = (-np.inf, 0, {}, {})
        for epoch in tqdm(range(1, epochs + 1), desc="end-to-end", disable=not progress):
            train_set.set_epoch(epoch)
            head.train()
            total, seen = 0.0, 0
            for x, y in train_loader:
                opt.zero_grad()
                with torch.autocast("cuda", enabled=amp):
                    logit = head(_embed(model, x, device)).squeeze(1)
                loss = loss_fn(logit.float(), y.float().to(device))
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                total, seen = total + loss.item() * len(y), seen + len(y)
            prob, labels = _val_scores(model, head, val_loader, device)
            ap = average_precision(labels, prob)
            rows.append({"epoch": epoch, "train_loss": total / seen, "val_ap": ap})
            if ap > best[0]:
                best = (ap, epoch, copy.deepcopy(head.state_dict()),
                        copy.deepcopy(stage.state_dict()))
            elif epoch - best[1] >= patience:
                break
        for p in stage.parameters():
            p.requires_grad_(False)
    best_ap, best_epoch, head_state, stage_state = best
    head.load_state_dict(head_state)
    stage.load_state_dict(stage_state)
    with atomic_path(out) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in stage_state.items()}, str(tmp),
                  metadata={"backbone": model.spec.name, "stage": LAST_STAGE[model.spec.name]})
    return TrainResult(head.eval(), pd.DataFrame(rows), best_epoch, float(best_ap), weight,
                       stopped_early=len(rows) < epochs)
