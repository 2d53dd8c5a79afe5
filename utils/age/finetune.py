"""Optional second step: train the backbone's last stage together with the head, on augmented
photos (random resized crop, flip, colour jitter; torchvision transforms v2).

The cached embeddings cannot be used here (the backbone changes every step), so each epoch
runs the whole backbone over every training photo: this is the expensive step, kept short.
Batch-norm statistics stay frozen (the backbone stays in eval mode; small batches would
otherwise replace ImageNet's statistics with noisy ones); only the last stage's weights and
the head learn. The epoch with the lowest validation MAE is kept.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from utils.age.backbone import Backbone, preprocess
from utils.age.data import FaceImages
from utils.age.features import embed_photos
from utils.age.head import loss_function, predict_ages
from utils.errors import InputError


def predict_photos(backbone: Backbone, head: Any, photos: dict[str, Path], *, image_size: int,
                   batch_size: int = 32, device: str = "cpu", progress: bool = True) -> Any:
    """Predicted ages of photos ({name: path}) through the current (fine-tuned) backbone."""
    feats = embed_photos(backbone.model, photos, backbone=backbone.name, image_size=image_size,
                         cache_dir=None, batch_size=batch_size, device=device, progress=progress)
    return feats, predict_ages(head.cpu(), feats.matrix)


def finetune_last_stage(backbone: Backbone, head: Any, train: tuple[list[Path], Any],
                        val: tuple[dict[str, Path], Any], *, image_size: int, loss: str = "huber",
                        epochs: int = 2, lr: float = 1e-4, batch_size: int = 32, seed: int = 0,
                        device: str = "cpu", progress: bool = True) -> Any:
    """Fine-tune ``backbone.last_stage`` and ``head`` in place; returns the per-epoch history
    (train loss, val MAE) as a DataFrame."""
    import pandas as pd
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    if epochs < 1:
        raise InputError(f"fine-tuning epochs must be >= 1, got {epochs}")
    paths, ages = train
    val_photos, val_ages = val
    model, loss_fn = backbone.model, loss_function(loss)
    params = [*backbone.last_stage.parameters(), *head.parameters()]
    rows, best, best_mae = [], None, np.inf
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        photos: Any = FaceImages(paths, ages, preprocess(image_size, train=True))
        data = DataLoader(photos, batch_size=batch_size, shuffle=True,
                          generator=torch.Generator().manual_seed(seed))
        for p in backbone.last_stage.parameters():
            p.requires_grad_(True)
        head.to(device)
        opt = torch.optim.AdamW(params, lr=lr)
        for epoch in range(1, epochs + 1):
            head.train()
            total = 0.0
            for x, y in tqdm(data, desc=f"fine-tune epoch {epoch}", disable=not progress):
                opt.zero_grad()
                with torch.autocast("cuda", enabled=device.startswith("cuda")):
                    value = loss_fn(head(model(x.to(device)).float()), y.float().to(device))
                value.backward()
                opt.step()
                total += value.item() * len(y)
            _, pred = predict_photos(backbone, head, val_photos, image_size=image_size,
                                     device=device, progress=False)
            head.to(device)
            val_mae = float(np.abs(pred - np.asarray(val_ages, dtype=float)).mean())
            rows.append({"epoch": epoch, "train_loss": total / len(paths), "val_mae": val_mae})
            if val_mae < best_mae:
                best_mae = val_mae
                best = (copy.deepcopy(backbone.last_stage.state_dict()),
                        copy.deepcopy(head.state_dict()))
    for p in backbone.last_stage.parameters():
        p.requires_grad_(False)
    assert best is not None
    backbone.last_stage.load_state_dict(best[0])
    head.load_state_dict(best[1])
    head.cpu().eval()
    return pd.DataFrame(rows)
