"""ONNX export of the zoo models, a parity check with ONNX Runtime, and inference backends.

Exporter: ``torch.onnx.export(..., dynamo=False)``, the TorchScript-tracing exporter, at
``OPSET`` 17 (ONNX Runtime >= 1.11, TensorRT >= 8.5, OpenVINO 2022+ read it). The newer dynamo
exporter (``dynamo=True``) needs the ``onnxscript`` package, which is not in this environment;
pass ``dynamo=True`` after ``pip install onnxscript`` to try it. The batch axis is dynamic
(input ``clip`` (N, 3, T, H, W) -> output ``logits`` (N, classes)); T, H and W are fixed at the
preset's test size, the size the model was trained for.

A model that cannot be exported raises :class:`ExportBlocked`, whose message names the
operator that blocked it and what would unblock it; nothing is skipped silently. A model that
exports but computes something else fails :func:`parity` (``parity_ok=False``): SlowFast's
slow-pathway frame indices (``torch.linspace``) are traced into ONNX ``Range`` arithmetic that
picks frame 30 instead of 31 of 32 (tests/test_export.py::test_slowfast_pathway_indices).
"""

from __future__ import annotations

import re
import shutil
import statistics
import tempfile
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from utils.errors import InputError
from utils.io import atomic_path, check_not_input, check_target

OPSET = 17
# Parity tolerance on logits: ATOL + RTOL * max |logit|. Measured with random weights (batch of
# two independent clips at the preset shape), ONNX Runtime differs from eager float32 by at most
# 2e-6 (x3d, r3d_18, mc3_18, r2plus1d_18, s3d, mvit_v2_s, tiny3d) and 1.5e-5 for TSN/TSM, whose
# random logits reach ~70; eager float32 itself is within 2e-7 of float64. The bound leaves
# 5-50x headroom and still catches a graph that reads a different input frame (SlowFast: 9e-4).
ATOL = 1e-4
RTOL = 1e-5
BACKENDS = ("eager", "onnx", "compile")


class ExportBlocked(InputError):
    """A model that the ONNX exporter cannot convert; the message names the operator."""

    def __init__(self, model: str, operator: str, detail: str) -> None:
        self.model, self.operator = model, operator
        super().__init__(
            f"{model}: ONNX export blocked by operator {operator} at opset {OPSET} ({detail}). "
            "To unblock: rewrite that call with exportable ops, register a symbolic for it "
            "(torch.onnx.register_custom_op_symbolic), or try the dynamo exporter "
            "(pip install onnxscript; export_onnx(..., dynamo=True))"
        )


def _operator(message: str) -> str:
    """The ``aten::op`` (or other ``ns::op``) named in an exporter error, else 'unknown'."""
    found = re.search(r"operator '([\w.]+::[\w.]+)'", message) or re.search(
        r"([a-z_]+::[A-Za-z_][\w.]*)", message)
    return found.group(1) if found else "unknown"


def model_input(model: Any, batch: int = 1, *, size: int | None = None,
                frames: int | None = None, seed: int = 0) -> torch.Tensor:
    """A seeded random input of the model's preset shape (N, 3, T, crop, crop); ``size`` and
    ``frames`` shrink it for fast checks where the architecture allows (global pooling)."""
    preset = model.spec.preset
    shape = (batch, 3, frames or preset.num_frames, size or preset.crop, size or preset.crop)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


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


def _resolve(model_or_name: Any, weights: str | None) -> Any:
    if isinstance(model_or_name, str):
        from utils.models import build_model

        return build_model(model_or_name, weights=weights, device="cpu")
    return model_or_name.eval()


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
    model = _resolve(model_or_name, weights)
    name = getattr(getattr(model, "spec", None), "name", type(model).__name__)
    x = model_input(model) if example is None else example
    path = Path(path)
    began = time.perf_counter()
    with atomic_path(path) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shape-constant Python values
        kwargs: dict[str, Any] = {"dynamic_axes": {"clip": {0: "batch"}, "logits": {0: "batch"}}}
        if dynamo:
            kwargs = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1)},)}
        try:
            torch.onnx.export(model, (x,), str(tmp), input_names=["clip"],
                              output_names=["logits"], opset_version=OPSET, dynamo=dynamo,
                              **kwargs)
        except ModuleNotFoundError as exc:
            raise InputError(f"dynamo=True needs {exc.name}: pip install {exc.name}") from exc
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExportBlocked(name, _operator(str(exc)), message[:300]) from exc
    report = ExportReport(name, path, OPSET, tuple(x.shape), time.perf_counter() - began,
                          path.stat().st_size / 1e6, pretrained=getattr(model, "pretrained", None))
    if not check:
        return report
    # Independent rows (not copies of ``example``): a graph that mixed up the batch axis or
    # froze a value seen while tracing would then differ.
    xb = torch.randn(parity_batch, *x.shape[1:], generator=torch.Generator().manual_seed(1))
    result = parity(model, path, xb)
    return ExportReport(**{**report.to_dict(), **result})


def ort_session(path: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with full graph optimisation (``threads``: torch's count)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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


def load_backend(model_or_name: Any, backend: str = "eager", *, weights: str | None = None,
                 example: torch.Tensor | None = None, onnx_path: str | Path | None = None,
                 ) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model behind the forward contract ((N, 3, T, H, W) -> logits) on ``backend``:

    * ``eager``: PyTorch under ``inference_mode``;
    * ``onnx``: exported (to ``onnx_path`` or a temporary file) and run by ONNX Runtime (CPU);
    * ``compile``: ``torch.compile`` (inductor; on CPU it needs a C++ compiler).
    ``example`` gives the input shape the ONNX graph is exported for.
    """
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {BACKENDS}, got {backend!r}")
    model = _resolve(model_or_name, weights)
    if backend == "eager":
        def eager(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return model(x)
        return eager
    if backend == "compile":
        compiled = torch.compile(model)

        def run_compiled(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return compiled(x)
        return run_compiled
    folder = None
    if onnx_path is None:
        folder = tempfile.mkdtemp(prefix="actionlab-onnx-")
        onnx_path = Path(folder) / "model.onnx"
    export_onnx(model, onnx_path, example=example, check=False)
    session = ort_session(onnx_path)
    input_name = session.get_inputs()[0].name

    def run_onnx(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {input_name: x.detach().cpu().numpy()})[0])
    if folder is not None:  # the temporary export lives as long as the callable
        weakref.finalize(run_onnx, shutil.rmtree, folder, True)
    return run_onnx


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
