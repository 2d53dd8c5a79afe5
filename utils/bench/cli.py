"""``actionlab bench``, ``actionlab predict`` and ``actionlab models list``.

Every model these commands run is made by ``_load_model``: the one place that decides how a
name and a ``--weights`` value become a callable with the forward contract.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from utils.cliargs import add_device, add_out, add_weights, non_negative_int, positive_int


def _load_model(name: str, weights: str, device: str, backend: str = "eager") -> Any:
    """The model ``name`` with ``weights`` ("default" | "none" | a checkpoint PATH), eval mode;
    ``backend`` "onnx" runs it through ONNX Runtime on the CPU (utils.models.backends)."""
    from utils.models import build_model

    if backend == "onnx":
        from utils.models.backends import load_backend

        return load_backend(build_model(name, weights=None if weights == "none" else weights),
                            "onnx")
    return build_model(name, weights=None if weights == "none" else weights, device=device)


def _models(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of model names")
    return names


def _bench(args: argparse.Namespace) -> int:
    from utils.bench.accuracy import parse_views
    from utils.bench.run import run_benchmark

    views = parse_views(args.views)
    results = run_benchmark(
        args.models, lambda name: _load_model(name, args.weights, args.device, args.backend),
        args.data, args.out, weights=args.weights, views=views, device=args.device,
        max_clips=args.max_clips, batch_size=args.batch_size, warmup=args.warmup,
        iters=args.iters, e2e_clips=args.e2e_clips, amp=args.amp, num_workers=args.workers)
    print(f"weights: {results['weights']}; device: {results['device']}; views: {results['views']}")
    for row in results["models"]:
        print(f"{row['model']:<14} top-1 {row['top1']:6.2f} %  top-5 {row['top5']:6.2f} %  "
              f"{row['clips']} clips ({row['failed']} failed)  "
              f"{row['latency_ms_median']:8.1f} ms/clip  {row['clips_per_s']:7.2f} clips/s")
    print(f"wrote results.json, results.csv, predictions.csv, accuracy_vs_latency.png and "
          f"speed.json (AMP used, batch size, peak CUDA memory) to {Path(args.out).resolve()}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from utils.bench.accuracy import parse_views
    from utils.bench.run import predict_clip
    from utils.models import get_weights

    views = parse_views(args.views)
    spec = get_weights(args.model)
    model = _load_model(args.model, args.weights, args.device, args.backend)
    top = predict_clip(model, args.clip, spec.preset, spec.categories, topk=args.top_k,
                       views=views, device=args.device)
    if args.weights == "none":
        print("RANDOM WEIGHTS (--weights none): these probabilities carry no information")
    print(f"{args.model} on {args.clip} ({args.views} views):")
    for rank, (name, prob) in enumerate(top, 1):
        print(f"{rank:>3}. {name:<45} {prob:.4f}")
    return 0


def _models_list(args: argparse.Namespace) -> int:
    from utils.bench.catalogue import format_catalogue, model_catalogue

    rows = model_catalogue()
    print(json.dumps(rows, indent=2) if args.json else format_catalogue(rows))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``bench``, ``predict`` and ``models`` on the top-level sub-parsers."""
    bench = sub.add_parser(
        "bench", help="accuracy, latency, throughput, params and FLOPs of zoo models",
        description="Evaluate each model on a Kinetics sample (top-1/top-5, multi-view) and time "
        "it. Reads the clips in --data; writes results.json, results.csv, predictions.csv "
        "(one row per clip, failed clips with their reason), accuracy_vs_latency.png and "
        "speed.json (each model's timing settings, AMP actually used, peak CUDA memory) into "
        "--out.")
    bench.add_argument("--models", type=_models, default=["tsn_r50", "tsm_r50", "slowfast_r50"],
                       help="comma-separated zoo names (default: tsn_r50,tsm_r50,slowfast_r50; "
                       "see `actionlab models list`)")
    bench.add_argument("--data", required=True, metavar="DIR|synthetic",
                       help="folder of Kinetics clips named {label}-{youtube_id}-{start}-{end}.mp4"
                       ", or 'synthetic' for a generated stand-in (numbers are not findings)")
    add_weights(bench)
    bench.add_argument("--views", default="1x1", metavar="CLIPSxCROPS",
                       help="test views per video, e.g. 1x1, 10x3 (crops 1, 3 or 10; default 1x1)")
    add_device(bench)
    add_out(bench, "folder for the results", metavar="DIR")
    bench.add_argument("--max-clips", type=positive_int, default=None,
                       help="evaluate N clips spread over the classes (default: all)")
    bench.add_argument("--batch-size", type=positive_int, default=1,
                       help="clips per forward for the clips/s measure (default 1)")
    bench.add_argument("--iters", type=positive_int, default=10,
                       help="timed forwards per model (default 10)")
    bench.add_argument("--warmup", type=non_negative_int, default=2,
                       help="untimed forwards first (default 2)")
    bench.add_argument("--e2e-clips", type=positive_int, default=3,
                       help="clips timed end to end, decode + preprocess + forward (default 3)")
    bench.add_argument("--amp", action="store_true",
                       help="float16 autocast on CUDA (ignored on CPU, reported as off)")
    bench.add_argument("--workers", type=non_negative_int, default=0,
                       help="decoding processes for the evaluation (default 0)")
    bench.add_argument("--backend", choices=["eager", "onnx"], default="eager",
                       help="eager PyTorch or the model exported to ONNX (opset 17) and run by "
                       "ONNX Runtime on the CPU (default eager)")
    bench.set_defaults(func=_bench)

    predict = sub.add_parser(
        "predict", help="top classes of one video",
        description="Read one video file, run one zoo model on it with the model's own "
        "preprocessing, print the top classes and their probabilities. Writes nothing.")
    predict.add_argument("--model", required=True, help="zoo name (see `actionlab models list`)")
    add_weights(predict)
    predict.add_argument("clip", metavar="CLIP", help="video file")
    predict.add_argument("--top-k", type=positive_int, default=5,
                         help="classes to print (default 5)")
    predict.add_argument("--views", default="1x1", metavar="CLIPSxCROPS",
                         help="test views averaged (default 1x1)")
    add_device(predict)
    predict.add_argument("--backend", choices=["eager", "onnx"], default="eager",
                         help="eager PyTorch or the model exported to ONNX (opset 17) and run by "
                         "ONNX Runtime on the CPU (default eager)")
    predict.set_defaults(func=_predict)

    models = sub.add_parser("models", help="the model zoo")
    models_sub = models.add_subparsers(dest="command", required=True)
    listing = models_sub.add_parser(
        "list", help="every zoo model with its published numbers",
        description="List the zoo: checkpoint format, input size, params, GFLOPs per view and "
        "published top-1/top-5 with their protocol. Reads the model specs; writes to stdout.")
    listing.add_argument("--json", action="store_true", help="JSON (with URLs, source, licence)")
    listing.set_defaults(func=_models_list)

