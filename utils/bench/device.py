"""Which device a measurement runs on, and mixed precision only where it exists (CUDA)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The zoo's rule (``utils.models.resolve_device``: "auto" -> CUDA when available, CUDA
    asked for without one -> InputError), imported only when called: the zoo pulls in
    pytorchvideo and torchvision's model modules."""
    from utils.models import resolve_device as zoo_device

    return zoo_device(device)


def amp_active(device: torch.device, amp: bool) -> bool:
    """AMP (float16 autocast) is used only on CUDA; on CPU the request falls back to float32."""
    return amp and device.type == "cuda"


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """float16 autocast on CUDA when ``amp``; a no-op context otherwise."""
    if amp_active(device, amp):
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so a timer measures the work and not its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
