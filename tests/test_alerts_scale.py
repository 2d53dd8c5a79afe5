"""Partitioned Parquet datasets and ``--engine dask``: the Dask engine and the partition by
partition local validation give exactly what the whole-table code gives (reports, curves,
plan.json), on generated datasets where cameras span partitions and partitions hold one row; bad
input gets the same one-line errors through both engines; importing the package does not import
Dask."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from utils.alerts.curves import camera_curves
from utils.alerts.jobs import dask_curves, plan_job, validate_job
from utils.alerts.summaries import dataset_curves
from utils.alerts.synth_dataset import write_partitioned_alerts
from utils.alerts.validate import load_alerts
from utils.cli import main
from utils.paths import REPO_ROOT

VIDEO = "2023-0{m}-02_08h00m{s:02d}s_to_2023-0{m}-02_08h00m59s_camera_{c}_ip_10.0.0.1_port_80.mp4"


def _write(folder: Path, name: str, rows: list[tuple[object, ...]],
           columns: tuple[str, ...] = ("store", "video_name", "label", "probability")) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(columns)).to_parquet(path, index=False)


def _edge_dataset(folder: Path) -> Path:
    """Hive-partitioned by store (``store=0042`` must stay text): one-row partitions, a camera
    split over three files, a duplicate across partitions, a tie between a theft and a normal,
    a camera with only a negative probability, excluded rows (one in a partition of a missing
    store), a theft-label look-alike."""
    cols = ("video_name", "label", "probability")
    root = folder / "edge"
    _write(root, "store=0042/a.parquet", [
        (VIDEO.format(m=1, s=1, c=1), "Theft", 0.5), (VIDEO.format(m=1, s=2, c=1), "Other", 0.5),
        (VIDEO.format(m=1, s=3, c=1), "Other", 0.7), (VIDEO.format(m=1, s=4, c=1), "Other", 0.2),
        (VIDEO.format(m=1, s=5, c=2), "Other", -0.1), ("no-camera.mp4", "Other", 0.3)], cols)
    _write(root, "store=0042/b.parquet", [(VIDEO.format(m=2, s=1, c=1), "Theft", 0.9)], cols)
    _write(root, "store=0042/c.parquet", [(VIDEO.format(m=1, s=3, c=1), "Other", 0.7)], cols)
    _write(root, "store=7/a.parquet", [(VIDEO.format(m=1, s=1, c=5), "Other", None)], cols)
    _write(root, "store=7/b.parquet", [(VIDEO.format(m=1, s=2, c=5), "theft ", 0.3),
                                       (VIDEO.format(m=1, s=3, c=5), "Other", 0.3)], cols)
    _write(root, "store=7/c.parquet", [(VIDEO.format(m=3, s=4, c=5), "Other", 0.95)], cols)
    # a missing store, as pyarrow and Spark write it: excluded like an empty store field
    _write(root, "store=__HIVE_DEFAULT_PARTITION__/a.parquet",
           [(VIDEO.format(m=1, s=9, c=1), "Theft", 0.8)], cols)
    return root


def _flat_dataset(folder: Path) -> Path:
    """No hive keys: two plain files (the second holds one row), cameras in both."""
    root = folder / "flat"
    _write(root, "part-0.parquet", [("s1", VIDEO.format(m=1, s=i, c=i % 3), "Theft" if i % 4 == 0
                                     else "Other", round(0.07 * i, 2)) for i in range(14)])
    _write(root, "part-1.parquet", [("s1", VIDEO.format(m=2, s=1, c=2), "Theft", 0.35)])
    return root


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("scale")
    month = write_partitioned_alerts(folder / "month", rows=1_500, cameras=6, seed=3,
                                     partition_by="month", chunk_rows=800)
    store = write_partitioned_alerts(folder / "store", rows=2_000, cameras=5, seed=4,
                                     partition_by="store", chunk_rows=700)
    assert month["files"] > 6 and store["files"] > 3  # so cameras span files
    return {"month": str(folder / "month"), "store": str(folder / "store"),
            "edge": str(_edge_dataset(folder)), "flat": str(_flat_dataset(folder)),
            "url": (folder / "edge").as_uri()}


NAMES = ["month", "store", "edge", "flat", "url"]


@pytest.mark.parametrize("name", NAMES)
def test_both_engines_give_the_whole_table_results(name: str, datasets: dict[str, str],
                                                   dask_scheduler: str) -> None:
    source = datasets[name]
    clean, whole = load_alerts(source)  # today's path: the whole table in one frame
    curves = camera_curves(clean)
    assert validate_job(source).to_dict() == whole.to_dict()  # streamed, local
    assert dataset_curves(source)[0] == curves
    on_dask, report = dask_curves(source, dask_scheduler)  # validate --engine dask's pass
    assert on_dask == curves and report.to_dict() == whole.to_dict()
    assert plan_job(0.3, "exact", source=source, engine="dask",
                    scheduler=dask_scheduler) == plan_job(0.3, "exact", source=source)


def test_edge_dataset_numbers_by_hand(datasets: dict[str, str]) -> None:
    report = validate_job(datasets["edge"])
    assert (report.rows, report.kept, report.excluded) == (13, 10, 3)
    assert report.issues["missing_store"].examples == [(12, VIDEO.format(m=1, s=9, c=1))]
    assert report.count("duplicate_rows") == 1
    assert report.issues["duplicate_rows"].examples == [(7, VIDEO.format(m=1, s=3, c=1))]
    assert report.issues["missing_probability"].examples == [(8, VIDEO.format(m=1, s=1, c=5))]
    assert report.issues["unparsable_video_name"].examples == [(5, "no-camera.mp4")]
    assert report.theft_label_variants == {"theft ": "Theft"}
    assert report.cameras_without_theft == [("0042", "2"), ("7", "5")]
    curves = {c.key: c for c in dataset_curves(datasets["edge"])[0]}
    # camera 0042/1: thefts 0.5, 0.9; normals 0.2, 0.5, 0.7, 0.7 (the duplicate is kept)
    one = curves[("0042", "1")]
    assert (one.tp_before, one.fp_before) == (2, 4)
    assert one.tp_lost.tolist() == [0, 1] and one.fp_removed.tolist() == [1, 4]
    assert one.thresholds.tolist() == [0.5, 0.9]
    # camera 7/5: normals only, its maximum (0.95) in another file than the others: mute above it
    five = curves[("7", "5")]
    assert five.fp_removed.tolist() == [3] and five.thresholds[0] > 0.95
    assert curves[("0042", "2")].n_rows == 1 and curves[("0042", "2")].n_alerts == 0


def test_cli_plan_and_curve_files_are_identical(datasets: dict[str, str], dask_scheduler: str,
                                                tmp_path: Path) -> None:
    source = datasets["store"]
    clean, _ = load_alerts(source)
    store, camera = clean.groupby(["store", "camera"]).size().idxmax()
    for engine in ("local", "dask"):
        flags = ["--engine", engine] + (["--scheduler", dask_scheduler] if engine == "dask"
                                        else [])
        assert main(["alerts", "plan", "--source", source, "--target-fp-reduction", "0.5",
                     "--out", str(tmp_path / f"{engine}.json"), *flags]) == 0
        assert main(["alerts", "curve", "--source", source, "--store", store, "--camera",
                     camera, "--out", str(tmp_path / engine), *flags]) == 0
    assert (tmp_path / "local.json").read_bytes() == (tmp_path / "dask.json").read_bytes()
    local = sorted((tmp_path / "local").glob("*.json"))
    assert len(local) == 1
    assert local[0].read_bytes() == (tmp_path / "dask" / local[0].name).read_bytes()
    assert json.loads(local[0].read_text())["tp_before"] == int(
        clean[(clean["store"] == store) & (clean["camera"] == camera)
              & (clean["probability"] >= 0)]["is_theft"].sum())


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["month", "edge"])
def test_report_and_monitor_files_are_identical_on_both_engines(
        name: str, datasets: dict[str, str], dask_scheduler: str, tmp_path: Path) -> None:
    """Every file of ``alerts report`` and ``alerts monitor`` (figures included) is the same
    byte for byte: cameras spanning files (month), one-row files and a duplicate across files
    (edge)."""
    source = datasets[name]
    for engine in (["--engine", "local"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        assert main(["alerts", "report", "--source", source, "--out",
                     str(tmp_path / f"report_{engine[1]}"), "--n-boot", "20", "--n-perm", "20",
                     *engine]) == 0
        assert main(["alerts", "monitor", "--source", source, "--reference-weeks", "2",
                     "--out", str(tmp_path / f"monitor_{engine[1]}"), *engine]) == 0
    for command in ("report", "monitor"):
        local, dask = _files(tmp_path / f"{command}_local"), _files(tmp_path / f"{command}_dask")
        assert local.keys() == dask.keys() and local == dask
    clean, _ = load_alerts(source)
    summary = json.loads((tmp_path / "report_dask" / "report.json").read_text())
    assert summary["cameras"]["total"] == clean.groupby(["store", "camera"]).ngroups
    drift = pd.read_csv(tmp_path / "monitor_dask" / "drift.csv")
    assert drift["alerts"].sum() == _monitored_alerts(clean, 2)


def _monitored_alerts(clean: pd.DataFrame, reference_weeks: int) -> int:
    """Alerts (probability >= 0) dated after the first ``reference_weeks`` weeks."""
    day = pd.to_datetime(clean["start_time"], format="%Y-%m-%d_%Hh%Mm%Ss").dt.normalize()
    alerts = day[clean["probability"] >= 0]
    monday = alerts - pd.to_timedelta(alerts.dt.day_of_week, unit="D")
    return int((monday >= monday.min() + pd.Timedelta(weeks=reference_weeks)).sum())


def test_synth_writes_the_asked_dataset_in_bounded_files(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    argv = ["data", "synth", "alerts", "--rows", "2500", "--cameras", "7", "--partition-by",
            "month", "--chunk-rows", "600", "--seed", "2", "--out", str(out)]
    assert main(argv) == 0
    files = sorted(out.glob("month=*/*.parquet"))
    sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
    assert sum(sizes) == 2_500 and max(sizes) <= 600
    frame = pd.concat([pd.read_parquet(f).assign(month=f.parent.name[len("month="):])
                       for f in files])
    assert (frame["video_name"].str.slice(0, 7) == frame["month"]).all()
    cameras = frame["store"] + "/" + frame["video_name"].str.extract(r"_camera_(\d+)_")[0]
    assert cameras.nunique() == 7 and frame["store"].str.fullmatch(r"\d{5}").all()
    first = frame.sort_values("video_name", kind="stable").reset_index(drop=True)
    assert main(argv) == 0  # same arguments: same rows (the folder is replaced whole)
    again = pd.concat([pd.read_parquet(f) for f in sorted(out.glob("month=*/*.parquet"))])
    again = again.sort_values("video_name", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(first.drop(columns="month"), again)


def _corrupt(folder: Path) -> str:
    _write(folder / "c", "a.parquet", [("s", VIDEO.format(m=1, s=1, c=1), "Theft", 0.5)])
    (folder / "c" / "b.parquet").write_bytes(b"not parquet")
    return str(folder / "c")


def _column_gone(folder: Path) -> str:
    _write(folder / "g", "a.parquet", [("s", VIDEO.format(m=1, s=1, c=1), "Theft", 0.5)])
    _write(folder / "g", "b.parquet", [("s", VIDEO.format(m=1, s=2, c=1), 0.5)],
           ("store", "video_name", "probability"))
    return str(folder / "g")


def _lists(folder: Path) -> str:
    _write(folder / "l", "a.parquet", [("s", VIDEO.format(m=1, s=1, c=1), "Theft", [0.5])])
    return str(folder / "l")


def _empty(folder: Path) -> str:
    (folder / "e").mkdir()
    return str(folder / "e")


BAD: list[tuple[str, Callable[[Path], str], list[str], str]] = [
    (f"{what} ({(command or ['validate'])[0]})", make, command, message)
    for command in ([], ["report"], ["monitor", "--reference-weeks", "1"])
    for what, make, message in [
        ("empty folder", _empty, "e: no Parquet file in this folder"),
        ("a file is not Parquet", _corrupt, "b.parquet: cannot read as Parquet"),
        ("a later file lacks a column", _column_gone,
         "b.parquet: missing column(s) label (expected store, video_name, label, probability; "
         "found store, video_name, probability)"),
        ("list column", _lists, "l: column probability holds list<element: double> values"),
    ]]


@pytest.mark.parametrize(("make", "command", "message"),
                         [pytest.param(m, c, msg, id=n) for n, m, c, msg in BAD])
def test_bad_datasets_give_the_same_error_on_both_engines(
        make: Callable[[Path], str], command: list[str], message: str, dask_scheduler: str,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = make(tmp_path)
    errors = []
    for engine in (["--engine", "local"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        sub = command or ["validate"]
        extra = ["--out", str(tmp_path / "o")] if sub[0] != "validate" else []
        assert main(["alerts", sub[0], "--source", source, *sub[1:], *extra, *engine]) == 2
        err = capsys.readouterr().err
        assert err.startswith("actionlab: error: ") and err.count("\n") == 1, err
        assert message in err and "Traceback" not in err, err
        errors.append(err)
    assert errors[0] == errors[1]


def test_a_camera_absent_from_the_dataset_is_refused_alike(datasets: dict[str, str],
                                                           dask_scheduler: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    errors = []
    for engine in (["--engine", "local"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        assert main(["alerts", "curve", "--source", datasets["edge"], "--store", "0042",
                     "--camera", "9", "--out", str(tmp_path), *engine]) == 2
        errors.append(capsys.readouterr().err)
    assert errors[0] == errors[1] and "no usable row for store '0042' camera '9'" in errors[0]


@pytest.mark.parametrize(("flags", "message"), [
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
    (["--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"],
     "--scheduler tcp://127.0.0.1:1: cannot connect"),
])
def test_engine_flags(flags: list[str], message: str, datasets: dict[str, str],
                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
                      ) -> None:
    pytest.importorskip("distributed")
    from utils.alerts import dask_engine

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    assert main(["alerts", "validate", "--source", datasets["flat"], *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("actionlab: error: ") and message in err and err.count("\n") == 1


def test_importing_the_package_does_not_import_dask(datasets: dict[str, str]) -> None:
    code = ("import sys\n"
            "import utils.alerts, utils.alerts.cli, utils.alerts.jobs, utils.alerts.engines\n"
            "import utils.alerts.summaries, utils.alerts.report, utils.cli\n"
            "from utils.cli import main\n"
            f"assert main(['alerts', 'validate', '--source', {datasets['flat']!r}]) == 0\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("seed", range(4))
def test_rebuilt_curves_equal_the_rows_curves_with_ties(seed: int, tmp_path: Path) -> None:
    """Random rows over few distinct probabilities (thefts and normals tied, values exactly 0 or
    one float apart, negatives, > 1), split at random into files: the two-pass summaries
    rebuild every camera's curve exactly."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    # 0.5 and the next float above it, and a value next to 0: placed by exact ranks, no rounding
    values = np.array([-0.1, 0.0, 1e-300, 0.1, 0.25, 0.5, np.nextafter(0.5, 1), 0.9, 1.0, 1.2])
    rows = [(f"s{rng.integers(2)}", VIDEO.format(m=1, s=i % 60, c=rng.integers(3)),
             "Theft" if rng.random() < 0.3 else "Other", float(rng.choice(values)))
            for i in range(n)]
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(3, n - 1), replace=False))
    for k, part in enumerate(np.split(np.arange(n), cuts)):
        _write(tmp_path / "ds", f"part-{k}.parquet", [rows[i] for i in part])
    clean, _ = load_alerts(tmp_path / "ds")
    assert dataset_curves(tmp_path / "ds")[0] == camera_curves(clean)


@pytest.mark.parametrize("bucket_rows", [4_000_000, 3])
def test_validate_cli_prints_the_same_report_on_dask(bucket_rows: int, datasets: dict[str, str],
                                                     dask_scheduler: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """One hash bucket, or the row hashes written into five buckets of about 3 rows: the
    duplicate across files is found either way."""
    from utils.alerts import hash_buckets

    monkeypatch.setattr(hash_buckets, "BUCKET_ROWS", bucket_rows)
    outputs = []
    for engine in (["--engine", "local"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        assert main(["alerts", "validate", "--json", "--source", datasets["edge"], *engine]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert outputs[1]["issues"]["duplicate_rows"]["count"] == 1


def test_a_dataset_url_without_fsspec_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """fsspec comes with the scale extra only (lab 3's Colab cell does not install it)."""
    from utils.alerts.dataset import open_dataset
    from utils.errors import InputError

    monkeypatch.setitem(sys.modules, "fsspec.core", None)  # as if not installed
    with pytest.raises(InputError, match=r"memory://alerts: a dataset URL needs fsspec \(pip "
                                         r"install 'actionlab\[scale\]'\)"):
        open_dataset("memory://alerts")
