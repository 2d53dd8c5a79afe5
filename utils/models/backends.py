"""Where a zoo model runs: eager PyTorch, ONNX Runtime or ``torch.compile``, behind the forward
contract ((N, 3, T, H, W) -> logits).

Shared by the benchmark (``actionlab bench --backend onnx``) and lab 1's deployment code
(:mod:`utils.deploy.export`, which adds the parity check and the report); the benchmark therefore
needs no deployment module. Exporter: ``torch.onnx.export(..., dynamo=False)``, the
TorchScript-tracing exporter, at ``OPSET`` 17 (ONNX Runtime >= 1.11, TensorRT >= 8.5, OpenVINO
2022+ read it); ``dynamo=True`` needs the ``onnxscript`` package.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from utils.errors import InputError
from utils.io import atomic_path

OPSET = 17
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


def model_name(model: Any) -> str:
    return str(getattr(getattr(model, "spec", None), "name", type(model).__name__))


def resolve_model(model_or_name: Any, weights: str | None) -> Any:
    if isinstance(model_or_name, str):
        from utils.models import build_model

        return build_model(model_or_name, weights=weights, device="cpu")
    return model_or_name.eval()


def write_onnx(model: Any, path: Path, x: torch.Tensor, *, name: str, dynamo: bool = False,
               ) -> None:
    """Trace ``model`` on ``x`` into ``path`` (atomic write), batch axis dynamic; a failure
    raises :class:`ExportBlocked` naming the operator (``name``: the model's, for the message)."""
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


def ort_session(path: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with full graph optimisation (``threads``: torch's count)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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
    model = resolve_model(model_or_name, weights)
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
    x = model_input(model) if example is None else example
    write_onnx(model, Path(onnx_path), x, name=model_name(model))
    session = ort_session(onnx_path)
    input_name = session.get_inputs()[0].name

    def run_onnx(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {input_name: x.detach().cpu().numpy()})[0])
    if folder is not None:  # the temporary export lives as long as the callable
        weakref.finalize(run_onnx, shutil.rmtree, folder, True)
    return run_onnx
