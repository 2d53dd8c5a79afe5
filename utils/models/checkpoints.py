"""Finding, verifying and loading the official checkpoint files, one small loader per format.

Formats (as published, never converted on disk):
- ``tsm``: mit-han-lab ``{"state_dict": {"module.base_model.<resnet50 keys>", ...,
  "module.new_fc.weight", "module.new_fc.bias"}}`` (saved from ``nn.DataParallel``, hence
  ``module.``); shifted convs under ``layerX.Y.conv1.net.weight``. Same key handling as the
  official ``test_models.py`` (drop the first dotted component).
- ``pytorchvideo``: ``{"model_state": <state dict of the pytorchvideo hub model>, ...}``
  (``pytorchvideo.models.hub.utils`` loads ``checkpoint["model_state"]``).
- ``torchvision``: the plain state dict of the torchvision model.
- ``mmaction2``: ``{"state_dict": {"backbone.<mmaction2 ResNet keys>", "cls_head.fc_cls.*"}}``
  (mmcv ``ConvModule``s: ``conv1.conv``/``conv1.bn`` for torchvision's ``conv1``/``bn1``,
  ``downsample.conv``/``.bn`` for ``downsample.0``/``.1``, the TSM shift wrapping
  ``conv1.conv`` as ``conv1.conv.net``); renamed here to the TSN/TSM module names.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from utils.download import fetch
from utils.errors import InputError, code_refusal, first_line
from utils.models.base import VideoClassifier
from utils.models.spec import ModelSpec

_SHOWN_KEYS = 8
_MMACTION2_NAMES = (  # (mmaction2 key pattern, TSN/TSM key), first match wins
    (re.compile(r"^cls_head\.fc_cls\."), "new_fc."),
    (re.compile(r"^backbone\.conv1\.conv\."), "base_model.conv1."),
    (re.compile(r"^backbone\.conv1\.bn\."), "base_model.bn1."),
    (re.compile(r"^backbone\.(layer\d\.\d+)\.conv(\d)\.conv\."), r"base_model.\1.conv\2."),
    (re.compile(r"^backbone\.(layer\d\.\d+)\.conv(\d)\.bn\."), r"base_model.\1.bn\2."),
    (re.compile(r"^backbone\.(layer\d\.\d+)\.downsample\.conv\."), r"base_model.\1.downsample.0."),
    (re.compile(r"^backbone\.(layer\d\.\d+)\.downsample\.bn\."), r"base_model.\1.downsample.1."),
)


def cache_path(spec: ModelSpec) -> Path:
    """Where ``weights="default"`` keeps the file: ``torch.hub.get_dir()/checkpoints/<filename>``
    (the folder torchvision's own weights use; ``TORCH_HOME`` moves it)."""
    if spec.filename is None:
        raise InputError(f"{spec.name} has no checkpoint (random weights only): use weights=None")
    return Path(torch.hub.get_dir()) / "checkpoints" / spec.filename


def download(spec: ModelSpec, *, progress: bool = True) -> Path:
    """The cached checkpoint of ``spec``, downloaded on first use from its URLs in order
    (``utils.download.fetch``: resumable, hash-checked, ACTIONLAB_MIRROR applied). The hash,
    when published, is checked on every use, so a truncated or swapped cached file is caught."""
    return fetch(spec.urls, cache_path(spec), sha256=spec.sha256, progress=progress)


def download_or_fallback(spec: ModelSpec, *, progress: bool = True) -> tuple[Path, ModelSpec]:
    """(file, the spec it belongs to): ``spec``'s checkpoint, else its ``fallback``'s (another
    published checkpoint of the same network), with a warning naming both and their numbers."""
    try:
        return download(spec, progress=progress), spec
    except InputError as exc:
        if spec.fallback is None:
            raise
        first = exc
    fallback = spec.fallback
    try:
        path = download(fallback, progress=progress)
    except InputError as second:
        raise InputError(f"{first}; and the fallback {fallback.name}: {second}") from None
    warnings.warn(f"{spec.name}: {first}; loaded {fallback.name} instead (published top-1 "
                  f"{fallback.metrics['top1']} % at {fallback.metrics['protocol']}, not "
                  f"{spec.metrics['top1']} %)", stacklevel=2)
    return path, fallback


def _numpy_data_types() -> list[Any]:
    """numpy scalars and dtypes: plain numbers (best accuracy, epoch) that training scripts of
    the numpy era stored next to the weights. Data, not code, so ``weights_only`` may accept them
    (the allow-list PyTorch's own error message suggests)."""
    try:
        from numpy._core.multiarray import scalar  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    unsafe = ("ObjectDType", "VoidDType", "StringDType")
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    return [scalar, np.dtype, *(d for d in dtypes if d.__name__ not in unsafe)]


def read_checkpoint(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True``: a checkpoint can never run code here."""
    if not path.is_file():
        raise InputError(f"weights={str(path)!r}: no such checkpoint file")
    try:
        with torch.serialization.safe_globals(_numpy_data_types()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean a bad file
        raise InputError(f"{path}: " + (code_refusal(exc) or "not a loadable PyTorch "
                                        f"checkpoint ({first_line(exc)})")) from None


def _entry(obj: Any, key: str, path: Path, fmt: str) -> Mapping[str, torch.Tensor]:
    if not isinstance(obj, Mapping) or key not in obj:
        keys = list(obj)[:_SHOWN_KEYS] if isinstance(obj, Mapping) else type(obj).__name__
        raise InputError(f"{path}: a {fmt!r} checkpoint holds {key!r}; found {keys}")
    return obj[key]


def official_state_dict(obj: Any, fmt: str, path: Path) -> Mapping[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint of format ``fmt``, keys as the model names them."""
    if fmt in ("tsm", "mmaction2"):
        state = _entry(obj, "state_dict", path, fmt)
        if any(k.startswith("backbone.") for k in state):  # mmaction2's, also as weights=PATH
            return {_mmaction2_name(k): v for k, v in state.items()
                    if not k.startswith("data_preprocessor.")}  # mean/std, when saved
        return {k.split(".", 1)[1] if k.startswith("module.") else k: v for k, v in state.items()}
    if fmt == "pytorchvideo":
        return _entry(obj, "model_state", path, fmt)
    if fmt == "torchvision":
        if not isinstance(obj, Mapping):
            raise InputError(f"{path}: a torchvision checkpoint is a state dict, got {type(obj)}")
        return obj
    raise InputError(f"unknown checkpoint format {fmt!r}")


def _mmaction2_name(key: str) -> str:
    for pattern, name in _MMACTION2_NAMES:
        if pattern.match(key):
            return pattern.sub(name, key, count=1)
    return key  # left as is: reported as unexpected by load_into


def _listed(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOWN_KEYS} more)" if len(keys) > _SHOWN_KEYS else ""
    return ", ".join(keys[:_SHOWN_KEYS]) + more if keys else "none"


def load_into(model: VideoClassifier, path: Path, spec: ModelSpec | None = None) -> None:
    """Load the official file at ``path`` (of ``spec``, by default the model's own) into
    ``model``; any key mismatch is an InputError listing the missing and the unexpected keys
    (usually: the file of another model)."""
    spec = spec or model.spec
    if spec.format is None:
        raise InputError(f"{spec.name} has no checkpoint format (random weights only)")
    state = official_state_dict(read_checkpoint(path), spec.format, path)
    try:
        # strict=False returns the mismatches instead of raising; it lets BatchNorm fill
        # ``num_batches_tracked`` for files saved before PyTorch 0.4.1, as a strict load would.
        result = model.checkpoint_module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same keys, other shapes (e.g. another number of classes)
        raise InputError(f"{path} does not fit {spec.name}: {exc}") from exc
    if result.missing_keys or result.unexpected_keys:
        raise InputError(
            f"{path} does not fit {spec.name} (format {spec.format!r}): "
            f"{len(result.missing_keys)} missing keys: {_listed(result.missing_keys)}; "
            f"{len(result.unexpected_keys)} unexpected keys: {_listed(result.unexpected_keys)}"
        )
    model.pretrained = True
    model.weights_path = path
