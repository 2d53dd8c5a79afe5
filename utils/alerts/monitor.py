"""``actionlab alerts monitor``: the weekly drift table, its heat map and a generated report.

Layout of ``out_dir`` (written whole or not at all, :func:`utils.io.staged_folder`)::

    drift.csv       one row per camera and monitored week (:func:`utils.alerts.drift.weekly_drift`)
    alarms.csv      per camera: first alarm week, weeks alarmed (score / volume)
    heatmap.png     PSI per camera (rows) and week (columns); alarms marked
    report.md       the findings, written from the numbers
    monitor.json    settings and key numbers
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from utils.alerts.drift import AlarmRule, first_alarms, weekly_drift
from utils.errors import InputError


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def monitor_text(table: pd.DataFrame, alarms: pd.DataFrame, rule: AlarmRule, *,
                 reference: tuple[str, str], undated: int) -> str:
    """The report, every sentence from the numbers of ``table`` and ``alarms``."""
    weeks = sorted(table["week"].unique())
    cameras = len(alarms)
    hit = alarms[alarms["weeks_alarmed"] > 0].sort_values(["first_alarm", "store", "camera"])
    lines = [
        "# Drift monitoring",
        "",
        f"Reference window: weeks starting {reference[0]} to {reference[1]}. Monitored: "
        f"{len(weeks)} week(s) from {_day(weeks[0])} to {_day(weeks[-1])}, {cameras} camera(s).",
        f"Alarm rule: KS q-value < {rule.alpha} and PSI >= {rule.min_psi} (score), or Poisson "
        f"q-value < {rule.alpha} and the weekly count off its reference rate by a factor "
        f">= {rule.volume_factor} (volume); q-values are Benjamini-Hochberg across the cameras "
        f"of each week; no score test with fewer than {rule.min_alerts} alerts.",
        "",
    ]
    untested = int(table["ks_p"].isna().sum())
    if untested:
        lines.append(f"{untested} of {len(table)} camera-weeks had too few alerts for a score "
                     "test.")
    if undated:
        lines.append(f"{undated} row(s) without a readable start time were left out.")
    if hit.empty:
        lines.append("No alarm: no camera's alert stream changed beyond the rule.")
        return "\n".join(lines) + "\n"
    lines += [f"**{len(hit)} of {cameras} camera(s) alarmed** "
              f"({int(table['alarm'].sum())} camera-weeks in all):", "",
              "| camera | first alarm | weeks alarmed | score | volume | max PSI | "
              "volume ratio at first alarm |", "|---|---|---|---|---|---|---|"]
    for row in hit.itertuples():
        cam = table[(table["store"] == row.store) & (table["camera"] == row.camera)]
        first = cam[cam["week"] == row.first_alarm].iloc[0]
        lines.append(f"| {row.store} / {row.camera} | {_day(row.first_alarm)} | "
                     f"{row.weeks_alarmed} | {row.score_alarms} | {row.volume_alarms} | "
                     f"{cam['psi'].max():.3f} | {first['volume_ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def write_monitor(source: str | Path, out_dir: str | Path, *, reference_weeks: int,
                  table: str = "alerts", rule: AlarmRule | None = None, engine: str = "local",
                  scheduler: str | None = None, scratch: str | None = None) -> dict[str, Any]:
    """Read ``source``, monitor every camera week by week against the first
    ``reference_weeks`` weeks, write ``out_dir`` (see the module docstring); returns the key
    numbers (also in ``monitor.json``). ``engine="dask"``: a dataset is read on Dask
    (``scheduler``, ``scratch``), with the same files as a result
    (:func:`utils.alerts.rows.analysis_rows`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils.alerts.engines import check_engine
    from utils.alerts.plots import plot_drift_heatmap
    from utils.alerts.rows import analysis_rows
    from utils.io import atomic_path, save_figure, staged_folder, write_json

    rule = rule or AlarmRule()
    if reference_weeks < 1:  # before reading anything
        raise InputError(f"--reference-weeks must be >= 1, got {reference_weeks}")
    check_engine(engine, scheduler, scratch)
    dated, report, undated = analysis_rows(source, table=table, engine=engine,
                                           scheduler=scheduler, scratch=scratch, dated=True)
    drift = weekly_drift(dated, reference_weeks, rule=rule)
    alarms = first_alarms(drift)
    start = dated.loc[dated["probability"] >= 0, "week"].min()
    reference = (_day(start), _day(start + pd.Timedelta(weeks=reference_weeks - 1)))
    text = monitor_text(drift, alarms, rule, reference=reference, undated=undated)
    summary = {
        "source": report.source, "reference_weeks": reference_weeks,
        "reference": list(reference), "rule": vars(rule),
        "weeks_monitored": int(drift["week"].nunique()), "cameras": len(alarms),
        "cameras_alarmed": int((alarms["weeks_alarmed"] > 0).sum()),
        "camera_weeks_alarmed": int(drift["alarm"].sum()), "rows_without_time": undated,
        "first_alarms": [{"store": r.store, "camera": r.camera,
                          "first_alarm": _day(r.first_alarm)}
                         for r in alarms.dropna(subset=["first_alarm"]).itertuples()],
    }
    with staged_folder(out_dir, owned_marker="monitor.json") as out:
        for name, frame in (("drift.csv", drift), ("alarms.csv", alarms)):
            with atomic_path(out / name) as tmp:
                frame.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        fig = plot_drift_heatmap(drift)
        save_figure(fig, out / "heatmap.png")
        plt.close(fig)
        with atomic_path(out / "report.md") as tmp:
            tmp.write_text(text)
        write_json(summary, out / "monitor.json")
    return summary
