"""YOLO boxes and pose skeletons (ultralytics) on an image, a video or a stream, headless.

``load_yolo`` builds ``yolov8n`` / ``yolov8n-pose``: ``weights="default"`` loads the official
``yolov8n.pt`` / ``yolov8n-pose.pt`` (ultralytics downloads it when online); ``"none"`` builds the
network from its yaml with random weights (offline, tests), and every table row, overlay and
summary made with it says ``pretrained=False``. Person tracks come from :class:`IoUTracker`
(Hungarian matching on box IoU, the association step of SORT without the Kalman filter):
ultralytics' own ByteTrack would ``pip install lap`` at run time, which fails offline.
Drawing uses OpenCV, not ultralytics' plotting, which downloads a font on first use.

Table columns (``COLUMNS``): frame, time, track_id (-1 = not tracked), class_id, class_name,
confidence, x1, y1, x2, y2 (pixels of the source frame), then for each of the 17 COCO keypoints
``<name>_x``, ``<name>_y``, ``<name>_conf`` (NaN for a boxes-only model), then pretrained.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from utils.errors import InputError, code_refusal
from utils.io import RUN_MANIFEST, atomic_path, check_folder_target, staged_run, write_json

# Keep ultralytics from reaching the internet at import, build or predict time.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")
# ultralytics unpickles a .pt with weights_only=False (code in the file runs) unless this switch,
# read when ultralytics is imported, makes it a weights-only load against an allow-list of its
# model classes; forced, not defaulted, so the environment cannot turn it off.
os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"

KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# COCO skeleton as index pairs into KEYPOINTS (the edges ultralytics and COCO draw).
SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
BOX_COLUMNS = ("frame", "time", "track_id", "class_id", "class_name", "confidence",
               "x1", "y1", "x2", "y2")
COLUMNS = (*BOX_COLUMNS, *(f"{k}_{p}" for k in KEYPOINTS for p in ("x", "y", "conf")),
           "pretrained")
PERSON = 0


@dataclass
class Yolo:
    """A loaded ultralytics model plus what the tables need to say about it."""

    model: Any
    pose: bool
    pretrained: bool
    names: dict[int, str]
    weights: str


YOLO_RELEASE = "https://github.com/ultralytics/assets/releases/download/v8.3.0/"


def _coco_names() -> dict[int, str]:
    from ultralytics.utils import ROOT, YAML

    return {int(k): str(v) for k, v in YAML.load(ROOT / "cfg/datasets/coco.yaml")["names"].items()}


def _load_checkpoint(yolo: Any, path: Path, flag: str) -> Any:
    """``yolo(path)`` under ultralytics' weights-only load; a refused or broken file is one
    line naming the ``--weights`` value."""
    try:
        return yolo(str(path))
    except Exception as exc:  # TypeError, UnpicklingError, RuntimeError, EOFError...
        raise InputError(f"--weights {flag}: " + (
            code_refusal(exc) or "not a YOLO checkpoint (empty, truncated or another "
            f"kind of file: {type(exc).__name__})")) from None


def load_yolo(*, pose: bool = False, weights: str = "default", size: str = "n",
              seed: int = 0) -> Yolo:
    """YOLOv8 ``size`` ("n", "s", ...) for boxes or pose.

    ``weights``: "default" (official checkpoint, downloaded once to the torch hub cache),
    "none" (random init from the yaml, seeded by ``seed``) or a path to a ``.pt`` file.
    """
    import torch
    from ultralytics import YOLO
    from ultralytics.nn import tasks

    if not tasks.SAFE_LOAD:  # ultralytics imported before this module, without the switch
        raise RuntimeError("ultralytics was imported without ULTRALYTICS_SAFE_LOAD=1: refusing "
                           "to load YOLO weights with code execution enabled")
    stem = f"yolov8{size}{'-pose' if pose else ''}"
    if weights == "none":
        torch.manual_seed(seed)
        model, pretrained = YOLO(f"{stem}.yaml"), False
    elif weights == "default":
        from utils.download import fetch

        # Through the download layer (mirrors, resume, ACTIONLAB_MIRROR), not ultralytics'.
        path = fetch(f"{YOLO_RELEASE}{stem}.pt",
                     Path(torch.hub.get_dir()) / "checkpoints" / f"{stem}.pt")
        model, pretrained = _load_checkpoint(YOLO, path, weights), True
    else:
        if not Path(weights).is_file():
            raise InputError(f"--weights {weights}: no such file")
        model, pretrained = _load_checkpoint(YOLO, Path(weights), weights), True
    task = "pose" if pose else "detect"
    if model.task != task:
        raise InputError(f"--weights {weights}: a YOLO {model.task!r} model; "
                         f"{'--pose needs' if pose else 'boxes need'} a {task!r} model")
    names = {int(k): str(v) for k, v in model.names.items()}
    if not pretrained:  # a yaml-built model has index names; the classes are COCO's
        names = {0: "person"} if pose else _coco_names()
    return Yolo(model, pose, pretrained, names, weights)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


@dataclass
class IoUTracker:
    """Track IDs by optimal IoU matching between consecutive frames.

    A detection continues the track it overlaps most (IoU >= ``min_iou``, Hungarian assignment
    via scipy); unmatched detections start new tracks; a track unseen for more than ``max_age``
    frames ends. Matching is within a class only.
    """

    min_iou: float = 0.3
    max_age: int = 15
    _tracks: dict[int, tuple[np.ndarray, int, int]] = field(default_factory=dict)
    _next_id: int = 1
    _frame: int = 0

    def update(self, boxes: np.ndarray, classes: Sequence[int] | np.ndarray) -> np.ndarray:
        """IDs (one per row of ``boxes``, xyxy) for this frame."""
        from scipy.optimize import linear_sum_assignment

        self._frame += 1
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        ids = np.full(len(boxes), -1, dtype=np.int64)
        self._tracks = {t: v for t, v in self._tracks.items()
                        if self._frame - v[1] <= self.max_age}
        track_ids = list(self._tracks)
        if track_ids and len(boxes):
            old = np.stack([self._tracks[t][0] for t in track_ids])
            iou = _iou(boxes, old)
            same = np.array([[c == self._tracks[t][2] for t in track_ids] for c in classes])
            iou = np.where(same, iou, 0.0)
            rows, cols = linear_sum_assignment(-iou)
            for r, c in zip(rows, cols, strict=True):
                if iou[r, c] >= self.min_iou:
                    ids[r] = track_ids[c]
        for new in np.flatnonzero(ids < 0):
            ids[new], self._next_id = self._next_id, self._next_id + 1
        for row, tid in enumerate(ids):
            self._tracks[int(tid)] = (boxes[row], self._frame, int(classes[row]))
        return ids


def detect_frame(yolo: Yolo, rgb: np.ndarray, *, conf: float = 0.25, imgsz: int = 640,
                 max_det: int = 100) -> dict[str, np.ndarray]:
    """Boxes (N, 4) xyxy, confidences, class ids and keypoints (N, 17, 3) or None for one frame."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # ultralytics reads numpy images as BGR
    result = yolo.model.predict(bgr, conf=conf, imgsz=imgsz, max_det=max_det, verbose=False,
                                device="cpu")[0]
    boxes = result.boxes
    out = {
        "boxes": boxes.xyxy.cpu().numpy().astype(np.float64),
        "confidence": boxes.conf.cpu().numpy().astype(np.float64),
        "class_id": boxes.cls.cpu().numpy().astype(np.int64),
        "keypoints": None,
    }
    if result.keypoints is not None:
        out["keypoints"] = result.keypoints.data.cpu().numpy().astype(np.float64)
    return out


def to_rows(frame: int, time: float, det: dict[str, np.ndarray], track_ids: np.ndarray,
            yolo: Yolo) -> list[dict[str, Any]]:
    """Table rows (``COLUMNS``) of one frame's detections."""
    rows = []
    kps = det["keypoints"]
    for i, box in enumerate(det["boxes"]):
        row: dict[str, Any] = {
            "frame": frame, "time": time, "track_id": int(track_ids[i]),
            "class_id": int(det["class_id"][i]),
            "class_name": yolo.names.get(int(det["class_id"][i]), str(det["class_id"][i])),
            "confidence": float(det["confidence"][i]),
            "x1": box[0], "y1": box[1], "x2": box[2], "y2": box[3],
        }
        for k, name in enumerate(KEYPOINTS):
            values = kps[i, k] if kps is not None else (np.nan, np.nan, np.nan)
            row[f"{name}_x"], row[f"{name}_y"], row[f"{name}_conf"] = map(float, values)
        row["pretrained"] = yolo.pretrained
        rows.append(row)
    return rows


def _colour(track_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(max(track_id, 0) + 7)
    return tuple(int(c) for c in rng.integers(64, 256, size=3))  # type: ignore[return-value]


def draw(rgb: np.ndarray, rows: Sequence[dict[str, Any]], *, kp_conf: float = 0.5,
         labels: dict[int, str] | None = None) -> np.ndarray:
    """A copy of ``rgb`` with boxes, ``class #id conf`` (or ``labels[track_id]``) and skeletons."""
    out = rgb.copy()
    for row in rows:
        colour = _colour(row["track_id"])
        p1 = int(row["x1"]), int(row["y1"])
        cv2.rectangle(out, p1, (int(row["x2"]), int(row["y2"])), colour, 2)
        text = f"{row['class_name']} #{row['track_id']} {row['confidence']:.2f}"
        if labels and row["track_id"] in labels:
            text = labels[row["track_id"]]
        cv2.putText(out, text, (p1[0], max(p1[1] - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    colour, 1, cv2.LINE_AA)
        points = [(row[f"{k}_x"], row[f"{k}_y"], row[f"{k}_conf"]) for k in KEYPOINTS]
        for a, b in SKELETON:
            (xa, ya, ca), (xb, yb, cb) = points[a], points[b]
            if ca >= kp_conf and cb >= kp_conf:  # NaN compares False: boxes-only rows skip
                cv2.line(out, (int(xa), int(ya)), (int(xb), int(yb)), colour, 2, cv2.LINE_AA)
        for x, y, c in points:
            if c >= kp_conf:
                cv2.circle(out, (int(x), int(y)), 3, colour, -1, cv2.LINE_AA)
    if rows and not rows[0]["pretrained"]:
        cv2.putText(out, "RANDOM WEIGHTS", (4, out.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 0, 0), 1, cv2.LINE_AA)
    return out


def track_frames(yolo: Yolo, frames: Iterator[np.ndarray], fps: float, *,
                 conf: float = 0.25, imgsz: int = 640, max_det: int = 100,
                 tracker: IoUTracker | None = None,
                 ) -> Iterator[tuple[np.ndarray, list[dict[str, Any]]]]:
    """(frame, rows) for every frame: detection + tracking, one frame at a time."""
    tracker = tracker or IoUTracker()
    for index, rgb in enumerate(frames):
        det = detect_frame(yolo, rgb, conf=conf, imgsz=imgsz, max_det=max_det)
        ids = tracker.update(det["boxes"], det["class_id"])
        yield rgb, to_rows(index, index / fps, det, ids, yolo)


def write_table(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """The detections table as CSV or Parquet (by suffix), atomically, columns in ``COLUMNS``."""
    path = Path(path)
    table = pd.DataFrame(list(rows), columns=list(COLUMNS))
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        elif path.suffix == ".csv":
            table.to_csv(tmp, index=False)
        else:
            raise InputError(f"{path}: the table must be .csv or .parquet")
    return path


def run_detect(source: str | int, out_dir: str | Path, *, pose: bool = False,
               weights: str = "default", conf: float = 0.25, imgsz: int = 640,
               max_frames: int | None = None, table_format: str = "csv",
               progress: bool = True) -> dict[str, Any]:
    """Detect (and track) over ``source``; write ``detections.<csv|parquet>``, ``annotated.mp4``
    (or ``annotated.png`` for an image) and ``summary.json`` into ``out_dir``."""
    from tqdm.auto import tqdm

    from utils.deploy.stream import FrameSource, VideoWriter

    if table_format not in ("csv", "parquet"):
        raise InputError(f"--format must be csv or parquet, got {table_format!r}")
    if not 0 <= conf <= 1:  # also NaN
        raise InputError(f"--conf must be a number in [0, 1], got {conf}")
    if imgsz < 32:
        raise InputError(f"--imgsz must be >= 32 pixels, got {imgsz}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"--max-frames must be >= 1, got {max_frames}")
    check_folder_target(out_dir, owned_marker=RUN_MANIFEST)  # before loading anything
    src = FrameSource(source, max_frames=max_frames)
    yolo = load_yolo(pose=pose, weights=weights)
    final = Path(out_dir)
    rows: list[dict[str, Any]] = []
    # written into a fresh folder that replaces out_dir whole, and only once complete
    with staged_run(final) as (out, run_id):
        frames = tqdm(src, total=src.info.num_frames, desc="detect", disable=not progress)
        pairs = track_frames(yolo, iter(frames), src.info.fps, conf=conf, imgsz=imgsz)
        if src.kind == "image":
            rgb, frame_rows = next(pairs)
            rows += frame_rows
            video = "annotated.png"
            with atomic_path(out / video) as tmp:
                cv2.imwrite(str(tmp), cv2.cvtColor(draw(rgb, frame_rows), cv2.COLOR_RGB2BGR))
            n_frames = 1
        else:
            video = "annotated.mp4"
            with VideoWriter(out / video, src.info.fps) as writer:
                for rgb, frame_rows in pairs:
                    rows += frame_rows
                    writer.write(draw(rgb, frame_rows))
                n_frames = writer.frames
        table = write_table(rows, out / f"detections.{table_format}").name
        summary = {
            "source": str(source), "model": f"yolov8n{'-pose' if pose else ''}",
            "weights": weights, "pretrained": yolo.pretrained, "frames": n_frames,
            "fps": src.info.fps, "detections": len(rows),
            "tracks": len({r["track_id"] for r in rows}), "table": final / table,
            "video": final / video, "conf": conf, "imgsz": imgsz, "run_id": run_id,
        }
        write_json(summary, out / "summary.json")
    return summary
