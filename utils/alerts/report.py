"""Every figure and table of lab 3's questions, written in one call (``actionlab alerts report``).

Layout of ``out_dir``::

    validation.txt / validation.json     what was read, excluded and why (counted and named)
    cameras/<store>_camera_<id>.png/.json  Q1: #FP = f(recall) per camera and its curve (the
                                         layout of ``alerts curve``, read by ``alerts plan``)
    curves_grid.png                      Q1: all cameras at a glance (no-theft cameras marked)
    uniformity.csv / uniformity.md       Q2: per-camera table and the generated conclusion
    forest_auc.png, forest_ap.png, rate_vs_auc.png, fp_at_recall_80.png
    plans/plan_<pct>.json                Q3: exact per-camera thresholds for each target
    plans.csv                            Q3: exact vs greedy TP lost per target
    frontier.json / frontier.png         Q3: min TP lost for every achievable FP removed
    report.json                          the key numbers of all three questions
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from utils.errors import InputError
from utils.io import atomic_path, save_figure, staged_folder, to_jsonable, write_json

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve

TARGETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    save_figure(fig, path)
    plt.close(fig)
    return path.name


def _write_text(text: str, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text if text.endswith("\n") else text + "\n")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _auc_summary(table: pd.DataFrame) -> dict[str, Any]:
    rated = table[table["estimable"]].sort_values("auc")  # cameras with an interval only
    if rated.empty:
        return {"min": None, "max": None}
    pick = ["store", "camera", "auc", "auc_low", "auc_high", "n_thefts"]
    return {"min": rated.iloc[0][pick].to_dict(), "max": rated.iloc[-1][pick].to_dict()}


def write_camera_files(curve: CameraCurve, out_dir: str | Path,
                       extra: dict[str, Any] | None = None) -> Path:
    """One camera's #FP = f(recall) image and curve JSON (plus ``extra`` keys, which
    ``CameraCurve.from_dict`` ignores), named so ``alerts plan --curves`` reads the folder.
    Returns the image path."""
    from utils.alerts.files import check_owner, curve_stem
    from utils.alerts.plots import plot_camera_curve

    stem = Path(out_dir) / curve_stem(curve.store, curve.camera)
    check_owner(stem.with_name(f"{stem.name}.json"), curve.store, curve.camera)
    _save(plot_camera_curve(curve), stem.with_name(f"{stem.name}.png"))
    write_json({**curve.to_dict(), **(extra or {})}, stem.with_name(f"{stem.name}.json"))
    return stem.with_name(f"{stem.name}.png")


def write_camera_curves(curves: Sequence[CameraCurve], out_dir: str | Path, *,
                        progress: bool = True) -> list[Path]:
    """Q1 files for every camera (see :func:`write_camera_files`). Returns the images."""
    from utils.alerts.files import check_stems
    from utils.alerts.progress import progress_bar

    check_stems(curve.key for curve in curves)
    return [write_camera_files(curve, out_dir)
            for curve in progress_bar(curves, desc="camera curves", unit="camera",
                                      disable=not progress)]


def write_report(source: str | Path, out_dir: str | Path, *, table: str = "alerts",
                 seed: int = 0, targets: Sequence[float] = TARGETS, n_boot: int = 1000,
                 n_perm: int = 1000, min_thefts: int | None = None,
                 recalls: Sequence[float] | None = None, progress: bool = True,
                 engine: str = "local", scheduler: str | None = None,
                 scratch: str | None = None) -> dict[str, Any]:
    """Load ``source`` (CSV, Parquet, Parquet dataset or SQL URL; ``table`` for SQL), answer
    Q1-Q3 into ``out_dir`` and return the key numbers as plain JSON values (also in
    ``report.json``). ``engine="dask"``: a dataset is read and validated on Dask (``scheduler``,
    ``scratch``),
    with the same files as a result (:func:`utils.alerts.rows.analysis_rows`).

    Deterministic: the same ``seed`` gives identical files. ``min_thefts`` (default
    :data:`utils.alerts.uniformity.MIN_THEFTS_FOR_CI`): fewest thefts for an AUC interval.
    The run is written into a fresh folder that replaces ``out_dir`` only when complete
    (:func:`utils.io.staged_folder`), so ``out_dir`` always holds exactly one whole run.
    """
    bad = [t for t in targets if not 0 < t <= 1]
    if bad or not targets:
        raise InputError(f"targets must be fractions in (0, 1], got {list(targets)}")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    for name, value in (("--n-boot", n_boot), ("--n-perm", n_perm)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    from utils.alerts.engines import check_engine

    check_engine(engine, scheduler, scratch)
    with staged_folder(out_dir, owned_marker="report.json") as out:
        return _write_report(source, out, table=table, seed=seed, targets=targets,
                             n_boot=n_boot, n_perm=n_perm, min_thefts=min_thefts,
                             recalls=recalls, progress=progress, engine=engine,
                             scheduler=scheduler, scratch=scratch)


def _write_report(source: str | Path, out: Path, *, table: str, seed: int,
                  targets: Sequence[float], n_boot: int, n_perm: int, min_thefts: int | None,
                  recalls: Sequence[float] | None, progress: bool, engine: str,
                  scheduler: str | None, scratch: str | None) -> dict[str, Any]:
    from utils.alerts.conclusion import conclusion
    from utils.alerts.curves import camera_curves
    from utils.alerts.planning import exact_frontier, plan_thresholds
    from utils.alerts.plots import (
        plot_curve_grid,
        plot_forest,
        plot_fp_at_recall,
        plot_frontiers,
        plot_rate_vs_auc,
    )
    from utils.alerts.rows import analysis_rows
    from utils.alerts.uniformity import (
        MIN_THEFTS_FOR_CI,
        RECALL_TARGETS,
        camera_table,
        global_threshold_cost,
        heterogeneity,
        recall_column,
    )
    recalls = tuple(recalls or RECALL_TARGETS)
    clean, validation, _ = analysis_rows(source, table=table, engine=engine, scheduler=scheduler,
                                         scratch=scratch)
    if clean.empty:
        raise InputError(f"{validation.source}: no usable alert row after validation")
    _write_text(validation.to_text(), out / "validation.txt")
    write_json(validation.to_dict(), out / "validation.json")

    # Q1: one #FP = f(recall) curve per camera.
    curves = camera_curves(clean)
    write_camera_curves(curves, out / "cameras", progress=progress)
    _save(plot_curve_grid(curves), out / "curves_grid.png")

    # Q2: uniformity across cameras.
    if min_thefts is None:
        min_thefts = MIN_THEFTS_FOR_CI
    uni = camera_table(clean, n_boot=n_boot, seed=seed, min_thefts=min_thefts, recalls=recalls,
                       progress=progress)
    het = heterogeneity(clean, n_perm=n_perm, seed=seed, progress=progress)
    cost = global_threshold_cost(clean, 0.8) if uni["tp_before"].sum() > 0 else None
    text = conclusion(uni, het, cost=cost, min_thefts=min_thefts)
    _write_csv(uni, out / "uniformity.csv")
    _write_text(text, out / "uniformity.md")
    figures = [_save(plot_forest(uni, "auc"), out / "forest_auc.png"),
               _save(plot_forest(uni, "ap"), out / "forest_ap.png"),
               _save(plot_rate_vs_auc(uni), out / "rate_vs_auc.png")]
    if 0.8 in recalls:
        figures.append(_save(plot_fp_at_recall(uni, 0.8), out / "fp_at_recall_80.png"))

    # Q3: exact per-camera thresholds for each target, and what the greedy heuristic loses.
    frontier = exact_frontier(curves, progress=progress)
    exact_plans = frontier.plans(targets)
    greedy_plans = [plan_thresholds(curves, target, "greedy") for target in targets]
    rows = []
    for exact, greedy in zip(exact_plans, greedy_plans, strict=True):
        write_json(exact.to_dict(),
                   out / "plans" / f"plan_{round(100 * exact.target_fp_reduction):02d}.json")
        rows.append({"target_fp_reduction": exact.target_fp_reduction,
                     "fp_before": exact.fp_before, "tp_before": exact.tp_before,
                     "exact_fp_removed": exact.fp_removed, "exact_tp_lost": exact.tp_lost,
                     "greedy_fp_removed": greedy.fp_removed, "greedy_tp_lost": greedy.tp_lost,
                     "greedy_gap": greedy.tp_lost - exact.tp_lost})
    plans = pd.DataFrame(rows)
    _write_csv(plans, out / "plans.csv")
    write_json(frontier.to_dict(), out / "frontier.json")
    figures.append(_save(plot_frontiers(frontier, {"exact": exact_plans, "greedy": greedy_plans}),
                         out / "frontier.png"))

    summary: dict[str, Any] = {
        "source": validation.source,
        "validation": validation.to_dict(),
        "cameras": {"total": len(uni), "with_theft": int((~uni["no_theft"]).sum()),
                    "no_theft": int(uni["no_theft"].sum()),
                    f"fewer_than_{min_thefts}_thefts": int(uni["few_thefts"].sum())},
        "q2": {"auc": _auc_summary(uni), "heterogeneity": het.to_dict(),
               "fp_at_recall": {recall_column(r): float(np.nansum(uni[recall_column(r)]))
                                for r in recalls},
               "global_threshold_cost": cost.to_dict() if cost else None,
               "conclusion": text},
        "q3": plans.to_dict(orient="records"),
        "settings": {"seed": seed, "n_boot": n_boot, "n_perm": n_perm,
                     "min_thefts": min_thefts, "targets": list(targets),
                     "recalls": list(recalls)},
        "figures": ["curves_grid.png", *figures],
    }
    summary = to_jsonable(summary)
    write_json(summary, out / "report.json")
    return summary
