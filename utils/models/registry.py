"""``list_models``, ``get_weights`` and ``build_model``: the zoo's public entry points.

One table maps each name to its spec and its builder; each family module holds its own specs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from utils.errors import InputError
from utils.models import slowfast_x3d as pv
from utils.models import tiny, tsm
from utils.models import torchvision_video as tv
from utils.models.base import VideoClassifier
from utils.models.checkpoints import download_or_fallback, load_into
from utils.models.spec import ModelSpec
from utils.settings import resolve_device

_ZOO: dict[str, tuple[ModelSpec, Callable[[], VideoClassifier]]] = {
    "tsn_r50": (tsm.TSN_R50, tsm.tsn_r50),
    "tsm_r50": (tsm.TSM_R50, tsm.tsm_r50),
    "slowfast_r50": (pv.SLOWFAST_R50, pv.slowfast_r50),
    "x3d_xs": (pv.X3D_XS, pv.x3d_xs),
    "x3d_s": (pv.X3D_S, pv.x3d_s),
    "x3d_m": (pv.X3D_M, pv.x3d_m),
    "r2plus1d_18": (tv.R2PLUS1D_18, tv.r2plus1d_18),
    "r3d_18": (tv.R3D_18, tv.r3d_18),
    "mc3_18": (tv.MC3_18, tv.mc3_18),
    "s3d": (tv.S3D, tv.s3d),
    "mvit_v2_s": (tv.MVIT_V2_S, tv.mvit_v2_s),
    "tiny3d": (tiny.TINY3D, tiny.tiny3d),
}


def list_models() -> list[str]:
    """Names of every zoo model, the real ones first, ``tiny3d`` last."""
    return list(_ZOO)


def get_weights(name: str) -> ModelSpec:
    """The spec of model ``name``: checkpoint, preset, categories, published numbers."""
    try:
        return _ZOO[name][0]
    except KeyError:
        raise InputError(f"unknown model {name!r}; valid: {', '.join(_ZOO)}") from None


def build_model(
    name: str,
    weights: str | Path | None = "default",
    device: str | torch.device = "cpu",
    *,
    progress: bool = True,
) -> VideoClassifier:
    """Model ``name`` in eval mode on ``device``.

    ``weights``: ``"default"`` = the published checkpoint (downloaded once into the torch hub
    cache; offline, an InputError says which URL to fetch and where to put it); ``None`` =
    random initialisation (``model.pretrained`` is False); a path = the official file as
    published. Random init is seeded by the caller (``torch.manual_seed``).
    """
    spec = get_weights(name)
    model = _ZOO[name][1]()
    if weights is not None:
        if weights == "default":
            if not spec.has_checkpoint:
                raise InputError(f"{name} has no published checkpoint: use weights=None")
            path, spec = download_or_fallback(spec, progress=progress)
        else:
            path = Path(weights).expanduser()
        load_into(model, path, spec)
    return model.to(resolve_device(device)).eval()


def zoo_table() -> str:
    """The zoo as a Markdown table, from the specs (the README's table is checked against it)."""
    rows = [
        "| model | checkpoint (format) | input | published top-1 / top-5 | protocol "
        "| params (M) | GFLOPs/view | embedding |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in list_models():
        spec = get_weights(name)
        p = spec.preset
        top1, top5 = spec.metrics["top1"], spec.metrics["top5"]
        scores = "—" if top1 is None else f"{top1} / {'—' if top5 is None else top5}"
        file = f"`{spec.filename}` ({spec.format})" if spec.filename else "none (random)"
        cells = (
            f"`{name}`",
            file,
            f"{p.num_frames}×{p.crop}²",
            scores,
            spec.metrics["protocol"],
            spec.params_m,
            spec.gflops,
            spec.embed_dim,
        )
        rows.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(rows)
