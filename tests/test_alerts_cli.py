"""``actionlab alerts …`` end to end on CSV, Parquet and SQLite: the per-camera job reads only its
camera and agrees across sources, plans combine per-camera summaries, bad input exits 2 with one
line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from utils.alerts.cli import METHOD_CHOICES
from utils.alerts.curves import camera_curves
from utils.alerts.files import curve_stem
from utils.alerts.planning import METHODS, plan_thresholds
from utils.alerts.schema import parse_video_names
from utils.alerts.sources import read_alerts
from utils.alerts.synth import write_synthetic_alerts
from utils.alerts.validate import load_alerts
from utils.cli import main
from utils.errors import InputError
from utils.io import to_jsonable
from utils.paths import REPO_ROOT
from utils.process import run_actionlab

ROWS, SEED = 4_000, 2


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The same synthetic rows as CSV (real layout), Parquet and an SQLite table."""
    folder = tmp_path_factory.mktemp("sources")
    csv = write_synthetic_alerts(folder / "alerts.csv", seed=SEED, n_rows=ROWS)
    raw = read_alerts(csv)
    raw["probability"] = pd.to_numeric(raw["probability"])
    raw.to_parquet(folder / "alerts.parquet", index=False)
    engine = sa.create_engine(f"sqlite:///{folder / 'alerts.db'}")
    raw.to_sql("alerts_2024", engine, index=False)
    engine.dispose()
    return {"csv": str(csv), "parquet": str(folder / "alerts.parquet"),
            "sqlite": f"sqlite:///{folder / 'alerts.db'}"}


@pytest.fixture(scope="module")
def clean(sources: dict[str, str]) -> pd.DataFrame:
    return load_alerts(sources["csv"])[0]


def _source_args(sources: dict[str, str], kind: str) -> list[str]:
    table = ["--table", "alerts_2024"] if kind == "sqlite" else []
    return ["--source", sources[kind], *table]


def _cameras(clean: pd.DataFrame) -> list[tuple[str, str]]:
    """Three cameras worth checking: most thefts, one without theft, the numeric-looking store."""
    thefts = clean.groupby(["store", "camera"])["is_theft"].sum()
    numeric = next(k for k in thefts.index if k[0] == "00417")
    return [thefts.idxmax(), thefts[thefts == 0].index[0], numeric]


def test_synth_command_writes_the_generator_output(sources: dict[str, str],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    assert main(["data", "synth", "alerts", "--out", str(out), "--seed", str(SEED),
                 "--rows", str(ROWS)]) == 0
    assert out.read_bytes() == Path(sources["csv"]).read_bytes()


def test_validate_prints_the_report(sources: dict[str, str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, report = load_alerts(sources["csv"])
    assert main(["alerts", "validate", "--source", sources["csv"]]) == 0
    assert capsys.readouterr().out == report.to_text() + "\n"
    assert main(["alerts", "validate", "--source", sources["csv"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == to_jsonable(report.to_dict())


def test_curve_job_agrees_across_sources(sources: dict[str, str], clean: pd.DataFrame,
                                         tmp_path: Path) -> None:
    expected = {c.key: c.to_dict() for c in camera_curves(clean)}
    for store, camera in _cameras(clean):
        stem = curve_stem(store, camera)
        results = []
        for kind in sources:
            out = tmp_path / kind
            assert main(["alerts", "curve", *_source_args(sources, kind), "--store", store,
                         "--camera", camera, "--out", str(out)]) == 0
            assert (out / f"{stem}.png").stat().st_size > 1000
            results.append(json.loads((out / f"{stem}.json").read_text()))
        validation = [r.pop("validation") for r in results]
        assert results[0] == results[1] == results[2] == expected[(store, camera)]
        n_rows = int(((clean["store"] == store) & (clean["camera"] == camera)).sum())
        assert [v["kept"] for v in validation] == [n_rows] * 3
        assert {v["rows"] - v["excluded"] for v in validation} == {n_rows}


def test_plan_from_curve_summaries_equals_plan_from_the_rows(
        sources: dict[str, str], clean: pd.DataFrame, tmp_path: Path) -> None:
    picked = _cameras(clean)
    for store, camera in picked:
        assert main(["alerts", "curve", "--source", sources["parquet"], "--store", store,
                     "--camera", camera, "--out", str(tmp_path / "curves")]) == 0
    out = tmp_path / "plan.json"
    assert main(["alerts", "plan", "--curves", str(tmp_path / "curves"),
                 "--target-fp-reduction", "0.4", "--out", str(out)]) == 0
    plan = json.loads(out.read_text())
    subset = clean[[(s, c) in set(picked) for s, c in zip(clean.store, clean.camera,
                                                          strict=True)]]
    assert plan == to_jsonable(plan_thresholds(camera_curves(subset), 0.4).to_dict())
    assert len(plan["cameras"]) == 3
    assert plan["total"]["fp_removed"] >= 0.4 * plan["total"]["fp_before"]


@pytest.mark.parametrize("kind", ["csv", "parquet", "sqlite"])
def test_plan_from_a_source(kind: str, sources: dict[str, str], clean: pd.DataFrame,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "plan", *_source_args(sources, kind), "--target-fp-reduction", "0.3",
                 "--method", "greedy"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan == to_jsonable(plan_thresholds(camera_curves(clean), 0.3, "greedy").to_dict())
    assert len(plan["cameras"]) == 45
    assert all(np.isfinite(c["threshold"]) for c in plan["cameras"])


# Bad input of every alerts command: the tables of tests/test_alerts_bad_input.py.


def test_as_a_separate_process(sources: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "utils", "alerts", "validate", "--source",
                           sources["csv"]], capture_output=True, text=True, cwd=REPO_ROOT,
                          check=False)
    assert done.returncode == 0 and done.stdout.startswith(f"Alerts source: {sources['csv']}")
    out = run_actionlab("alerts", "plan", "--source", sources["parquet"],
                        "--target-fp-reduction", "0.2", "--out", tmp_path / "p.json")
    assert "exact plan for 20% FP reduction over 45 cameras" in out
    assert json.loads((tmp_path / "p.json").read_text())["target_fp_reduction"] == 0.2
    with pytest.raises(InputError, match=r"exited 2: actionlab: error: .*no such file"):
        run_actionlab("alerts", "validate", "--source", tmp_path / "missing.csv")


def test_report_command_writes_the_report(sources: dict[str, str], clean: pd.DataFrame,
                                          tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Three cameras keep it quick: write_report's own tests cover the full content.
    raw = read_alerts(sources["csv"])
    picked = set(_cameras(clean))
    camera = parse_video_names(raw["video_name"])["camera"]
    keep = [key in picked for key in zip(raw["store"], camera, strict=True)]
    raw[keep].to_csv(tmp_path / "three.csv", sep=";")
    assert main(["alerts", "report", "--source", str(tmp_path / "three.csv"), "--out",
                 str(tmp_path / "report"), "--n-boot", "20", "--n-perm", "20", "--seed", "3"]) == 0
    summary = json.loads((tmp_path / "report" / "report.json").read_text())
    assert summary["validation"]["rows"] == sum(keep) and summary["cameras"]["total"] == 3
    assert {k: summary["settings"][k] for k in ("seed", "n_boot", "n_perm")} == {
        "seed": 3, "n_boot": 20, "n_perm": 20}
    assert f"report written to {tmp_path / 'report'}" in capsys.readouterr().out


def test_method_choices_are_the_planner_methods() -> None:
    # Spelled out in the CLI so that `actionlab --help` does not import numpy and pandas.
    assert METHOD_CHOICES == METHODS
