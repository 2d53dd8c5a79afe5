"""write_report on a small synthetic alerts file: every Q1-Q3 output, and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from utils.alerts.curves import CameraCurve
from utils.alerts.files import curve_stem
from utils.alerts.planning import plan_thresholds
from utils.alerts.report import write_report
from utils.alerts.schema import THEFT_LABELS
from utils.alerts.synth import write_synthetic_alerts
from utils.errors import InputError

TARGETS = (0.1, 0.5)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six cameras of a synthetic export (per-camera images dominate the run time): the five
    with most thefts and one without theft, written back in the export's own format."""
    path = write_synthetic_alerts(tmp_path_factory.mktemp("src") / "alerts.csv", seed=3,
                                  n_rows=20_000)
    raw = pd.read_csv(path, sep=";", index_col=0)
    thefts = raw.label.isin(THEFT_LABELS).groupby(raw.store).sum().sort_values()
    keep = [*thefts.index[-5:], thefts.index[0]]
    assert thefts.iloc[0] == 0
    raw[raw.store.isin(keep)].to_csv(path, sep=";")
    return path


@pytest.fixture(scope="module")
def report(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    return out, write_report(source, out, seed=1, targets=TARGETS, n_boot=30, n_perm=30,
                             progress=False)


def test_every_output_is_written(report: tuple[Path, dict]) -> None:
    out, summary = report
    for name in ("validation.txt", "validation.json", "curves_grid.png", "uniformity.csv",
                 "uniformity.md", "forest_auc.png", "forest_ap.png", "rate_vs_auc.png",
                 "fp_at_recall_80.png", "plans.csv", "frontier.json", "frontier.png", "report.json",
                 "plans/plan_10.json", "plans/plan_50.json"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "uniformity.csv", dtype={"store": str, "camera": str})
    slugs = {curve_stem(s, c) for s, c in zip(table.store, table.camera, strict=True)}
    assert {p.stem for p in (out / "cameras").glob("*.png")} == slugs
    assert {p.stem for p in (out / "cameras").glob("*.json")} == slugs
    assert summary == json.loads((out / "report.json").read_text())
    assert summary["cameras"] == {"total": 6, "with_theft": 5, "no_theft": 1,
                                  "fewer_than_30_thefts": int(table.few_thefts.sum())}
    estimable = table[table.estimable]
    if len(estimable):
        assert summary["q2"]["auc"]["max"]["auc"] == estimable.auc.max()
        assert summary["q2"]["auc"]["min"]["store"] == estimable.store[estimable.auc.idxmin()]
    else:
        assert summary["q2"]["auc"] == {"min": None, "max": None}
    assert (out / "uniformity.md").read_text().strip() == summary["q2"]["conclusion"]


def test_plans_are_exact_and_greedy_never_wins(report: tuple[Path, dict]) -> None:
    out, _ = report
    plans = pd.read_csv(out / "plans.csv")
    assert list(plans.target_fp_reduction) == list(TARGETS)
    assert (plans.greedy_gap >= 0).all()
    assert (plans.exact_fp_removed >= plans.target_fp_reduction * plans.fp_before).all()
    plan = json.loads((out / "plans" / "plan_50.json").read_text())
    assert plan["method"] == "exact"
    assert plan["total"]["tp_lost"] == plans.exact_tp_lost.iloc[1]
    assert sum(c["fp_removed"] for c in plan["cameras"]) == plan["total"]["fp_removed"]
    # The per-camera JSON files are complete curves: planning from them gives the same totals.
    curves = [CameraCurve.from_dict(json.loads(p.read_text()))
              for p in (out / "cameras").glob("*.json")]
    assert plan_thresholds(curves, 0.5).to_dict()["total"] == plan["total"]


def test_same_seed_same_files(source: Path, report: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = report
    write_report(source, tmp_path, seed=1, targets=TARGETS, n_boot=30, n_perm=30,
                 progress=False)
    for name in ("uniformity.csv", "uniformity.md", "plans.csv", "report.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_bad_targets_are_refused(source: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="targets"):
        write_report(source, tmp_path, targets=(0.0, 0.5))
