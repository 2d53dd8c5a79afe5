"""``actionlab export``, ``actionlab demo`` and ``actionlab detect``: deployment commands.

Each handler parses its arguments and calls one library function (:mod:`utils.deploy.export`,
:mod:`utils.deploy.live`, :mod:`utils.deploy.detect`); heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import json

from utils.cliargs import add_device, add_out, add_weights, positive_int, weights_arg


def _export(args: argparse.Namespace) -> int:
    from utils.deploy.export import export_onnx

    report = export_onnx(args.model, args.out, weights=weights_arg(args.weights),
                         check=args.check)
    print(json.dumps(report.to_dict(), indent=2, default=str))
    return 0 if report.parity_ok in (None, True) else 1


def _demo(args: argparse.Namespace) -> int:
    from utils.deploy.demo import run_demo

    labels = [s.strip() for s in args.labels.split(",") if s.strip()] if args.labels else None
    summary = run_demo(args.source, model=args.model, weights=weights_arg(args.weights),
                       run_dir=args.run, labels=labels, out=args.out,
                       summary_path=args.summary, show=args.show, device=args.device,
                       realtime=args.realtime, max_frames=args.max_frames, top_k=args.top_k,
                       per_person=args.per_person)
    if args.per_person:
        print(json.dumps({k: summary[k] for k in ("frames", "tracks")}, default=str))
        return 0
    keys = ("frames_in", "frames_out", "inferences", "dropped_windows", "capture_fps",
            "inference_fps", "display_fps")
    print(json.dumps({k: summary[k] for k in keys}, indent=2))
    return 0


def _detect(args: argparse.Namespace) -> int:
    from utils.deploy.detect import run_detect

    summary = run_detect(args.source, args.out, pose=args.pose, weights=args.weights,
                         conf=args.conf, imgsz=args.imgsz, max_frames=args.max_frames,
                         table_format=args.format)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def add_deploy(sub: argparse._SubParsersAction) -> None:
    """Register ``export``, ``demo`` and ``detect``."""
    export = sub.add_parser(
        "export", help="export a zoo model to ONNX and check it against ONNX Runtime",
        description="Reads the model's weights (--weights); writes the ONNX file --out (opset "
                    "17, dynamic batch axis) and prints a JSON report (with --check: max abs "
                    "logit difference and top-5 agreement with ONNX Runtime; exit 1 if they "
                    "disagree beyond the tolerance).")
    export.add_argument("--model", required=True, help="zoo model name (see utils.models)")
    add_weights(export)
    add_out(export, "output .onnx file")
    export.add_argument("--check", action="store_true",
                        help="compare ONNX Runtime with eager PyTorch on a random batch")
    export.set_defaults(func=_export)

    demo = sub.add_parser(
        "demo", help="live action recognition on a webcam, a video file or a URL",
        description="Reads frames from --source (camera index, file or URL) and runs the model "
                    "on the latest window in its own thread; writes the annotated video --out "
                    "(same frame count and rate as a file source) and a JSON summary "
                    "(--summary, default <out>.json). On Colab use utils.deploy.live.ColabCamera "
                    "in the notebook (lab1_pretrained/03_live_demo.ipynb).")
    model = demo.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="zoo model name")
    model.add_argument("--run", help="fine-tuned run folder (lab 2; utils.finetune.load_run)")
    add_weights(demo)
    demo.add_argument("--source", required=True, help="camera index (0), video file or URL")
    add_out(demo, "annotated MP4 to write", required=False)
    demo.add_argument("--summary", help="JSON summary path (default: <out>.json)")
    demo.add_argument("--labels", help="comma-separated class subset, e.g. smoking,clapping")
    demo.add_argument("--top-k", type=positive_int, default=3, help="labels shown (default 3)")
    demo.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    demo.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=None,
                      help="pace a file at its frame rate (default: only without --out)")
    demo.add_argument("--show", action="store_true", help="show an OpenCV window (q quits)")
    add_device(demo)
    demo.add_argument("--per-person", action="store_true",
                      help="YOLO person tracks, an action label above each person (offline "
                           "loop over a file; needs --out; yolov8n.pt, see actionlab detect)")
    demo.set_defaults(func=_demo)

    detect = sub.add_parser(
        "detect", help="YOLO boxes (and --pose skeletons) with person tracks, headless",
        description="Reads --source (image, video file, camera index or URL); writes "
                    "detections.csv (or .parquet: one row per box with frame, track_id, class, "
                    "confidence, x1..y2 and 17 keypoints), annotated.mp4 (annotated.png for "
                    "an image) and summary.json into --out.")
    detect.add_argument("--source", required=True, help="image, video file, camera index, URL")
    detect.add_argument("--pose", action="store_true", help="yolov8n-pose (17 keypoints)")
    add_weights(detect)  # default: yolov8n.pt (yolov8n-pose.pt); none: the yaml's architecture
    add_out(detect, "output folder")
    detect.add_argument("--format", default="csv", choices=["csv", "parquet"])
    detect.add_argument("--conf", type=float, default=0.25, help="score threshold")
    detect.add_argument("--imgsz", type=positive_int, default=640, help="inference size (pixels)")
    detect.add_argument("--max-frames", type=positive_int, help="stop after this many frames")
    detect.set_defaults(func=_detect)
