"""Long term: has a camera's alert stream changed since a reference window?

Per camera and week after the reference window: the alert count against the camera's reference
weekly rate (exact Poisson test), the theft share, and the alert-score distribution against the
camera's reference scores: the population stability index (PSI, a size of change) and the
two-sample Kolmogorov-Smirnov test (scipy, a p-value). Each week tests every camera, so the
p-values of a week are corrected across cameras (Benjamini-Hochberg false discovery rate,
``scipy.stats.false_discovery_control``). The alarm rule asks for both evidence and size:

* **score alarm**: KS q-value < ``alpha`` and PSI >= ``min_psi``;
* **volume alarm**: Poisson q-value < ``alpha`` and the count off its reference rate by at least
  a factor ``volume_factor`` (up or down).

Alerts are rows with probability >= 0 (the default threshold), as everywhere in lab 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from utils.errors import InputError

PSI_BINS = 10
PSI_EPS = 1e-4


def psi(expected: Any, actual: Any, *, bins: int = PSI_BINS, eps: float = PSI_EPS) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Bins: the ``bins``-quantiles of ``expected`` (inner edges, duplicates merged; a value equal to
    an edge goes to the bin above it); shares below ``eps`` are raised to ``eps`` so an empty bin
    does not give an infinite index. ``PSI = sum((a - e) * ln(a / e))`` over bins, >= 0; the usual
    reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 large shift (Yurdakul, 2018,
    "Statistical properties of population stability index").
    """
    e = np.asarray(expected, dtype=float).ravel()
    a = np.asarray(actual, dtype=float).ravel()
    if e.size == 0 or a.size == 0:
        raise InputError(f"psi needs two non-empty samples, got {e.size} and {a.size} values")
    if not (np.isfinite(e).all() and np.isfinite(a).all()):
        raise InputError("psi needs finite values")
    if bins < 2:
        raise InputError(f"psi needs at least 2 bins, got {bins}")
    edges = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    share_e = np.bincount(np.searchsorted(edges, e, side="right"), minlength=len(edges) + 1)
    share_a = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1)
    pe = np.clip(share_e / e.size, eps, None)
    pa = np.clip(share_a / a.size, eps, None)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def poisson_two_sided(count: Any, rate: Any) -> np.ndarray:
    """Two-sided exact Poisson p-value of ``count`` under mean ``rate`` (twice the smaller tail,
    capped at 1)."""
    from scipy.stats import poisson

    k = np.asarray(count, dtype=float)
    mu = np.asarray(rate, dtype=float)
    tails = np.minimum(poisson.cdf(k, mu), poisson.sf(k - 1, mu))
    return np.asarray(np.minimum(1.0, 2 * tails))


@dataclass(frozen=True)
class AlarmRule:
    """Thresholds of the alarm (see the module docstring)."""

    alpha: float = 0.01
    min_psi: float = 0.1
    volume_factor: float = 1.5
    min_alerts: int = 20  # fewer alerts in a week (or in the reference): no score test

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InputError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_psi < 0:
            raise InputError(f"min_psi must be >= 0, got {self.min_psi}")
        if self.volume_factor <= 1:
            raise InputError(f"volume_factor must be > 1, got {self.volume_factor}")
        if self.min_alerts < 2:
            raise InputError(f"min_alerts must be >= 2, got {self.min_alerts}")


def score_alarm(ks_q: Any, psi_value: Any, rule: AlarmRule) -> np.ndarray:
    """The score part of the alarm rule, elementwise (a missing test never alarms)."""
    q = np.asarray(ks_q, dtype=float)
    value = np.asarray(psi_value, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray((q < rule.alpha) & (value >= rule.min_psi))


def _bh(p: pd.Series) -> pd.Series:
    """Benjamini-Hochberg q-values of the non-missing p-values (missing stay missing)."""
    from scipy.stats import false_discovery_control

    out = pd.Series(np.nan, index=p.index)
    tested = p.notna()
    if tested.any():
        out[tested] = false_discovery_control(p[tested].to_numpy(float), method="bh")
    return out


def weekly_drift(dated: pd.DataFrame, reference_weeks: int, *,
                 rule: AlarmRule | None = None, bins: int = PSI_BINS) -> pd.DataFrame:
    """One row per (store, camera, week) after the first ``reference_weeks`` weeks of the data.

    ``dated`` is the clean frame with a ``week`` column (:func:`utils.alerts.weeks.with_dates`).
    Columns: ``alerts``, ``thefts``, ``theft_share``, ``week_covered`` (share of the week's
    days inside the data's span), ``expected`` (the camera's reference alerts per day covered,
    times the week's days covered), ``volume_ratio`` (alerts / expected),
    ``volume_p``/``volume_q``, ``psi``, ``ks_stat``, ``ks_p``/``ks_q``, ``volume_alarm``,
    ``score_alarm``, ``alarm``. A week
    without alerts at a camera is a row with 0 alerts (a camera going silent is a volume change).
    """
    from scipy.stats import ks_2samp

    rule = rule or AlarmRule()
    alerts = dated[dated["probability"] >= 0]
    if reference_weeks < 1:
        raise InputError(f"--reference-weeks must be >= 1, got {reference_weeks}")
    if alerts.empty:
        raise InputError("no alert (probability >= 0 and a readable start time) to monitor")
    calendar = pd.date_range(alerts["week"].min(), alerts["week"].max(), freq="7D")
    if reference_weeks >= len(calendar):
        raise InputError(f"the alerts span {len(calendar)} week(s); --reference-weeks "
                         f"{reference_weeks} leaves no week to monitor")
    reference_end = calendar[reference_weeks]
    # The first and last weeks may be cut by the data's span: counts are compared per day covered.
    first_day, last_day = alerts["day"].min(), alerts["day"].max()
    covered = {w: ((min(w + pd.Timedelta(days=7), last_day + pd.Timedelta(days=1))
                    - max(w, first_day)).days) / 7 for w in calendar}
    reference_span = sum(covered[w] for w in calendar[:reference_weeks])
    monitored = calendar[reference_weeks:]
    rows: list[dict[str, Any]] = []
    for (store, camera), cam in alerts.groupby(["store", "camera"], sort=True, observed=True):
        ref = cam[cam["week"] < reference_end]
        ref_scores = ref["probability"].to_numpy(float)
        rate = len(ref) / reference_span  # alerts per full week
        by_week = dict(iter(cam[cam["week"] >= reference_end].groupby("week")))
        for week in monitored:
            now = by_week.get(week, cam.iloc[:0])
            scores = now["probability"].to_numpy(float)
            row: dict[str, Any] = {
                "store": store, "camera": camera, "week": week, "alerts": len(now),
                "thefts": int(now["is_theft"].sum()),
                "theft_share": now["is_theft"].mean() if len(now) else np.nan,
                "week_covered": covered[week], "expected": rate * covered[week],
                "volume_ratio": len(now) / (rate * covered[week]) if rate > 0 else np.nan,
                "psi": np.nan, "ks_stat": np.nan, "ks_p": np.nan}
            if len(scores) >= rule.min_alerts and len(ref_scores) >= rule.min_alerts:
                test = ks_2samp(ref_scores, scores)
                row.update(psi=psi(ref_scores, scores, bins=bins),
                           ks_stat=float(test.statistic), ks_p=float(test.pvalue))
            rows.append(row)
    table = pd.DataFrame(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["volume_p"] = np.where(table["expected"] > 0,
                                     poisson_two_sided(table["alerts"], table["expected"]),
                                     np.nan)
    table["volume_q"] = table.groupby("week")["volume_p"].transform(_bh)
    table["ks_q"] = table.groupby("week")["ks_p"].transform(_bh)
    ratio = table["volume_ratio"]
    off = (ratio >= rule.volume_factor) | (ratio <= 1 / rule.volume_factor)
    table["volume_alarm"] = (table["volume_q"] < rule.alpha) & off
    table["score_alarm"] = score_alarm(table["ks_q"], table["psi"], rule)
    table["alarm"] = table["volume_alarm"] | table["score_alarm"]
    return table


def first_alarm_week(weeks: Any, alarms: Any) -> Any:
    """The first week (in time order) whose alarm is set, or None when none is."""
    order = np.argsort(np.asarray(weeks), kind="stable")
    fired = np.asarray(alarms, dtype=bool)[order]
    return None if not fired.any() else np.asarray(weeks)[order][int(np.argmax(fired))]


def first_alarms(table: pd.DataFrame) -> pd.DataFrame:
    """Per camera: the first week with an alarm (NaT when none) and how many weeks alarmed."""
    rows = []
    for (store, camera), cam in table.groupby(["store", "camera"], sort=True):
        week = first_alarm_week(cam["week"].to_numpy(), cam["alarm"].to_numpy())
        rows.append({"store": store, "camera": camera,
                     "first_alarm": pd.NaT if week is None else pd.Timestamp(week),
                     "weeks_alarmed": int(cam["alarm"].sum()),
                     "volume_alarms": int(cam["volume_alarm"].sum()),
                     "score_alarms": int(cam["score_alarm"].sum())})
    return pd.DataFrame(rows)
