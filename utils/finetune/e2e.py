"""Optional end-to-end fine-tuning: the last backbone stage trains together with the head.

For students with GPU time (a T4): clips are decoded and augmented every epoch, as the backbone
changes and its embeddings cannot be cached. On CUDA the forward runs under autocast (float16)
with a gradient scaler (AMP); on the CPU it runs in float32 and works, only slowly (minutes per
epoch for a real backbone). Batch-norm statistics stay frozen (the backbone stays in eval mode):
with the small batches that fit on a T4 they would only get noisier. The stage learns at a tenth
of the head's learning rate. The loop (early stopping, AMP on CUDA) is the cached-feature head's,
:func:`utils.finetune.loop.fit`; only the batches (decoded clips) and the trained modules differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from utils.finetune.loop import LoopSettings, TrainResult
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


def finetune_last_stage(
    model: Any,
    preset: Preset,
    parts: Mapping[str, pd.DataFrame],
    clips: Mapping[str, str | Path],
    settings: LoopSettings | None = None,
    *,
    out: Path,
    kind: str = "course",
    progress: bool = True,
    **fields: Any,
) -> TrainResult:
    """Train the last stage of ``model`` and a new head on decoded clips of ``parts["train"]``
    with :func:`utils.finetune.loop.fit` (``settings``, or its fields as keywords). ``model``
    is left with the best stage weights, which are also saved to ``out`` (safetensors);
    returns the head as :func:`utils.finetune.head.train_head`.
    """
    import torch
    from safetensors.torch import save_file

    from utils.datasets.torch_data import ClipDataset, make_loader
    from utils.finetune.head import build_head, pos_weight
    from utils.finetune.loop import LoopSettings, Task, fit, require_val_positive
    from utils.io import atomic_path
    from utils.metrics import average_precision

    loop = settings if settings is not None else LoopSettings(**fields)
    device = loop.device
    stage = last_stage(model)
    pairs = {s: [(clips[c], int(y)) for c, y in zip(p["clip"], p["label"], strict=True)]
             for s, p in parts.items()}
    weight = pos_weight([y for _, y in pairs["train"]])
    require_val_positive([y for _, y in pairs["val"]])
    train_set = ClipDataset(pairs["train"], preset, train=True, seed=loop.seed)
    train_loader = make_loader(train_set, batch_size=loop.batch_size, shuffle=True,
                               seed=loop.seed)
    val_loader = make_loader(ClipDataset(pairs["val"], preset), batch_size=loop.batch_size)

    def setup() -> Task:
        head = build_head(kind, model.spec.embed_dim).to(device)
        for p in stage.parameters():
            p.requires_grad_(True)
        model.eval()  # frozen batch-norm statistics, see the module docstring

        def batches(epoch: int) -> Any:
            train_set.set_epoch(epoch)
            return train_loader

        def validate() -> dict[str, float]:
            head.eval()
            probs, labels = [], []
            with torch.inference_mode():
                for x, y in val_loader:
                    probs.append(torch.sigmoid(head(_embed(model, x, device))).squeeze(1).cpu())
                    labels.append(y)
            return {"val_ap": average_precision(torch.cat(labels).numpy(),
                                                torch.cat(probs).double().numpy())}

        return Task(head, [{"params": head.parameters()},
                           {"params": stage.parameters(), "lr": loop.lr / 10}],
                    [head, stage], batches, lambda x: head(_embed(model, x, device)).squeeze(1),
                    validate, weight)

    try:
        result = fit(setup, loop, desc="end-to-end", progress=progress)
    finally:
        for p in stage.parameters():
            p.requires_grad_(False)
    with atomic_path(out) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in stage.state_dict().items()},
                  str(tmp), metadata={"backbone": model.spec.name,
                                      "stage": LAST_STAGE[model.spec.name]})
    return result
