"""CPU latency of each zoo model on three backends, in one run: eager PyTorch (the baseline),
ONNX Runtime (``utils.deploy.export``, opset 17, full graph optimisation) and ``torch.compile``
(inductor; skipped with its error when it does not work on this machine).

Every model is built once with seeded random weights (latency does not depend on the weights),
at its preset's test input shape (N=1, one view). For each backend: ``--warmup`` calls, then the
median of ``--repeats`` timed calls. The ONNX export is checked against eager on the same input
(max abs logit difference, same top-5), so a fast but wrong graph cannot win. A model that
cannot be exported is reported with the operator that blocks it.

Prints one JSON line per model as it finishes, then one JSON object with every row and
``best_speedup`` (the largest faster-path / eager ratio over models and backends).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.deploy.export import ExportBlocked, export_onnx, median_latency_ms, model_input
from utils.io import to_jsonable
from utils.models import build_model, list_models
from utils.models.backends import load_backend


def bench_model(name: str, folder: Path, warmup: int, repeats: int,
                backends: list[str]) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(name, weights=None)
    x = model_input(model)
    row: dict[str, Any] = {"model": name, "input": list(x.shape), "threads":
                           torch.get_num_threads()}
    row["eager_ms"] = median_latency_ms(load_backend(model, "eager"), x, warmup=warmup,
                                       repeats=repeats)
    if "onnx" in backends:
        path = folder / f"{name}.onnx"
        try:
            report = export_onnx(model, path, example=x)
            row.update(max_abs_diff=report.max_abs_diff, top5_same=report.top5_same,
                       parity_ok=report.parity_ok, export_s=report.export_seconds)
            run = load_backend(model, "onnx", example=x, onnx_path=path)
            row["onnx_ms"] = median_latency_ms(run, x, warmup=warmup, repeats=repeats)
        except ExportBlocked as exc:
            row["onnx_error"] = str(exc)
        path.unlink(missing_ok=True)
    if "compile" in backends:
        try:
            began = time.perf_counter()
            run = load_backend(model, "compile")
            run(x)
            row["compile_first_call_s"] = time.perf_counter() - began
            row["compile_ms"] = median_latency_ms(run, x, warmup=warmup, repeats=repeats)
        except Exception as exc:  # inductor failures come in many types; report, do not hide
            row["compile_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        torch._dynamo.reset()
    for backend in ("onnx", "compile"):
        if f"{backend}_ms" in row:
            row[f"{backend}_speedup"] = row["eager_ms"] / row[f"{backend}_ms"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()),
                        help="comma-separated zoo names (default: all)")
    parser.add_argument("--backends", default="onnx,compile", help="besides eager")
    parser.add_argument("--compile-models", default="tiny3d,x3d_xs",
                        help="models also timed with torch.compile (its first call compiles C++ "
                             "for minutes per model on a CPU; 'all' for every model)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="intra-op threads of torch and ONNX Runtime (default 1: on a "
                             "shared machine, multi-thread barriers make timings erratic)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            backends = args.backends.split(",")
            if args.compile_models != "all" and name not in args.compile_models.split(","):
                backends = [b for b in backends if b != "compile"]
            row = bench_model(name, Path(tmp), args.warmup, args.repeats, backends)
            print(json.dumps(to_jsonable(row)), flush=True)
            rows.append(row)
    speedups = [r[k] for r in rows for k in ("onnx_speedup", "compile_speedup") if k in r]
    print(json.dumps(to_jsonable({
        "baseline": "eager PyTorch, same model, input and threads",
        "rows": rows, "best_speedup": max(speedups) if speedups else None,
    })))


if __name__ == "__main__":
    main()
