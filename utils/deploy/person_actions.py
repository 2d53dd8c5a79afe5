"""Per-person actions: an action label above each tracked person.

YOLO person boxes are linked into tracks (:mod:`utils.deploy.detect`); each track keeps the crops of
its last window of frames (a square around the box, so the person is not squashed), and every
``stride`` frames the recogniser runs on each track whose window is full. The label drawn above
a box is that track's latest top-1. This runs in one loop (detector, then recogniser, then the
writer), so it is an offline tool for files; the live demo of :mod:`utils.deploy.live` is the
non-blocking one for a whole frame.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from utils.deploy.detect import PERSON, IoUTracker, detect_frame, draw, load_yolo, to_rows
from utils.deploy.live import Recogniser, clip_from_frames, window_indices, window_length
from utils.io import write_json


def square_crop(rgb: np.ndarray, box: tuple[float, float, float, float],
                margin: float = 0.1) -> np.ndarray:
    """The square around ``box`` (x1, y1, x2, y2) enlarged by ``margin``, padded with black where
    it leaves the frame, so every crop of a track has the person at the same scale."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(2, round(side))
    out = np.zeros((size, size, 3), np.uint8)
    h, w = rgb.shape[:2]
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + size, w), min(top + size, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = rgb[sy0:sy1, sx0:sx1]
    return out


def run_person_actions(recogniser: Recogniser, source: str | int, out: str | Path, *,
                       yolo_weights: str = "default", conf: float = 0.25, imgsz: int = 640,
                       stride: int = 8, crop_size: int = 128, max_frames: int | None = None,
                       ) -> dict[str, Any]:
    """Annotate ``source`` with each person's track id and action; write ``out`` (MP4, the
    input's frame count and rate) and ``<out>.json`` (every per-track prediction)."""
    import cv2

    from utils.deploy.stream import FrameSource, VideoWriter

    src = FrameSource(source, max_frames=max_frames)
    yolo = load_yolo(pose=False, weights=yolo_weights)
    tracker = IoUTracker()
    length = window_length(recogniser.preset, src.info.fps)
    picks = window_indices(length, recogniser.preset.num_frames)
    crops: dict[int, deque[np.ndarray]] = {}
    labels: dict[int, str] = {}
    predictions: list[dict[str, Any]] = []
    with VideoWriter(out, src.info.fps) as writer:
        for index, rgb in enumerate(src):
            det = detect_frame(yolo, rgb, conf=conf, imgsz=imgsz)
            keep = det["class_id"] == PERSON
            det = {k: (v[keep] if v is not None else None) for k, v in det.items()}
            ids = tracker.update(det["boxes"], det["class_id"])
            rows = to_rows(index, index / src.info.fps, det, ids, yolo)
            for row in rows:
                crop = square_crop(rgb, (row["x1"], row["y1"], row["x2"], row["y2"]))
                buffer = crops.setdefault(row["track_id"], deque(maxlen=length))
                buffer.append(cv2.resize(crop, (crop_size, crop_size)))
                if len(buffer) == length and index % stride == 0:
                    probs = recogniser(clip_from_frames([buffer[i] for i in picks],
                                                        recogniser.preset))[0]
                    top = int(probs.argmax())
                    label = recogniser.labels[top]
                    labels[row["track_id"]] = f"#{row['track_id']} {label} {float(probs[top]):.2f}"
                    predictions.append({"frame": index, "track_id": row["track_id"],
                                        "label": label, "prob": float(probs[top])})
            shown = {r["track_id"]: labels.get(r["track_id"], f"#{r['track_id']} ...")
                     for r in rows}
            writer.write(draw(rgb, rows, labels=shown))
        frames = writer.frames
    summary = {"source": str(source), "frames": frames, "fps": src.info.fps,
               "window_frames": length, "stride": stride, "yolo_pretrained": yolo.pretrained,
               "recogniser_pretrained": getattr(recogniser, "pretrained", None),
               "tracks": sorted(crops), "predictions": predictions, "video": out}
    write_json(summary, Path(out).with_suffix(".json"))
    return summary
