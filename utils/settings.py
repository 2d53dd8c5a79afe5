"""One home for the run settings every notebook and command shares: device and weights here,
WORKDIR in :mod:`utils.workdir` (standard library only, so lab 3 needs no torch for it), the data
mode in :func:`utils.datamode.choose_data`. One resolver and one meaning of ``"auto"`` each:

- **device** (:func:`resolve_device`): ``"auto"`` is CUDA when a GPU is present, else the CPU.
  Apple's ``"mps"`` is used only when asked for by name: several 3-D video operators are not
  implemented there, so a silent choice could fail halfway through a lab.
- **weights** (:func:`resolve_weights`): ``"auto"`` is the published checkpoint when the data are
  real and the checkpoint can be had (cached or downloaded); random weights otherwise (synthetic
  data, no published checkpoint, download failed), always with the reason. A checkpoint scored
  on generated clips measures nothing, and random weights are never mistaken for a result.
- **WORKDIR** (:func:`utils.workdir.resolve_workdir`): the folder holding data, checkpoints,
  feature caches, runs and outputs. Each Colab notebook runs on its own machine, so what one
  notebook leaves for the next must live here; ``use_drive=True`` mounts Google Drive there.
- **data** (:func:`utils.datamode.choose_data`): ``"auto"`` is the real data in WORKDIR, else a
  small real sample downloaded, else the generated stand-in with a banner saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.errors import InputError

if TYPE_CHECKING:
    import torch

T4_HINT = ("On Colab: Runtime > Change runtime type > Hardware accelerator: T4 GPU, then run the "
           "notebook again from the top.")


# ----------------------------------------------------------------------------------- device


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else the CPU. A device that is asked for by name but
    absent (``cuda`` without a GPU, ``mps`` off Apple silicon) is an InputError, not a crash
    halfway through a notebook."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise InputError(f"device={device!r}: {exc}; use 'auto', 'cpu', 'cuda' or 'mps'") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={device!r} but CUDA is not available: use 'auto' or 'cpu'")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device={device!r} but MPS is not available: use 'auto' or 'cpu'")
    return resolved


def gpu_report(slow: str = "") -> str:
    """One line on the accelerator of this runtime; without a GPU, how to get one on Colab and
    what will be slow (``slow``), so a lab never runs on the CPU without saying so."""
    import torch

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)} (device 'auto' -> cuda)"
    return ("NO GPU: this runtime has only a CPU, so device 'auto' -> cpu"
            + (f"; {slow}" if slow else "") + f". {T4_HINT}")


# ---------------------------------------------------------------------------------- weights


@dataclass(frozen=True)
class WeightsChoice:
    weights: str | None  # the ``weights`` argument of ``build_model``: None = random
    why: str

    @property
    def random(self) -> bool:
        return self.weights is None


def resolve_weights(mode: str | Path | None, model: str | None, *, synthetic: bool,
                    fetch: Callable[[Any], Any] | None = None) -> WeightsChoice:
    """The weights of zoo model ``model`` for a ``WEIGHTS``/``--weights`` setting.

    ``"auto"``: the published checkpoint when the data are real and it can be had (``fetch``,
    default :func:`utils.models.checkpoints.download`, raises InputError when it cannot), else
    random weights, with the reason. ``model=None`` (several models, e.g. a benchmark) skips
    the availability check: each model's build then downloads its own checkpoint.
    ``"default"``: the checkpoint, or the download's error.
    ``"none"``/None: random weights. Anything else: a checkpoint path, as given.
    """
    if mode is None or str(mode) == "none":
        return WeightsChoice(None, "random weights, as asked (WEIGHTS='none')")
    if str(mode) != "auto":
        return WeightsChoice(str(mode), f"weights={str(mode)!r} as asked")
    if synthetic:
        return WeightsChoice(None, "RANDOM WEIGHTS: the data are the generated stand-in, on "
                                   "which a checkpoint would measure nothing")
    if model is None:
        return WeightsChoice("default", "the published checkpoints (real data)")
    from utils.models import get_weights

    spec = get_weights(model)
    if not spec.has_checkpoint:
        return WeightsChoice(None, f"RANDOM WEIGHTS: {model} has no published checkpoint")
    if fetch is None:
        from utils.models.checkpoints import download

        def fetch(spec: Any) -> Any:
            return download(spec, progress=True)
    try:
        fetch(spec)
    except InputError as exc:
        return WeightsChoice(None, f"RANDOM WEIGHTS: the {model} checkpoint is not available "
                                   f"({exc})")
    return WeightsChoice("default", f"the published {model} checkpoint")
