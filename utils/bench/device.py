"""Mixed precision only where it exists (CUDA); the device itself comes from
:func:`utils.settings.resolve_device`."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from utils.settings import resolve_device  # the one device rule, re-exported for bench

__all__ = ["amp_active", "autocast", "resolve_device", "synchronize"]


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
