"""One home for the run settings every notebook and command shares: the device here, the weights
in :mod:`utils.models.weights` (they need the zoo, which needs this module), WORKDIR in
:mod:`utils.workdir` (standard library only, so lab 3 needs no torch for it), the data mode in
:func:`utils.datamode.choose_data`. One resolver and one meaning of ``"auto"`` each:

- **device** (:func:`resolve_device`): ``"auto"`` is CUDA when a GPU is present, else the CPU.
  Apple's ``"mps"`` is used only when asked for by name: several 3-D video operators are not
  implemented there, so a silent choice could fail halfway through a lab.
- **weights** (:func:`utils.models.weights.resolve_weights`): ``"auto"`` is the published
  checkpoint when the data are real and the checkpoint can be had (cached or downloaded); random
  weights otherwise (synthetic data, no published checkpoint, download failed), always with the
  reason. A checkpoint scored on generated clips measures nothing, and random weights are never
  mistaken for a result.
- **WORKDIR** (:func:`utils.workdir.resolve_workdir`): the folder holding data, checkpoints,
  feature caches, runs and outputs. Each Colab notebook runs on its own machine, so what one
  notebook leaves for the next must live here; ``use_drive=True`` mounts Google Drive there.
- **data** (:func:`utils.datamode.choose_data`): ``"auto"`` is the real data in WORKDIR, else a
  small real sample downloaded, else the generated stand-in with a banner saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
