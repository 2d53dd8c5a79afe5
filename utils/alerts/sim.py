"""Simulations that measure the follow-up tools on generated alerts whose truth is known.

* **Planted drift**: from a known week, one camera's scores shift upwards (on the logit scale)
  and another camera's alert volume doubles; :func:`drift_trial` reports how many weeks the
  monitor takes to alarm on each, and how often it alarms on the cameras left alone.
* **Review budget**: the export's labels miss some thefts (a theft labelled normal); each day a
  reviewer labels K alerts, chosen by the review queue or at random, and thresholds are planned
  again on the corrected labels; :func:`review_trial` reports the thefts the plan really loses
  (true labels) after each day.

Everything is seeded: the same arguments give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.drift import AlarmRule, first_alarms, weekly_drift
from utils.alerts.review import apply_reviews, plan_thresholds_of, review_queue
from utils.alerts.schema import parse_video_names
from utils.alerts.synth import synthetic_alerts
from utils.alerts.validate import prepare
from utils.alerts.weeks import TIME_FORMAT, with_dates
from utils.errors import InputError

STRATEGIES = ("queue", "random")


def _busiest(clean: pd.DataFrame, n: int) -> list[tuple[str, str]]:
    counts = clean[clean["probability"] >= 0].groupby(["store", "camera"]).size()
    return [tuple(k) for k in counts.sort_values(ascending=False, kind="stable").index[:n]]


def planted_drift(*, seed: int, n_rows: int, drift_week: int, score_shift: float = 1.0,
                  volume_factor: float = 2.0) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Raw synthetic alerts (the real format) with two planted changes from week ``drift_week``
    (0 = the data's first week) on, and the truth: which cameras, from which week.

    The busiest camera's scores move by ``score_shift`` on the logit scale; the second busiest
    camera gets ``volume_factor - 1`` extra copies of each of its later rows (same label and
    score, start time moved by up to three hours, so new video names)."""
    if drift_week < 1:
        raise InputError(f"drift_week must be >= 1, got {drift_week}")
    rng = np.random.default_rng([seed, 1])
    raw = synthetic_alerts(seed=seed, n_rows=n_rows)
    clean, _ = prepare(raw)
    shifted, doubled = _busiest(clean, 2)
    parts = parse_video_names(raw["video_name"])
    start = pd.to_datetime(parts["start_time"], format=TIME_FORMAT, errors="coerce")
    first = start.min().normalize() - pd.Timedelta(days=start.min().weekday())
    since = first + pd.Timedelta(weeks=drift_week)
    late = start >= since

    on_a = (raw["store"] == shifted[0]) & (parts["camera"] == shifted[1]) & late
    p = raw.loc[on_a, "probability"].to_numpy(float)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    moved = 1 / (1 + np.exp(-(np.log(clipped / (1 - clipped)) + score_shift)))
    raw.loc[on_a, "probability"] = np.where(np.isnan(p) | (p < 0), p, moved)

    on_b = (raw["store"] == doubled[0]) & (parts["camera"] == doubled[1]) & late
    copies = []
    for _ in range(round(volume_factor) - 1):
        extra = raw[on_b].copy()
        offset = pd.to_timedelta(rng.integers(60, 3 * 3600, len(extra)), unit="s")
        new_start = (start[on_b] + offset).dt.strftime(TIME_FORMAT).to_numpy(str)
        new_end = (pd.to_datetime(parts.loc[on_b, "end_time"], format=TIME_FORMAT)
                   + offset).dt.strftime(TIME_FORMAT).to_numpy(str)
        rest = extra["video_name"].str.extract(r"(_camera_.*)$")[0].to_numpy(str)
        extra["video_name"] = [f"{a}_to_{b}{c}" for a, b, c in zip(new_start, new_end, rest,
                                                                  strict=True)]
        copies.append(extra)
    raw = pd.concat([raw, *copies], ignore_index=True)
    truth = {"score_camera": shifted, "volume_camera": doubled, "since": since,
             "drift_week": drift_week, "score_shift": score_shift,
             "volume_factor": volume_factor}
    return raw, truth


def drift_trial(*, seed: int, n_rows: int, reference_weeks: int, drift_week: int,
                score_shift: float = 1.0, volume_factor: float = 2.0,
                rule: AlarmRule | None = None) -> dict[str, Any]:
    """One seeded copy: detection delays (weeks from the drift's first week to the first alarm;
    None when it never fires) and false alarms on the other cameras."""
    if drift_week < reference_weeks:
        raise InputError(f"drift_week ({drift_week}) must not fall inside the reference window "
                         f"({reference_weeks} weeks)")
    raw, truth = planted_drift(seed=seed, n_rows=n_rows, drift_week=drift_week,
                               score_shift=score_shift, volume_factor=volume_factor)
    clean, _ = prepare(raw)
    dated, _ = with_dates(clean)
    table = weekly_drift(dated, reference_weeks, rule=rule)
    firsts = first_alarms(table).set_index(["store", "camera"])["first_alarm"]
    since = truth["since"]

    def delay(camera: tuple[str, str]) -> int | None:
        cam = table[(table["store"] == camera[0]) & (table["camera"] == camera[1])
                    & (table["week"] >= since)]
        fired = cam.loc[cam["alarm"], "week"]
        return None if fired.empty else int((fired.min() - since).days // 7)

    drifted = {truth["score_camera"], truth["volume_camera"]}
    keys = list(zip(table["store"], table["camera"], strict=True))
    calm = table[[k not in drifted for k in keys]]
    rule = rule or AlarmRule()
    off = (calm["volume_ratio"] >= rule.volume_factor) | (calm["volume_ratio"]
                                                          <= 1 / rule.volume_factor)
    # The baseline: the same rule on the raw p-values, without the correction across cameras.
    uncorrected = (((calm["ks_p"] < rule.alpha) & (calm["psi"] >= rule.min_psi))
                   | ((calm["volume_p"] < rule.alpha) & off))
    calm_cams = [k for k in firsts.index if k not in drifted]
    return {"seed": seed, "score_delay": delay(truth["score_camera"]),
            "volume_delay": delay(truth["volume_camera"]),
            "calm_camera_weeks": len(calm), "calm_alarms": int(calm["alarm"].sum()),
            "calm_cameras": len(calm_cams),
            "calm_cameras_alarmed": int(sum(pd.notna(firsts[k]) for k in calm_cams)),
            "calm_alarms_uncorrected": int(uncorrected.sum())}


def summarise_drift(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Detection rate and delays over copies, and the false-alarm rates on calm cameras."""
    out: dict[str, Any] = {"copies": len(trials)}
    for kind in ("score", "volume"):
        delays = [t[f"{kind}_delay"] for t in trials]
        found = [d for d in delays if d is not None]
        out[f"{kind}_detected"] = len(found) / len(trials)
        out[f"{kind}_delay_median"] = float(np.median(found)) if found else None
        out[f"{kind}_delay_max"] = max(found) if found else None
        out[f"{kind}_delays"] = delays
    weeks = sum(t["calm_camera_weeks"] for t in trials)
    out["false_alarm_rate_per_camera_week"] = sum(t["calm_alarms"] for t in trials) / weeks
    out["false_alarm_rate_uncorrected"] = sum(t["calm_alarms_uncorrected"] for t in trials) / weeks
    out["calm_cameras_with_any_alarm"] = (sum(t["calm_cameras_alarmed"] for t in trials)
                                          / sum(t["calm_cameras"] for t in trials))
    return out


# ----------------------------------------------------------------------------- review budget


def hide_thefts(clean: pd.DataFrame, miss_rate: float, seed: int) -> pd.DataFrame:
    """``clean`` as the export would give it if ``miss_rate`` of the thefts had been labelled
    normal (the true label kept in ``true_theft``)."""
    if not 0 <= miss_rate < 1:
        raise InputError(f"miss_rate must be in [0, 1), got {miss_rate}")
    rng = np.random.default_rng([seed, 2])
    hidden = clean["is_theft"].to_numpy(bool) & (rng.random(len(clean)) < miss_rate)
    return clean.assign(true_theft=clean["is_theft"], is_theft=clean["is_theft"] & ~hidden)


def true_cost(clean: pd.DataFrame, thresholds: dict[tuple[str, str], float]) -> tuple[int, int]:
    """(thefts lost, false positives removed) of per-camera ``thresholds``, by the true labels."""
    codes = clean.groupby(["store", "camera"], sort=True, observed=True).ngroup().to_numpy()
    keys = clean.groupby(["store", "camera"], sort=True, observed=True).size().index
    t = np.array([thresholds.get((str(s), str(c)), 0.0) for s, c in keys])[codes]
    p = clean["probability"].to_numpy(float)
    cut = (p >= 0) & (p < t)
    truth = clean["true_theft"].to_numpy(bool)
    return int((cut & truth).sum()), int((cut & ~truth).sum())


def review_trial(*, seed: int, n_rows: int, days: int, budget: int, target: float,
                 miss_rate: float, strategy: str) -> dict[str, Any]:
    """One seeded copy of ``days`` days of ``budget`` reviews each: after each day, the plan at
    ``target`` FP reduction on the corrected labels and what it truly costs."""
    if strategy not in STRATEGIES:
        raise InputError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    clean, _ = prepare(synthetic_alerts(seed=seed, n_rows=n_rows))
    dated, _ = with_dates(hide_thefts(clean, miss_rate, seed))
    fp_true = int(((dated["probability"] >= 0) & ~dated["true_theft"]).sum())
    rng = np.random.default_rng([seed, 3])
    reviews = pd.DataFrame({"video_name": pd.Series(dtype=str), "verdict": pd.Series(dtype=str)})
    truth = dated.drop_duplicates("video_name").set_index("video_name")["true_theft"]
    labelled = dated
    thresholds = plan_thresholds_of(labelled, target)
    tp_lost, fp_removed = true_cost(dated, thresholds)
    oracle = plan_thresholds_of(dated.assign(is_theft=dated["true_theft"]), target)
    curve = [{"reviews": 0, "tp_lost": tp_lost, "fp_reduction": fp_removed / fp_true}]
    for day in sorted(dated["day"].unique())[:days]:
        if strategy == "queue":
            picked = review_queue(labelled, thresholds, day=day, budget=budget,
                                  reviewed=reviews["video_name"])["video_name"]
        else:
            pool = dated[(dated["day"] == day) & (dated["probability"] >= 0)
                         & ~dated["video_name"].isin(set(reviews["video_name"]))]
            names = pool["video_name"].drop_duplicates().to_numpy()
            picked = pd.Series(rng.choice(names, min(budget, len(names)), replace=False))
        verdict = np.where(truth.loc[picked.to_numpy()].to_numpy(bool), "theft", "normal")
        reviews = pd.concat([reviews, pd.DataFrame({"video_name": picked.to_numpy(),
                                                    "verdict": verdict})], ignore_index=True)
        labelled = apply_reviews(dated, reviews)
        thresholds = plan_thresholds_of(labelled, target)
        tp_lost, fp_removed = true_cost(dated, thresholds)
        curve.append({"reviews": len(reviews), "tp_lost": tp_lost,
                      "fp_reduction": fp_removed / fp_true})
    return {"seed": seed, "strategy": strategy, "curve": curve,
            "oracle_tp_lost": true_cost(dated, oracle)[0],
            "thefts_hidden": int((dated["true_theft"] & ~dated["is_theft"]).sum())}


def summarise_reviews(trials: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean curve per strategy (reviews spent -> true thefts lost, realised FP reduction) and
    the thefts recovered per 100 reviews."""
    out: dict[str, Any] = {}
    for strategy in STRATEGIES:
        runs = [t for t in trials if t["strategy"] == strategy]
        if not runs:
            continue
        tp = np.array([[p["tp_lost"] for p in t["curve"]] for t in runs], float)
        fp = np.array([[p["fp_reduction"] for p in t["curve"]] for t in runs], float)
        reviews = [p["reviews"] for p in runs[0]["curve"]]
        spent = max(reviews[-1], 1)
        out[strategy] = {"reviews": reviews, "tp_lost_mean": tp.mean(0).tolist(),
                         "fp_reduction_mean": fp.mean(0).tolist(),
                         "tp_recovered_per_100_reviews": float(
                             100 * (tp[:, 0] - tp[:, -1]).mean() / spent),
                         "tp_recovered_per_copy": (tp[:, 0] - tp[:, -1]).tolist()}
    if all(s in out for s in STRATEGIES):  # copies are paired by seed
        gains = [np.array(out[s]["tp_recovered_per_copy"]) for s in STRATEGIES]
        out["copies_queue_ahead"] = int((gains[0] > gains[1]).sum())
        out["copies_queue_behind"] = int((gains[0] < gains[1]).sum())
    out["oracle_tp_lost_mean"] = float(np.mean([t["oracle_tp_lost"] for t in trials]))
    return out


def simulate(*, copies: int, n_rows: int, reference_weeks: int = 8, drift_week: int = 14,
             score_shift: float = 1.0, review_days: int = 60, budget: int = 10,
             target: float = 0.5, miss_rate: float = 0.5, seed: int = 0,
             progress: bool = True) -> dict[str, Any]:
    """Both simulations over ``copies`` seeded copies (seeds ``seed``, ``seed + 1``, ...): the
    numbers lab 3.4 quotes and ``benchmarks/bench_alerts_followup.py`` prints."""
    from utils.alerts.progress import progress_bar

    if copies < 1:
        raise InputError(f"copies must be >= 1, got {copies}")
    seeds = range(seed, seed + copies)
    drift = [drift_trial(seed=s, n_rows=n_rows, reference_weeks=reference_weeks,
                         drift_week=drift_week, score_shift=score_shift)
             for s in progress_bar(seeds, desc="drift copies", unit="copy", disable=not progress)]
    reviews = [review_trial(seed=s, n_rows=n_rows, days=review_days, budget=budget,
                            target=target, miss_rate=miss_rate, strategy=strategy)
               for s in progress_bar(seeds, desc="review copies", unit="copy",
                                     disable=not progress)
               for strategy in STRATEGIES]
    return {"settings": {"copies": copies, "n_rows": n_rows, "reference_weeks": reference_weeks,
                         "drift_week": drift_week, "score_shift": score_shift,
                         "volume_factor": 2.0, "review_days": review_days, "budget": budget,
                         "target_fp_reduction": target, "miss_rate": miss_rate, "seed": seed,
                         "rule": vars(AlarmRule())},
            "baselines": {"drift": "the same alarm rule on uncorrected p-values",
                          "reviews": "labelling random alerts of the day"},
            "drift": summarise_drift(drift),
            "reviews": summarise_reviews(reviews)}


def _weeks(delay: float | None) -> str:
    return "never" if delay is None else f"{delay:g} week(s)"


def summary_text(measured: dict[str, Any]) -> str:
    """The simulation's result in two paragraphs (markdown), every number read from
    ``measured`` (:func:`simulate`'s output or the benchmark's JSON)."""
    d, r, s = measured["drift"], measured["reviews"], measured["settings"]
    return (
        f"Over {d['copies']} copies: the score shift was detected in {d['score_detected']:.0%} "
        f"of them (median delay {_weeks(d['score_delay_median'])}, worst "
        f"{_weeks(d['score_delay_max'])}), the doubled volume in {d['volume_detected']:.0%} "
        f"(median delay {_weeks(d['volume_delay_median'])}). On the cameras left alone, "
        f"{d['false_alarm_rate_per_camera_week']:.2%} of camera-weeks alarmed with the "
        f"correction across cameras, {d['false_alarm_rate_uncorrected']:.2%} without it; "
        f"{d['calm_cameras_with_any_alarm']:.0%} of the calm cameras alarmed at least once.\n\n"
        f"Reviews ({s['budget']} a day for {s['review_days']} days, {s['miss_rate']:.0%} of "
        f"thefts missed by the export, plan at {s['target_fp_reduction']:.0%} FP reduction): the "
        f"queue recovered {r['queue']['tp_recovered_per_100_reviews']:.2f} thefts per 100 "
        f"reviews, random labelling {r['random']['tp_recovered_per_100_reviews']:.2f} (the queue "
        f"ahead in {r['copies_queue_ahead']} of {d['copies']} copies, behind in "
        f"{r['copies_queue_behind']}); with every label right the plan would lose "
        f"{r['oracle_tp_lost_mean']:.1f} thefts.")
