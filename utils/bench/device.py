"""Which device a measurement runs on, and mixed precision only where it exists (CUDA)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from utils.errors import InputError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The zoo's ``resolve_device`` ("auto" -> CUDA when available, else CPU), and asking for
    CUDA without one is an InputError: a silent CPU fallback would mislabel every timing."""
    from utils.models import resolve_device as zoo_device

    resolved = zoo_device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device}: CUDA is not available here (use auto or cpu)")
    return resolved


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
