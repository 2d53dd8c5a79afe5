"""YOLO boxes/pose table, IoU tracker and annotated video, offline (yaml, random weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from utils.deploy import detect
from utils.errors import InputError
from utils.video.io import probe, write_video

N_FRAMES, FPS = 6, 12.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A square moving right over a grey background, 96x64 at 12 fps."""
    frames = np.full((N_FRAMES, 64, 96, 3), 90, np.uint8)
    for t in range(N_FRAMES):
        frames[t, 16:48, 8 + 6 * t:40 + 6 * t] = (200, 40, 40)
    return write_video(tmp_path_factory.mktemp("det") / "walk.mp4", frames, FPS)


def test_tracker_keeps_ids_through_motion_and_ends_stale_tracks() -> None:
    tracker = detect.IoUTracker(min_iou=0.3, max_age=1)
    a, b = [0, 0, 10, 10], [50, 50, 60, 60]
    assert tracker.update(np.array([a, b]), [0, 0]).tolist() == [1, 2]
    # Both move by 2 px (IoU 8*10/(120) = 0.67 >= 0.3); order of detections swapped.
    moved = np.array([[52, 50, 62, 60], [2, 0, 12, 10]])
    assert tracker.update(moved, [0, 0]).tolist() == [2, 1]
    # A different class at the same place is a new track.
    assert tracker.update(np.array([[2, 0, 12, 10]]), [5]).tolist() == [3]
    # Track 2 was last seen 2 frames ago (> max_age=1): its box starts a new track.
    assert tracker.update(np.array([[52, 50, 62, 60]]), [0]).tolist() == [4]


def test_iou_matches_hand_computed_value() -> None:
    iou = detect._iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[50 / 150, 0.0]])


@pytest.mark.parametrize("pose", [False, True], ids=["boxes", "pose"])
def test_run_detect_writes_table_and_video(video: Path, tmp_path: Path, pose: bool) -> None:
    fmt = "parquet" if pose else "csv"
    # A random-weight model scores ~1e-4 (boxes) / 1e-2 (pose): a tiny threshold makes rows.
    summary = detect.run_detect(video, tmp_path, pose=pose, weights="none", conf=1e-5,
                                imgsz=96, table_format=fmt, progress=False)
    table = (pd.read_parquet if pose else pd.read_csv)(tmp_path / f"detections.{fmt}")
    assert tuple(table.columns) == detect.COLUMNS
    assert len(table) == summary["detections"] > 0
    assert set(table["frame"]) <= set(range(N_FRAMES))
    np.testing.assert_allclose(table["time"], table["frame"] / FPS)
    assert not table["pretrained"].any() and summary["pretrained"] is False
    assert (table["x2"] >= table["x1"]).all() and (table["y2"] >= table["y1"]).all()
    kp = table[[f"{k}_{p}" for k in detect.KEYPOINTS for p in ("x", "y", "conf")]]
    assert kp.notna().all().all() if pose else kp.isna().all().all()
    if pose:
        assert set(table["class_name"]) == {"person"}
    assert (table["track_id"] >= 1).all()
    info = probe(tmp_path / "annotated.mp4")
    assert info.num_frames == N_FRAMES and info.fps == pytest.approx(FPS)
    assert (info.width, info.height) == (96, 64)


def test_detect_frame_rows_match_the_model_output(video: Path) -> None:
    yolo = detect.load_yolo(pose=True, weights="none")
    rgb = np.full((64, 96, 3), 90, np.uint8)
    det = detect.detect_frame(yolo, rgb, conf=1e-3, imgsz=96)
    rows = detect.to_rows(3, 0.25, det, np.arange(len(det["boxes"])) + 1, yolo)
    assert len(rows) == len(det["boxes"])
    for row, box, kps in zip(rows, det["boxes"], det["keypoints"], strict=True):
        assert [row["x1"], row["y1"], row["x2"], row["y2"]] == box.tolist()
        assert row["right_ankle_x"] == kps[16, 0] and row["nose_conf"] == kps[0, 2]


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.mp4: no such file"):
        detect.run_detect(tmp_path / "missing.mp4", tmp_path, weights="none")
    with pytest.raises(InputError, match=r"--weights nope\.pt: no such file"):
        detect.load_yolo(weights="nope.pt")
    with pytest.raises(InputError, match=r"csv or \.parquet"):
        detect.write_table([], tmp_path / "x.txt")


def test_detect_cli(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from utils.cli import main

    with pytest.raises(SystemExit) as done:
        main(["detect", "--help"])
    assert done.value.code == 0 and "detections.csv" in capsys.readouterr().out
    assert main(["detect", "--source", str(tmp_path / "gone.mp4"), "--out", str(tmp_path)]) == 2
    assert "gone.mp4: no such file" in capsys.readouterr().err
    code = main(["detect", "--source", str(video), "--pose", "--weights", "none", "--conf",
                 "1e-5", "--imgsz", "64", "--max-frames", "3", "--out", str(tmp_path / "o")])
    assert code == 0
    table = pd.read_csv(tmp_path / "o" / "detections.csv")
    assert tuple(table.columns) == detect.COLUMNS and set(table["frame"]) <= {0, 1, 2}
    assert probe(tmp_path / "o" / "annotated.mp4").num_frames == 3


def test_square_crop_pads_outside_the_frame() -> None:
    from utils.deploy.person_actions import square_crop

    rgb = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    crop = square_crop(rgb, (0, 0, 4, 2), margin=0.0)  # side 4 centred at (2, 1)
    assert crop.shape == (4, 4, 3)
    np.testing.assert_array_equal(crop[1:], rgb[0:3, 0:4])
    assert not crop[0].any()  # row -1 is outside the frame


def test_person_actions_label_every_tracked_person(tmp_path: Path) -> None:
    import torch

    from utils.deploy.live import zoo_recogniser
    from utils.deploy.person_actions import run_person_actions

    frames = np.full((16, 64, 96, 3), 90, np.uint8)
    frames[:, 16:48, 30:60] = (200, 40, 40)  # a still scene: random-weight boxes stay put
    video = write_video(tmp_path / "still.mp4", frames, FPS)
    torch.manual_seed(0)
    recogniser = zoo_recogniser("tiny3d", weights=None, labels=["clapping", "smoking"])
    out = tmp_path / "people.mp4"
    summary = run_person_actions(recogniser, video, out, yolo_weights="none", conf=1e-5,
                                 imgsz=96, stride=1, max_frames=16)
    assert probe(out).num_frames == summary["frames"] == 16
    # tiny3d's window (8 frames x 4 at 30 fps) is 13 frames at 12 fps: frames 12-15 label the
    # tracks that lasted that long.
    assert summary["window_frames"] == 13
    assert summary["predictions"] and summary["yolo_pretrained"] is False
    assert {p["frame"] for p in summary["predictions"]} <= {12, 13, 14, 15}
    assert {p["track_id"] for p in summary["predictions"]} <= set(summary["tracks"])
    assert {p["label"] for p in summary["predictions"]} <= {"clapping", "smoking"}
