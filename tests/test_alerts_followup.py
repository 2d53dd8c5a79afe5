"""Lab 3.4's follow-up tools: PSI, drift table and alarms, review queue, the reviews table,
hard negatives, global-vs-per-camera table, and the commands on CSV, Parquet and SQLite giving
the same results (PostgreSQL: tests/test_alerts_postgres.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import false_discovery_control, ks_2samp, poisson

from utils.alerts import reviews as reviews_mod
from utils.alerts.comparison import global_vs_per_camera
from utils.alerts.curves import camera_curves
from utils.alerts.drift import AlarmRule, first_alarm_week, poisson_two_sided, psi, weekly_drift
from utils.alerts.hard_negatives import hard_negatives
from utils.alerts.planning import exact_frontier, fp_needed
from utils.alerts.review import apply_reviews, nearest_to_threshold, review_queue
from utils.alerts.reviews import add_reviews, read_reviews, reviews_path
from utils.alerts.sim import planted_drift, summary_text
from utils.alerts.sources import read_alerts
from utils.alerts.synth import write_synthetic_alerts
from utils.alerts.validate import load_alerts, prepare
from utils.alerts.weeks import with_dates
from utils.cli import main
from utils.errors import InputError

ROWS, SEED = 3_000, 3


# ------------------------------------------------------------------------------------- PSI


def test_psi_by_hand() -> None:
    expected = np.arange(100.0)  # deciles: inner edges 9.9, 19.8, ..., 89.1
    actual = np.full(50, 95.0)  # everything in the top bin
    # top bin: a = 1, e = 0.1; nine other bins: a = eps, e = 0.1
    hand = (1 - 0.1) * np.log(1 / 0.1) + 9 * (1e-4 - 0.1) * np.log(1e-4 / 0.1)
    assert psi(expected, actual) == pytest.approx(hand, rel=1e-12)
    assert psi(expected, expected) == 0.0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(0.5, 1, size=400)
    assert psi(a, b) > psi(a, rng.normal(size=400)) > 0


def test_psi_refuses_empty_samples() -> None:
    with pytest.raises(InputError, match="two non-empty samples, got 0 and 3"):
        psi([], [1, 2, 3])


def test_poisson_p_value_against_the_pmf() -> None:
    for k, mu in ((3, 10.0), (25, 10.0), (10, 10.0), (0, 2.5)):
        pmf = poisson.pmf(np.arange(200), mu)
        low, high = pmf[: k + 1].sum(), pmf[k:].sum()
        assert poisson_two_sided(k, mu) == pytest.approx(min(1, 2 * min(low, high)), rel=1e-9)


# ---------------------------------------------------------------------------------- drift


def _dated(rows: list[tuple[str, str, float, bool]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["camera", "day", "probability", "is_theft"])
    frame["store"], frame["label"] = "s", "x"
    frame["day"] = pd.to_datetime(frame["day"])
    frame["week"] = frame["day"] - pd.to_timedelta(frame["day"].dt.day_of_week, unit="D")
    frame["video_name"] = [f"v{i}" for i in range(len(frame))]
    return frame


def test_weekly_drift_matches_scipy_and_the_rule() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for week in range(4):  # weeks of 2024-01-01 (a Monday): two reference weeks
        day = (pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=week)).date().isoformat()
        shift = 0.3 if week >= 2 else 0.0
        rows += [("a", day, p, False) for p in rng.uniform(0, 0.5, 60) + shift]
        rows += [("b", day, p, i < 6) for i, p in enumerate(rng.uniform(0, 0.5, 60))]
    rows.append(("b", "2024-01-28", 0.2, False))  # the data ends on a Sunday: full weeks
    dated = _dated(rows)
    table = weekly_drift(dated, 2, rule=AlarmRule(alpha=0.05, min_psi=0.1, min_alerts=20))
    assert len(table) == 4 and set(table["week"].dt.day) == {15, 22}
    ref_a = dated[(dated.camera == "a") & (dated.week < "2024-01-15")]["probability"]
    for week, group in table.groupby("week"):
        now = [dated[(dated.camera == c) & (dated.week == week)]["probability"] for c in "ab"]
        ref = [dated[(dated.camera == c) & (dated.week < "2024-01-15")]["probability"]
               for c in "ab"]
        p = [ks_2samp(r, n).pvalue for r, n in zip(ref, now, strict=True)]
        np.testing.assert_allclose(group["ks_p"], p)
        np.testing.assert_allclose(group["ks_q"], false_discovery_control(p, method="bh"))
        assert group.iloc[0]["psi"] == pytest.approx(psi(ref_a, now[0]))
    a, b = table[table.camera == "a"], table[table.camera == "b"]
    assert a["score_alarm"].all() and not b["score_alarm"].any()
    assert (table["volume_ratio"].round(3).isin([1.0, round(61 / 60, 3)])).all()
    assert not table["volume_alarm"].any()
    assert b["theft_share"].tolist() == [0.1, 6 / 61]


def test_first_alarm_week() -> None:
    weeks = np.array(["2024-01-15", "2024-01-01", "2024-01-08"], dtype="datetime64[D]")
    assert first_alarm_week(weeks, [True, False, True]) == np.datetime64("2024-01-08")
    assert first_alarm_week(weeks, [False, False, False]) is None


def test_weekly_drift_refuses_a_window_without_weeks_left() -> None:
    dated = _dated([("a", "2024-01-01", 0.2, False), ("a", "2024-01-08", 0.3, False)])
    with pytest.raises(InputError, match="span 2 week"):
        weekly_drift(dated, 2)


def test_planted_drift_plants_what_it_says() -> None:
    raw, truth = planted_drift(seed=3, n_rows=3_000, drift_week=10, score_shift=1.0)
    base, _ = prepare(read_alerts_frame(3))
    clean, _ = prepare(raw)
    dated, _ = with_dates(clean)
    since = truth["since"]

    def late(frame: pd.DataFrame, camera: tuple[str, str]) -> pd.DataFrame:
        d, _ = with_dates(frame)
        return d[(d.store == camera[0]) & (d.camera == camera[1]) & (d.day >= since)]

    before, after = late(base, truth["volume_camera"]), late(clean, truth["volume_camera"])
    assert len(after) == 2 * len(before) and after.video_name.is_unique
    p0 = late(base, truth["score_camera"]).probability.clip(1e-6, 1 - 1e-6).to_numpy()
    p1 = late(clean, truth["score_camera"]).probability.clip(1e-6, 1 - 1e-6).to_numpy()
    keep = p0 >= 0
    np.testing.assert_allclose(np.log(p1 / (1 - p1))[keep] - np.log(p0 / (1 - p0))[keep], 1.0,
                               atol=1e-6)
    assert len(dated) == len(clean)


def read_alerts_frame(seed: int) -> pd.DataFrame:
    from utils.alerts.synth import synthetic_alerts

    return synthetic_alerts(seed=seed, n_rows=3_000)


# ---------------------------------------------------------------------------- review queue


def test_nearest_to_threshold_by_brute_force() -> None:
    p = np.array([0.1, 0.52, 0.48, 0.9, 0.5, 0.3])
    assert nearest_to_threshold(p, 0.5, 3).tolist() == [4, 1, 2]  # 0.52 before 0.48: a tie
    rng = np.random.default_rng(0)
    q = rng.random(50)
    brute = sorted(range(50), key=lambda i: (abs(q[i] - 0.4), i))[:7]
    assert nearest_to_threshold(q, 0.4, 7).tolist() == brute


def test_queue_spreads_across_cameras_and_skips_reviewed() -> None:
    rows = [("a", "2024-01-02", p, False) for p in (0.50, 0.51, 0.52, 0.9)]
    rows += [("b", "2024-01-02", p, False) for p in (0.15, 0.4)]
    rows += [("b", "2024-01-03", 0.2, False)]  # another day
    dated = _dated(rows)
    thresholds = {("s", "a"): 0.5, ("s", "b"): 0.2}
    queue = review_queue(dated, thresholds, day="2024-01-02", budget=4)
    # round 0: a's 0.50 (distance 0), b's 0.15 (0.05); round 1: a's 0.51, b's 0.4
    assert queue["video_name"].tolist() == ["v0", "v4", "v1", "v5"]
    assert queue["round"].tolist() == [0, 0, 1, 1]
    again = review_queue(dated, thresholds, day="2024-01-02", budget=4, reviewed=["v0", "v4"])
    assert again["video_name"].tolist() == ["v1", "v5", "v2", "v3"]
    with pytest.raises(InputError, match="--budget must be >= 1"):
        review_queue(dated, thresholds, day="2024-01-02", budget=0)


def test_apply_reviews_overrides_the_label() -> None:
    dated = _dated([("a", "2024-01-02", 0.5, False), ("a", "2024-01-02", 0.6, True)])
    out = apply_reviews(dated, pd.DataFrame({"video_name": ["v0", "v1"],
                                             "verdict": ["theft", "normal"]}))
    assert out["is_theft"].tolist() == [True, False] and dated["is_theft"].tolist() == [False,
                                                                                       True]


# --------------------------------------------------------------------------- reviews table


def _batch(videos: list[str], verdict: str = "normal", who: str = "ann") -> pd.DataFrame:
    return pd.DataFrame({"video_name": videos, "store": "s", "camera": "1", "verdict": verdict,
                         "reviewer": who, "reviewed_at": "2024-01-02T10:00:00+00:00"})


@pytest.fixture(params=["file", "sqlite"])
def store_source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        (tmp_path / "alerts.csv").write_text("x\n")
        return str(tmp_path / "alerts.csv")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alerts (x TEXT)"))
    engine.dispose()
    return f"sqlite:///{tmp_path / 'a.db'}"


def test_adding_is_idempotent(store_source: str) -> None:
    assert read_reviews(store_source).empty
    first = add_reviews(store_source, _batch(["v1", "v2", "v2"]))
    assert (first.added, first.already) == (2, 0)
    again = add_reviews(store_source, _batch(["v2", "v3"]))
    assert (again.added, again.already) == (1, 1)
    stored = read_reviews(store_source)
    assert stored["video_name"].tolist() == ["v1", "v2", "v3"]
    assert stored.columns.tolist() == list(reviews_mod.REVIEW_COLUMNS)
    with pytest.raises(InputError, match="v2: already reviewed as 'normal' by ann at 2024"):
        add_reviews(store_source, _batch(["v4", "v2"], verdict="theft"))
    assert len(read_reviews(store_source)) == 3  # the refused batch wrote nothing, v4 neither


def test_reviews_survive_an_interrupted_run(store_source: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    add_reviews(store_source, _batch(["v1", "v2"]))

    def half_then_crash(*args: object) -> None:
        if store_source.startswith("sqlite"):
            conn, table, rows = args
            real_insert(conn, table, rows[:1])  # type: ignore[arg-type]
        else:
            frame, path = args
            Path(path).write_text(frame.head(1).to_csv(index=False))  # type: ignore[union-attr]
        raise KeyboardInterrupt

    real_insert = reviews_mod._insert
    if store_source.startswith("sqlite"):
        monkeypatch.setattr(reviews_mod, "_insert", half_then_crash)
    else:
        real_write = reviews_mod._write_file

        def write_into_temp(frame: pd.DataFrame, path: Path) -> None:
            with reviews_mod.atomic_path(path) as tmp:
                half_then_crash(frame, tmp)
        monkeypatch.setattr(reviews_mod, "_write_file", write_into_temp)
        assert real_write is not None
    with pytest.raises(KeyboardInterrupt):
        add_reviews(store_source, _batch(["v3", "v4"]))
    monkeypatch.undo()
    assert read_reviews(store_source)["video_name"].tolist() == ["v1", "v2"]
    if not store_source.startswith("sqlite"):
        folder = reviews_path(store_source).parent
        assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) == [
            "alerts.csv", "alerts.reviews.csv"]
    assert add_reviews(store_source, _batch(["v3", "v4"])).added == 2


def test_reviews_path() -> None:
    assert reviews_path("/d/alerts.csv.gz") == Path("/d/alerts.reviews.csv")
    assert reviews_path("x.parquet") == Path("x.reviews.csv")


# ----------------------------------------------------------------- hard negatives, comparison


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    from utils.alerts.synth import synthetic_alerts

    frame, _ = prepare(synthetic_alerts(seed=SEED, n_rows=ROWS))
    return frame


def test_hard_negatives_by_brute_force(clean: pd.DataFrame) -> None:
    found = hard_negatives(clean, 3)
    normals = clean[~clean.is_theft & (clean.probability >= 0)]
    for (store, camera, label), group in normals.groupby(["store", "camera", "label"]):
        top = sorted(zip(-group.probability, group.video_name, strict=True))[:3]
        mine = found[(found.store == store) & (found.camera == camera) & (found.label == label)]
        assert list(zip(-mine.score, mine.video_name, strict=True)) == top
    assert found.columns.tolist() == ["video_name", "store", "camera", "label", "score"]
    assert not found.video_name.isin(clean[clean.is_theft].video_name).any()


def test_global_vs_per_camera_by_brute_force(clean: pd.DataFrame) -> None:
    table = global_vs_per_camera(clean, [0.3, 0.6])
    alerts = clean[clean.probability >= 0]
    fp_before = int((~alerts.is_theft).sum())
    frontier = exact_frontier(camera_curves(clean), progress=False)
    for row in table.itertuples():
        needed = fp_needed(fp_before, row.target_fp_reduction)
        # the lowest threshold among the scores (or above them all) removing enough FP
        p, y = alerts.probability.to_numpy(), alerts.is_theft.to_numpy()
        for t in np.r_[0.0, np.unique(p), np.inf]:
            if (~y & (p < t)).sum() >= needed:
                break
        below = alerts[alerts.probability < t]
        assert row.global_tp_lost == below.is_theft.sum()
        assert row.global_cameras_changed == below.groupby(["store", "camera"]).ngroups
        assert row.plan_tp_lost == frontier.min_tp_lost(needed) <= row.global_tp_lost
        assert row.tp_saved_by_plan == row.global_tp_lost - row.plan_tp_lost


# ------------------------------------------------------------ commands, on every file source


@pytest.fixture()
def sources(tmp_path: Path) -> dict[str, str]:
    """The same rows as CSV, Parquet and SQLite, each in its own folder (a file source keeps
    its reviews beside it)."""
    for kind in ("csv", "parquet", "sqlite"):
        (tmp_path / kind).mkdir()
    csv = write_synthetic_alerts(tmp_path / "csv" / "alerts.csv", seed=SEED, n_rows=ROWS)
    raw = read_alerts(csv)
    raw.to_parquet(tmp_path / "parquet" / "alerts.parquet", index=False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'sqlite' / 'alerts.db'}")
    raw.to_sql("alerts", engine, index=False)
    engine.dispose()
    return {"csv": str(csv), "parquet": str(tmp_path / "parquet" / "alerts.parquet"),
            "sqlite": f"sqlite:///{tmp_path / 'sqlite' / 'alerts.db'}"}


def run_followup(source: str, out: Path, capsys: pytest.CaptureFixture[str]
                 ) -> dict[str, object]:
    """Queue a day, review two of its alerts, queue again, export hard negatives and monitor:
    everything a source should give the same way (used for PostgreSQL too)."""
    clean, _ = load_alerts(source)
    dated, _ = with_dates(clean)
    day = dated["day"].value_counts().sort_index().idxmax().date().isoformat()
    assert main(["alerts", "review-queue", "--source", source, "--budget", "6", "--date", day,
                 "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    videos = [r["video_name"] for r in before["queue"][:2]]
    add = ["alerts", "review", "add", "--source", source, "--verdict", "theft", "--reviewer",
           "ann", "--at", "2024-03-01T09:00:00", *(a for v in videos for a in ("--video", v))]
    assert main(add) == 0
    assert "2 review(s) added, 0 already stored" in capsys.readouterr().out
    assert main(add) == 0
    assert "0 review(s) added, 2 already stored" in capsys.readouterr().out
    assert main(["alerts", "review-queue", "--source", source, "--budget", "6", "--date", day,
                 "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert main(["alerts", "hard-negatives", "--source", source, "--per-group", "2", "--out",
                 str(out / "hn.csv")]) == 0
    assert main(["alerts", "monitor", "--source", source, "--reference-weeks", "8", "--out",
                 str(out / "monitor")]) == 0
    capsys.readouterr()
    for part in (before, after):
        part.pop("source")
    return {"before": before, "after": after, "videos": videos,
            "reviews": read_reviews(source).to_dict(orient="records"),
            "hard": pd.read_csv(out / "hn.csv", dtype={"store": str, "camera": str}),
            "drift": pd.read_csv(out / "monitor" / "drift.csv",
                                 dtype={"store": str, "camera": str}),
            "report": (out / "monitor" / "report.md").read_text()}


def assert_same_run(run: dict[str, object], expected: dict[str, object]) -> None:
    for key in ("before", "after", "videos", "reviews"):
        assert run[key] == expected[key], key
    pd.testing.assert_frame_equal(run["hard"], expected["hard"])  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(run["drift"], expected["drift"])  # type: ignore[arg-type]
    assert run["report"] == expected["report"]


def test_every_file_source_gives_the_same_results(sources: dict[str, str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    runs = {kind: run_followup(src, tmp_path / f"out-{kind}", capsys)
            for kind, src in sources.items()}
    csv_run = runs["csv"]
    before, after = csv_run["before"], csv_run["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["queued"] == 6 and after["already_reviewed"] == 2
    assert not {r["video_name"] for r in after["queue"]} & set(csv_run["videos"])  # type: ignore[arg-type]
    assert [r["round"] for r in before["queue"]] == sorted(r["round"] for r in before["queue"])
    assert "# Drift monitoring" in str(csv_run["report"])
    assert {r["verdict"] for r in csv_run["reviews"]} == {"theft"}  # type: ignore[attr-defined]
    for kind in ("parquet", "sqlite"):
        assert_same_run(runs[kind], csv_run)


def test_simulation_summaries_by_hand() -> None:
    from utils.alerts.sim import summarise_drift, summarise_reviews

    def trial(seed: int, strategy: str, tp: list[int]) -> dict[str, object]:
        return {"seed": seed, "strategy": strategy, "oracle_tp_lost": 2,
                "curve": [{"reviews": 10 * i, "tp_lost": v, "fp_reduction": 0.5}
                          for i, v in enumerate(tp)]}

    got = summarise_reviews([trial(0, "queue", [9, 7, 5]), trial(0, "random", [9, 9, 8]),
                             trial(1, "queue", [6, 6, 6]), trial(1, "random", [6, 5, 5])])
    assert got["queue"]["tp_lost_mean"] == [7.5, 6.5, 5.5]
    assert got["queue"]["tp_recovered_per_100_reviews"] == 100 * 2 / 20  # (4 + 0) / 2 per 20
    assert got["random"]["tp_recovered_per_100_reviews"] == 100 * 1 / 20
    assert (got["copies_queue_ahead"], got["copies_queue_behind"]) == (1, 1)
    calm = {"calm_camera_weeks": 100, "calm_cameras": 10}
    drift_sum = summarise_drift([
        {"score_delay": 0, "volume_delay": None, "calm_alarms": 1, "calm_alarms_uncorrected": 4,
         "calm_cameras_alarmed": 1, **calm},
        {"score_delay": 2, "volume_delay": 1, "calm_alarms": 0, "calm_alarms_uncorrected": 2,
         "calm_cameras_alarmed": 0, **calm}])
    assert drift_sum["score_detected"] == 1.0 and drift_sum["score_delay_median"] == 1.0
    assert drift_sum["volume_detected"] == 0.5 and drift_sum["volume_delay_max"] == 1
    assert drift_sum["false_alarm_rate_per_camera_week"] == 1 / 200
    assert drift_sum["false_alarm_rate_uncorrected"] == 6 / 200
    assert drift_sum["calm_cameras_with_any_alarm"] == 1 / 20


def test_simulation_summary_quotes_the_measured_numbers() -> None:
    measured = {
        "drift": {"copies": 12, "score_detected": 8 / 12, "score_delay_median": 0.5,
                  "score_delay_max": None, "volume_detected": 1.0, "volume_delay_median": 0.0,
                  "false_alarm_rate_per_camera_week": 0.001,
                  "false_alarm_rate_uncorrected": 0.0136, "calm_cameras_with_any_alarm": 0.016},
        "reviews": {"queue": {"tp_recovered_per_100_reviews": 0.3125},
                    "random": {"tp_recovered_per_100_reviews": 0.1}, "copies_queue_ahead": 9,
                    "copies_queue_behind": 1, "oracle_tp_lost_mean": 13.42},
        "settings": {"budget": 10, "review_days": 60, "miss_rate": 0.5,
                     "target_fp_reduction": 0.5}}
    text = summary_text(measured)
    for fragment in ("Over 12 copies", "detected in 67% of them (median delay 0.5 week(s), worst "
                     "never)", "doubled volume in 100% (median delay 0 week(s))", "0.10% of "
                     "camera-weeks", "1.36% without it", "2% of the calm cameras",
                     "(10 a day for 60 days, 50% of thefts", "queue recovered 0.31 thefts",
                     "random labelling 0.10", "ahead in 9 of 12 copies, behind in 1",
                     "would lose 13.4 thefts"):
        assert fragment in text, fragment
