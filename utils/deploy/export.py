"""ONNX export of the zoo models with a parity check against eager PyTorch, and a latency timer.

The exporter and the backends themselves (eager, ONNX Runtime, compile) are in
:mod:`utils.models.backends`: ``torch.onnx.export(..., dynamo=False)`` at ``OPSET`` 17. The newer
dynamo exporter (``dynamo=True``) needs the ``onnxscript`` package, which is not in this
environment; pass ``dynamo=True`` after ``pip install onnxscript`` to try it. The batch axis is
dynamic (input ``clip`` (N, 3, T, H, W) -> output ``logits`` (N, classes)); T, H and W are fixed at
the preset's test size, the size the model was trained for.

A model that cannot be exported raises :class:`ExportBlocked`, whose message names the
operator that blocked it and what would unblock it; nothing is skipped silently. A model that
exports but computes something else fails :func:`parity` (``parity_ok=False``): SlowFast's
slow-pathway frame indices (``torch.linspace``) are traced into ONNX ``Range`` arithmetic that
picks frame 30 instead of 31 of 32 (tests/test_export.py::test_slowfast_pathway_indices).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from utils.errors import InputError
from utils.io import check_not_input, check_target
from utils.models.backends import (
    OPSET,
    ExportBlocked,
    model_input,
    model_name,
    ort_session,
    resolve_model,
    write_onnx,
)

__all__ = ["ATOL", "OPSET", "RTOL", "ExportBlocked", "ExportReport", "export_onnx",
           "median_latency_ms", "model_input", "ort_session", "parity", "parity_sentence"]

# Parity tolerance on logits: ATOL + RTOL * max |logit|. Measured with random weights (batch of
# two independent clips at the preset shape), ONNX Runtime differs from eager float32 by at most
# 2e-6 (x3d, r3d_18, mc3_18, r2plus1d_18, s3d, mvit_v2_s, tiny3d) and 1.5e-5 for TSN/TSM, whose
# random logits reach ~70; eager float32 itself is within 2e-7 of float64. The bound leaves
# 5-50x headroom and still catches a graph that reads a different input frame (SlowFast: 9e-4).
ATOL = 1e-4
RTOL = 1e-5


@dataclass(frozen=True)
class ExportReport:
    """What was exported and how it compares with eager PyTorch on the same input."""

    model: str
    path: Path
    opset: int
    input_shape: tuple[int, ...]
    export_seconds: float
    size_mb: float
    max_abs_diff: float | None = None
    top5_same: bool | None = None
    tolerance: float | None = None
    parity_ok: bool | None = None
    pretrained: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_onnx(
    model_or_name: Any,
    path: str | Path,
    *,
    weights: str | None = None,
    example: torch.Tensor | None = None,
    check: bool = True,
    dynamo: bool = False,
    parity_batch: int = 2,
) -> ExportReport:
    """Export a zoo model (or its name, built with ``weights``) to ``path`` (atomic write).

    ``example`` sets T, H, W (default: the preset's test shape); ``check`` runs
    :func:`parity` on a batch of ``parity_batch`` (exercising the dynamic batch axis).
    """
    check_target(check_not_input(path, weights if weights not in (None, "default") else None))
    model = resolve_model(model_or_name, weights)
    name = model_name(model)
    x = model_input(model) if example is None else example
    path = Path(path)
    began = time.perf_counter()
    write_onnx(model, path, x, name=name, dynamo=dynamo)
    report = ExportReport(name, path, OPSET, tuple(x.shape), time.perf_counter() - began,
                          path.stat().st_size / 1e6, pretrained=getattr(model, "pretrained", None))
    if not check:
        return report
    # Independent rows (not copies of ``example``): a graph that mixed up the batch axis or
    # froze a value seen while tracing would then differ.
    xb = torch.randn(parity_batch, *x.shape[1:], generator=torch.Generator().manual_seed(1))
    result = parity(model, path, xb)
    return ExportReport(**{**report.to_dict(), **result})


def parity(model: Any, onnx_path: str | Path, x: torch.Tensor) -> dict[str, Any]:
    """Eager vs ONNX Runtime logits on ``x``: max |difference|, same top-5 (per row, in order),
    and whether both are within tolerance (``ATOL`` + ``RTOL`` * max |logit|).

    Top-5 orders may differ only where two eager logits are closer than the measured difference
    (ties at float32 precision, common with random weights); that still passes and is reported.
    """
    with torch.inference_mode():
        ref = model(x).float().numpy()
    session = ort_session(onnx_path)
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    if got.shape != ref.shape:
        raise InputError(f"{onnx_path}: ONNX output {got.shape} != eager {ref.shape}")
    diff = float(np.abs(got - ref).max())
    tolerance = ATOL + RTOL * float(np.abs(ref).max())
    top_ref = np.argsort(-ref, axis=1)[:, :5]
    top_got = np.argsort(-got, axis=1)[:, :5]
    same = bool((top_ref == top_got).all())
    near_tie = all(
        np.abs(ref[i, top_ref[i]] - ref[i, top_got[i]]).max() <= 2 * diff
        for i in range(len(ref)))
    return {"max_abs_diff": diff, "top5_same": same, "tolerance": tolerance,
            "parity_ok": diff <= tolerance and (same or near_tie)}


def parity_sentence(reports: Sequence[ExportReport]) -> str:
    """What the parity checks of ``reports`` show, in one paragraph whose every number is read
    from them: the largest difference against its tolerance, and which models fail."""
    checked = [r for r in reports if r.max_abs_diff is not None and r.tolerance is not None]
    if not checked:
        return "No export was checked for parity."
    worst = max(checked, key=lambda r: r.max_abs_diff or 0.0)
    failed = [r for r in checked if not r.parity_ok]
    text = (f"Largest absolute logit difference: {worst.max_abs_diff:.1e} ({worst.model}), "
            f"against its tolerance {worst.tolerance:.1e}; {len(checked) - len(failed)} of "
            f"{len(checked)} exported model(s) pass the parity check.")
    if not failed:
        return text + (" Every difference is within float32 rounding: the ONNX graphs compute "
                       "what PyTorch computes.")
    return text + " Failing: " + "; ".join(
        f"{r.model} (max |diff| {r.max_abs_diff:.1e} vs tolerance {r.tolerance:.1e}, top-5 "
        f"{'same' if r.top5_same else 'different'})" for r in failed) + (
        ". A difference beyond rounding means the graph computes something else: compare "
        "its inputs and operators with the PyTorch model's before shipping it.")


def median_latency_ms(fn: Callable[[torch.Tensor], Any], x: torch.Tensor, *, warmup: int = 2,
                      repeats: int = 5) -> float:
    """Median wall time of ``fn(x)`` in milliseconds over ``repeats`` calls after ``warmup``
    (the median, because a shared machine adds rare long outliers)."""
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)
