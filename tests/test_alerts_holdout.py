"""Lab-3 honesty checks: temporal hold-out, the per-camera floor in `plan`, where an extra loss
falls, the overlap of exclusion reasons, and the light lab-3 install."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from utils.alerts.conclusion import extra_loss_text
from utils.alerts.curves import camera_curves
from utils.alerts.holdout import apply_plan, holdout_text, split_in_time, temporal_holdout
from utils.alerts.planning import (
    apply_floor,
    exact_frontier,
    plan_thresholds,
    without_theft_share,
)
from utils.alerts.synth import synthetic_alerts
from utils.alerts.validate import prepare
from utils.cli import main
from utils.errors import InputError
from utils.paths import REPO_ROOT

TARGETS = [0.1, 0.3, 0.5, 0.7]


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return prepare(synthetic_alerts(seed=1, n_rows=20_000))[0]


def test_holdout_plans_on_earlier_weeks_and_counts_later_ones(clean: pd.DataFrame) -> None:
    table = temporal_holdout(clean, TARGETS)
    split = split_in_time(clean)
    assert split.cutoff.day_of_week == 0 and split.cutoff == pd.Timestamp(table.attrs["cutoff"])
    times = pd.to_datetime(split.train.start_time, format="%Y-%m-%d_%Hh%Mm%Ss")
    assert times.max() < split.cutoff and len(split.train) + len(split.test) == len(clean)
    plans = exact_frontier(camera_curves(split.train), progress=False).plans(TARGETS)
    for row, plan in zip(table.itertuples(), plans, strict=True):
        # Promise: the plan's own totals on the earlier weeks, which meet the target there.
        assert row.train_fp_removed_pct == pytest.approx(100 * plan.fp_removed / plan.fp_before)
        assert row.train_fp_removed_pct >= 100 * row.target - 1e-9
        # Measurement: the thresholds recounted by hand on the later rows.
        t = np.array([plan.thresholds().get(k, 0.0) for k in zip(split.test.store,
                                                                  split.test.camera,
                                                                  strict=True)])
        p, y = split.test.probability.to_numpy(), split.test.is_theft.to_numpy()
        removed = (p >= 0) & (p < t)
        fp_before = int(((p >= 0) & ~y).sum())
        assert row.test_fp_removed_pct == pytest.approx(100 * (removed & ~y).sum() / fp_before)
        assert row.test_tp_lost == int((removed & y).sum())
        if row.test_fp_removed_pct >= 100 * row.target:
            assert row.planned_target_needed == row.target
        elif np.isfinite(row.planned_target_needed):
            needed = exact_frontier(camera_curves(split.train), progress=False).plan(
                row.planned_target_needed)
            assert apply_plan(needed, split.test)[0] >= row.target * fp_before
    text = holdout_text(table)
    first = table.iloc[0]
    assert (f"{first.test_fp_removed_pct:.1f} % (promised {first.train_fp_removed_pct:.1f} %) "
            "for the 10% target") in text
    more = table.test_tp_lost_pct - table.train_tp_lost_pct
    assert f"by {more.min():+.1f} to {more.max():+.1f} percentage points" in text
    assert f"{table.attrs['test_rows']:,} rows from then on" in text


def test_holdout_bad_cutoff(clean: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="leaves no row"):
        temporal_holdout(clean, [0.3], cutoff="2030-01-07")


def test_floor_limits_thresholds_and_costs_thefts(clean: pd.DataFrame) -> None:
    curves = camera_curves(clean)
    free = plan_thresholds(curves, 0.3)
    capped = plan_thresholds(curves, 0.3, max_threshold=0.4)
    assert all(c.threshold <= 0.4 for c in capped.cameras)
    assert capped.fp_removed >= capped.fp_needed and capped.tp_lost >= free.tp_lost
    # The capped plan is the exact optimum over the thresholds the floor allows.
    floored = apply_floor(curves, max_threshold=0.4)
    assert capped.tp_lost == exact_frontier(floored, progress=False).min_tp_lost(
        capped.fp_needed) > free.tp_lost
    assert all(f.thresholds.max() <= 0.4 for f in floored)
    kept = plan_thresholds(curves, 0.3, min_recall=0.9)
    by_key = {c.key: c for c in curves}
    for cam in kept.cameras:
        c = by_key[(cam.store, cam.camera)]
        if c.tp_before:
            assert c.tp_before - cam.tp_lost >= 0.9 * c.tp_before - 1e-9
    with pytest.raises(InputError, match="unreachable"):
        plan_thresholds(curves, 0.95, max_threshold=0.01)
    with pytest.raises(InputError, match="min_recall"):
        apply_floor(curves, min_recall=1.5)


def test_without_theft_share_counts_the_empty_cameras(clean: pd.DataFrame) -> None:
    curves = camera_curves(clean)
    plan = plan_thresholds(curves, 0.3)
    share = without_theft_share(plan, curves)
    empty = {c.key for c in curves if c.tp_before == 0}
    by_hand = sum(c.fp_removed for c in plan.cameras if (c.store, c.camera) in empty)
    assert share["cameras"] == len(empty) == 6
    assert share["fp_removed"] == by_hand > 0
    assert share["share_of_fp_removed"] == pytest.approx(by_hand / plan.fp_removed)


def test_plan_cli_floor_flags(clean: pd.DataFrame, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "alerts.parquet"
    synthetic_alerts(seed=1, n_rows=20_000).to_parquet(src)
    assert main(["alerts", "plan", "--source", str(src), "--target-fp-reduction", "0.3",
                 "--max-threshold", "0.4"]) == 0
    plan = json.loads(capsys.readouterr().out)
    expected = plan_thresholds(camera_curves(clean), 0.3, max_threshold=0.4)
    assert plan["total"]["tp_lost"] == expected.tp_lost
    assert plan["floor"] == {"max_threshold": 0.4, "min_recall": None}
    assert main(["alerts", "plan", "--source", str(src), "--target-fp-reduction", "0.3",
                 "--min-recall", "2"]) == 2
    assert "min_recall must be in [0, 1]" in capsys.readouterr().err


def test_extra_loss_text_is_written_from_the_numbers(clean: pd.DataFrame) -> None:
    curves = camera_curves(clean)
    low, high = plan_thresholds(curves, 0.1).to_dict(), plan_thresholds(curves, 0.7).to_dict()
    text = extra_loss_text(low, high, clean)
    base = {(c["store"], c["camera"]): c["tp_lost"] for c in low["cameras"]}
    extra = {(c["store"], c["camera"]): c["tp_lost"] - base[(c["store"], c["camera"])]
             for c in high["cameras"]}
    auc = {k: roc_auc_score(g.is_theft, g.probability)
           for k, g in clean.groupby(["store", "camera"]) if 0 < g.is_theft.sum() < len(g)}
    keys = [k for k in extra if k in auc]
    rho, _ = spearmanr([auc[k] for k in keys], [extra[k] for k in keys])
    total = high["total"]["tp_lost"] - low["total"]["tp_lost"]
    assert f"The {total} extra thefts lost" in text
    assert f"Spearman correlation between a camera's AUC and its extra loss: {rho:+.2f}" in text
    assert extra_loss_text(low, low, clean) == "The higher target loses no extra theft."


def test_exclusion_overlap_is_explained() -> None:
    # The synthetic file has one row without label, which also lacks a probability.
    _, report = prepare(synthetic_alerts(seed=0, n_rows=2_000))
    listed = sum(i.count for i in report.issues.values() if i.excluded)
    assert listed == report.excluded + 1
    assert (f"they list {listed:,} reasons for {report.excluded:,} excluded rows, because 1 "
            "reason(s) fall on a row already excluded") in report.to_text()
    assert f"{report.normals:,} normal rows (rows with probability < 0 included" in (
        report.to_text())


def test_lab3_extra_is_enough_for_lab3() -> None:
    """The Colab cell of lab 3 installs only the `lab3` extra: everything lab 3 imports must
    work with every other runtime requirement missing (torch, the video stack...)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extra = {r.split(">")[0].split("=")[0].lower() for r in
             project["optional-dependencies"]["lab3"]}
    required = {line.split(">")[0].split("=")[0].strip().lower()
                for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert extra - {"nbformat"} <= required
    modules = {"torch": "torch", "torchvision": "torchvision", "pytorchvideo": "pytorchvideo",
               "av": "av", "opencv-python": "cv2", "ultralytics": "ultralytics",
               "onnx": "onnx", "onnxruntime": "onnxruntime",
               "yt-dlp": "yt_dlp", "papermill": "papermill", "nbgrader": "nbgrader"}
    blocked = [modules[r] for r in required - extra if r in modules]
    assert "torch" in blocked and "cv2" in blocked
    # A finder that refuses the blocked packages, as if they were not installed.
    code = ("import importlib.abc, sys\n"
            "class Missing(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {blocked!r}:\n"
            "            raise ImportError(f'{name} is not installed')\n"
            "sys.meta_path.insert(0, Missing())\n"
            "from utils.alerts import curves, holdout, planning, plots, sources, synth, "
            "uniformity, validate\nfrom utils.process import run_actionlab\n"
            "from utils.alerts.report import write_camera_curves\n"
            "from utils.cli import build_parser\nbuild_parser()\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
