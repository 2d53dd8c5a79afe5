"""Every bad input of the ``actionlab alerts`` commands and ``data synth alerts``: one table per
command (arguments built in a temporary folder, exit code, the exact fragment of the one-line
message), so the next bad input is one row. Behaviour that is not a message (what is kept on
disk, file modes, masked passwords in outputs) is checked by the tests after the tables."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from bad_input import one_error_line

from utils.alerts import files
from utils.alerts.files import curve_stem
from utils.alerts.sources import display_source, read_alerts
from utils.alerts.synth import write_synthetic_alerts
from utils.alerts.validate import load_alerts
from utils.cli import main
from utils.errors import InputError

ROWS, SEED = 2_000, 5
VIDEO = "2023-01-02_08h00m00s_to_2023-01-02_08h00m10s_camera_{}_ip_10.0.0.1_port_80.mp4"
Args = Callable[[dict[str, str], Path], list[str]]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("bad")
    csv = write_synthetic_alerts(folder / "alerts.csv", seed=SEED, n_rows=ROWS)
    clean, _ = load_alerts(csv)
    store, camera = clean.groupby(["store", "camera"]).size().idxmax()
    engine = sa.create_engine(f"sqlite:///{folder / 'alerts.db'}")
    read_alerts(csv).to_sql("alerts", engine, index=False)
    engine.dispose()
    return {"csv": str(csv), "store": store, "camera": camera, "db": str(folder / "alerts.db")}


def _rows(folder: Path, name: str, rows: list[tuple[str, str, str, str]], sep: str = ";",
          header: str | None = None, encoding: str = "utf-8") -> str:
    head = header if header is not None else sep.join(("store", "video_name", "label",
                                                       "probability"))
    lines = [head, *(sep.join(r) for r in rows)]
    (folder / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return str(folder / name)


def _one_row(folder: Path, name: str, **kw: str) -> str:
    row = {"store": "s1", "video_name": VIDEO.format(1), "label": "Theft", "probability": "0.9"}
    row.update(kw)
    return _rows(folder, name, [tuple(row.values())])  # type: ignore[list-item]


def _parquet_lists(folder: Path) -> str:
    pd.DataFrame({"store": ["s"], "video_name": [VIDEO.format(1)], "label": ["Theft"],
                  "probability": [[0.1, 0.2]]}).to_parquet(folder / "lists.parquet")
    return str(folder / "lists.parquet")


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "fifo.json")
    return str(folder / "fifo.json")


def _symlink(folder: Path, name: str = "link.json") -> str:
    (folder / "precious.txt").write_text("not yours\n")
    (folder / name).symlink_to(folder / "precious.txt")
    return str(folder / name)


def _curves(folder: Path, data: dict) -> str:
    (folder / "curves").mkdir(exist_ok=True)
    (folder / "curves" / "a.json").write_text(json.dumps(data))
    return str(folder / "curves")


def _foreign_summary(folder: Path, store: str, camera: str) -> str:
    """A folder where ``store``/``camera``'s summary file holds another camera."""
    (folder / "o").mkdir()
    stem = curve_stem(store, camera)
    (folder / "o" / f"{stem}.json").write_text(json.dumps({"store": "other", "camera": "7"}))
    return str(folder / "o")


UNEVEN = {"store": "s", "camera": "1", "n_rows": 3, "n_alerts": 3, "tp_before": 1,
          "fp_before": 2, "tp_lost": [0, 1], "fp_removed": [0], "thresholds": [0.0, 0.5]}

VALIDATE: list[tuple[str, Args, str]] = [
    ("missing file", lambda s, d: [str(d / "none.csv")], "none.csv: no such file"),
    ("no table", lambda s, d: [f"sqlite:///{s['db']}", "--table", "nope"],
     "no table 'nope' (tables: alerts)"),
    ("sqlite file missing", lambda s, d: [f"sqlite:///{d / 'missing.db'}"],
     "no such SQLite database file"),
    ("password in a failing URL", lambda s, d: ["postgresql://ann:s3cret@127.0.0.1:1/db"],
     "postgresql://ann:***@127.0.0.1:1/db: "),
    ("password as a query parameter", lambda s, d: [
        "postgresql://ann@127.0.0.1:1/db?password=s3cret&sslmode=disable"],
     "postgresql://ann@127.0.0.1:1/db?password=***&sslmode=disable: "),
    ("both passwords, sqlite", lambda s, d: [f"sqlite:///{d / 'm.db'}?sslpassword=s3cret"],
     "m.db?sslpassword=***: no such SQLite database file"),
    ("latin-1 file", lambda s, d: [_rows(d, "l1.csv", [("caf\xe9", VIDEO.format(1), "Theft",
                                                         "0.5")], encoding="latin-1")],
     "l1.csv: not UTF-8 text (invalid continuation byte); save it as UTF-8"),
    ("tab file without a column", lambda s, d: [_rows(d, "t.tsv", [("a", "b", "c")], sep="\t",
                                                       header="store\tvideo_name\tlabel")],
     "t.tsv (separator tab): missing column(s) probability"),
    ("duplicate column", lambda s, d: [_rows(d, "dup.csv", [("a", "b", "c", "0.1", "x")],
                                             header="store;video_name;label;probability;store")],
     "dup.csv (separator ';'): duplicated column name(s) store"),
    ("parquet list column", lambda s, d: [_parquet_lists(d)],
     "lists.parquet: column probability holds list<element: double> values"),
    ("headerless", lambda s, d: [_rows(d, "h.csv", [("1", "2")], header="a;b")],
     "h.csv (separator ';'): missing column(s) store, video_name, label, probability"),
    ("unknown type", lambda s, d: [str(Path(_one_row(d, "x.csv")).rename(d / "x.xlsx"))],
     "x.xlsx: unsupported file type"),
]

CURVE: list[tuple[str, Args, str]] = [
    ("no row of the camera", lambda s, d: ["--source", s["csv"], "--store", "00417",
                                           "--camera", "999", "--out", str(d / "o")],
     "no usable row for store '00417' camera '999'"),
    ("out is a file", lambda s, d: ["--source", s["csv"], "--store", s["store"], "--camera",
                                    s["camera"], "--out", _one_row(d, "f.csv")],
     "f.csv: exists and is not a folder"),
    ("summary of another camera in the way", lambda s, d: [
        "--source", s["csv"], "--store", s["store"], "--camera", s["camera"], "--out",
        _foreign_summary(d, s["store"], s["camera"])], "holds camera other/7, not"),
]

PLAN: list[tuple[str, Args, str]] = [
    ("target 0", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0"],
     "--target-fp-reduction must be in (0, 1], got 0.0"),
    ("target 1.5", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "1.5"],
     "--target-fp-reduction must be in (0, 1], got 1.5"),
    ("empty curves folder", lambda s, d: ["--curves", str(d), "--target-fp-reduction", "0.5"],
     "no camera summary (*.json) found"),
    ("not a summary", lambda s, d: ["--curves", _curves(d, {"method": "exact"}),
                                    "--target-fp-reduction", "0.5"],
     "a.json: not a camera curve summary ('store')"),
    ("arrays of different lengths", lambda s, d: ["--curves", _curves(d, UNEVEN),
                                                  "--target-fp-reduction", "0.5"],
     "must be 1-D of one length, got 2, 1 and 2"),
    ("out is a folder", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                      "--out", str(d)], "is a folder, not a regular file"),
    ("out is a symlink", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                       "--out", _symlink(d)], "is a symlink, not a regular file"),
    ("out is a FIFO", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                    "--out", _fifo(d)], "is a FIFO, not a regular file"),
    ("out is a device", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                      "--out", "/dev/null"], "/dev/null: is a device"),
    ("out under a file", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                       "--out", f"{_one_row(d, 'f.csv')}/plan.json"],
     "f.csv: exists and is not a folder"),
    ("out unwritable", lambda s, d: ["--source", s["csv"], "--target-fp-reduction", "0.3",
                                     "--out", "/proc/plan.json"], "/proc/plan.json: cannot write"),
]

REPORT: list[tuple[str, Args, str]] = [
    ("seed -1", lambda s, d: ["--source", s["csv"], "--out", str(d / "r"), "--seed", "-1"],
     "--seed must be >= 0, got -1"),
    ("out is a file", lambda s, d: ["--source", s["csv"], "--out", _one_row(d, "f.csv")],
     "f.csv: exists and is not a folder; refusing to replace it"),
    ("out holds other files", lambda s, d: ["--source", s["csv"], "--out", _one_row(d, "f.csv")
                                            .rsplit("/", 1)[0]],
     "folder is not empty and holds no report.json; refusing to replace files"),
    ("no usable row", lambda s, d: ["--source", _one_row(d, "n.csv", probability=""),
                                    "--out", str(d / "r")],
     "n.csv: no usable alert row after validation"),
]

SYNTH: list[tuple[str, Args, str]] = [
    ("seed -1", lambda s, d: ["--out", str(d / "a.csv"), "--seed", "-1"],
     "seed must be >= 0, got -1"),
    ("too few rows", lambda s, d: ["--out", str(d / "a.csv"), "--rows", "10"],
     "n_rows must be at least 1000, got 10"),
    ("unknown extension", lambda s, d: ["--out", str(d / "a.xlsx")],
     "a.xlsx: unsupported extension; use .csv, .csv.gz or .parquet"),
    ("out is a symlink", lambda s, d: ["--out", _symlink(d, "a.csv"), "--rows", "1000"],
     "is a symlink, not a regular file"),
    ("cameras without a partitioning", lambda s, d: ["--out", str(d / "a.csv"), "--cameras", "3"],
     "--cameras needs --partition-by (a partitioned dataset)"),
    ("dataset without cameras", lambda s, d: ["--out", str(d / "ds"), "--rows", "10",
                                              "--partition-by", "store"],
     "--partition-by needs --rows and --cameras"),
    ("fewer rows than cameras", lambda s, d: ["--out", str(d / "ds"), "--rows", "2", "--cameras",
                                              "3", "--partition-by", "month"],
     "--rows (2) must be at least --cameras (3): every camera has a row"),
    ("dataset over other files", lambda s, d: ["--out", _one_row(d, "f.csv").rsplit("/", 1)[0],
                                               "--rows", "4", "--cameras", "2",
                                               "--partition-by", "month"],
     "folder is not empty and holds no _synth.json; refusing to replace files"),
]

def _video(s: dict[str, str]) -> str:
    return str(read_alerts(s["csv"])["video_name"].iloc[0])


def _reviewed(s: dict[str, str], folder: Path) -> str:
    """A copy of the CSV source whose first video is already reviewed as normal."""
    import shutil

    from utils.alerts.reviews import add_reviews

    source = str(shutil.copy(s["csv"], folder / "copy.csv"))
    add_reviews(source, pd.DataFrame({"video_name": [_video(s)], "store": "x", "camera": "1",
                                      "verdict": "normal", "reviewer": "ann",
                                      "reviewed_at": "2024-01-01T00:00:00+00:00"}))
    return source


def _bad_reviews_file(s: dict[str, str], folder: Path) -> str:
    import shutil

    source = str(shutil.copy(s["csv"], folder / "copy.csv"))
    (folder / "copy.reviews.csv").write_text("video_name,verdict\nv,theft\n")
    return source


QUEUE: list[tuple[str, Args, str]] = [
    ("bad date", lambda s, d: ["--source", s["csv"], "--budget", "5", "--date", "2023-13-01"],
     "--date must be a day written YYYY-MM-DD, got '2023-13-01'"),
    ("target 1.5", lambda s, d: ["--source", s["csv"], "--budget", "5", "--date", "2023-02-01",
                                 "--target-fp-reduction", "1.5"],
     "target FP reduction must be a fraction in (0, 1], got 1.5"),
    ("not a plan", lambda s, d: ["--source", s["csv"], "--budget", "5", "--date", "2023-02-01",
                                 "--plan", _curves(d, {"method": "exact"}) + "/a.json"],
     "a.json: not a plan written by `alerts plan` ('cameras')"),
    ("missing source", lambda s, d: ["--source", str(d / "none.csv"), "--budget", "5",
                                     "--date", "2023-02-01"], "none.csv: no such file"),
    ("reviews file of another kind", lambda s, d: ["--source", _bad_reviews_file(s, d),
                                                   "--budget", "5", "--date", "2023-02-01"],
     "copy.reviews.csv: not a reviews file (missing column(s) store, camera, reviewer"),
]

REVIEW_ADD: list[tuple[str, Args, str]] = [
    ("unknown video", lambda s, d: ["--source", s["csv"], "--video", "nope.mp4", "--verdict",
                                    "theft", "--reviewer", "ann"],
     "no usable alert with video_name 'nope.mp4'"),
    ("unknown verdict", lambda s, d: ["--source", s["csv"], "--video", _video(s), "--verdict",
                                      "maybe", "--reviewer", "ann"],
     "--verdict must be one of theft, normal, got 'maybe'"),
    ("bad time", lambda s, d: ["--source", s["csv"], "--video", _video(s), "--verdict", "theft",
                               "--reviewer", "ann", "--at", "yesterday"],
     "--at must be an ISO 8601 time such as 2024-03-01T17:05:00, got 'yesterday'"),
    ("empty reviewer", lambda s, d: ["--source", s["csv"], "--video", _video(s), "--verdict",
                                     "theft", "--reviewer", " "],
     "--reviewer must name who reviewed"),
    ("another verdict for a reviewed video", lambda s, d: [
        "--source", _reviewed(s, d), "--video", _video(s), "--verdict", "theft", "--reviewer",
        "bob"], "already reviewed as 'normal' by ann at 2024-01-01T00:00:00+00:00; a review is "
                "not overwritten"),
    ("sqlite file missing", lambda s, d: ["--source", f"sqlite:///{d / 'missing.db'}",
                                          "--video", "v", "--verdict", "theft", "--reviewer",
                                          "ann"], "no such SQLite database file"),
]

HARD: list[tuple[str, Args, str]] = [
    ("out is a folder", lambda s, d: ["--source", s["csv"], "--out", str(d)],
     "is a folder, not a regular file"),
]

MONITOR: list[tuple[str, Args, str]] = [
    ("reference covers everything", lambda s, d: ["--source", s["csv"], "--reference-weeks",
                                                  "100", "--out", str(d / "m")],
     "week(s); --reference-weeks 100 leaves no week to monitor"),
    ("alpha 2", lambda s, d: ["--source", s["csv"], "--reference-weeks", "4", "--alpha", "2",
                              "--out", str(d / "m")], "alpha must be in (0, 1), got 2.0"),
    ("out holds other files", lambda s, d: ["--source", s["csv"], "--reference-weeks", "4",
                                            "--out", _one_row(d, "f.csv").rsplit("/", 1)[0]],
     "folder is not empty and holds no monitor.json; refusing to replace files"),
]

COMMANDS = {("alerts", "validate"): VALIDATE, ("alerts", "curve"): CURVE,
            ("alerts", "plan"): PLAN, ("alerts", "report"): REPORT,
            ("data", "synth", "alerts"): SYNTH, ("alerts", "review-queue"): QUEUE,
            ("alerts", "review", "add"): REVIEW_ADD, ("alerts", "hard-negatives"): HARD,
            ("alerts", "monitor"): MONITOR}
TABLE = [pytest.param(command, args, message, id=f"{command[-1]}: {name}")
         for command, rows in COMMANDS.items() for name, args, message in rows]


def _with_source_flag(command: tuple[str, ...], args: list[str]) -> list[str]:
    return ["--source", *args] if command[-1] == "validate" else args


@pytest.mark.parametrize(("command", "args", "message"), TABLE)
def test_bad_input_exits_2_with_one_line(command: tuple[str, ...], args: Args, message: str,
                                         sources: dict[str, str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*command, *_with_source_flag(command, args(sources, tmp_path))]
    err = one_error_line(capsys, argv, 2, message)
    assert "s3cret" not in err and "Traceback" not in err


# ------------------------------------------------------- what stays on disk, what is written


def test_a_refused_symlink_keeps_its_target(sources: dict[str, str], tmp_path: Path) -> None:
    link = _symlink(tmp_path)
    assert main(["alerts", "plan", "--source", sources["csv"], "--target-fp-reduction", "0.3",
                 "--out", link]) == 2
    assert (tmp_path / "precious.txt").read_text() == "not yours\n"
    assert Path(link).is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == [
        "link.json", "precious.txt"]  # no temporary file left behind


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_outputs_follow_the_umask(umask: int, sources: dict[str, str], tmp_path: Path) -> None:
    old = os.umask(umask)
    try:
        assert main(["alerts", "plan", "--source", sources["csv"], "--target-fp-reduction",
                     "0.3", "--out", str(tmp_path / "plan.json")]) == 0
        write_synthetic_alerts(tmp_path / "a.csv.gz", n_rows=1000)
    finally:
        os.umask(old)
    for name in ("plan.json", "a.csv.gz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_cameras_whose_names_clean_alike_get_distinct_files(tmp_path: Path) -> None:
    stores = ["shop/1", "shop?1", "shop-1"]  # all three clean to "shop-1"
    rows = [(store, VIDEO.format(3), label, p) for store in stores
            for label, p in (("Theft", "0.9"), ("Other Normal", "0.2"), ("Other Normal", "0.95"))]
    source = _rows(tmp_path, "alike.csv", rows)
    stems = {curve_stem(store, "3") for store in stores}
    assert len(stems) == 3 and "shop-1_camera_3" in stems  # a name needing no cleaning stays
    for store in stores:
        assert main(["alerts", "curve", "--source", source, "--store", store, "--camera", "3",
                     "--out", str(tmp_path / "curves")]) == 0
    assert len(list((tmp_path / "curves").glob("*.json"))) == 3
    curves = files.read_curve_folder(tmp_path / "curves")
    assert sorted(c.store for c in curves) == sorted(stores)


def test_a_name_collision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "curve_stem", lambda store, camera: "same")
    with pytest.raises(InputError, match=r"would both be written to same\.\*"):
        files.check_stems([("a", "1"), ("b", "1")])
    files.check_stems([("a", "1"), ("a", "1")])  # the same camera twice is not a collision


def _subset(sources: dict[str, str], folder: Path, n: int) -> str:
    raw = read_alerts(sources["csv"])
    stores = sorted(raw["store"].unique())[:n]
    raw[raw["store"].isin(stores)].to_csv(folder / f"first{n}.csv", sep=";")
    return str(folder / f"first{n}.csv")


def test_a_report_folder_holds_exactly_one_run(sources: dict[str, str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    fast = ["--n-boot", "5", "--n-perm", "5"]
    assert main(["alerts", "report", "--source", _subset(sources, tmp_path, 3), "--out",
                 str(out), *fast]) == 0
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(list((out / "cameras").glob("*.json"))) == 3
    # A run that fails half way leaves the previous run as it was, and no temporary folder.
    import utils.alerts.plots as plots

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "plot_frontiers", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        main(["alerts", "report", "--source", _subset(sources, tmp_path, 2), "--out", str(out),
              *fast])
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    monkeypatch.undo()
    # A new run replaces the old one whole: no camera file of the earlier run stays.
    assert main(["alerts", "report", "--source", _subset(sources, tmp_path, 2), "--out",
                 str(out), *fast]) == 0
    assert len(list((out / "cameras").glob("*.json"))) == 2
    assert json.loads((out / "report.json").read_text())["cameras"]["total"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first2.csv", "first3.csv", "report"]


def test_spaces_around_header_names_and_tabs_are_read(sources: dict[str, str],
                                                      tmp_path: Path) -> None:
    raw = read_alerts(sources["csv"])
    text = Path(sources["csv"]).read_text().splitlines()
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("\n".join([" ; store ;video_name ; label;probability ", *text[1:]]) + "\n")
    raw.to_csv(tmp_path / "tabs.tsv", sep="\t", index=False)
    for path in (spaced, tmp_path / "tabs.tsv"):
        pd.testing.assert_frame_equal(read_alerts(path).reset_index(drop=True),
                                      raw.reset_index(drop=True))


def test_infinite_probabilities_are_excluded_and_json_stays_valid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [("s", VIDEO.format(1), "Theft", p) for p in ("inf", "-inf", "0.5", "1.5", "-0.1")]
    source = _rows(tmp_path, "inf.csv", rows)
    _, report = load_alerts(source)
    assert report.count("invalid_probability") == 2 and report.kept == 3
    assert report.count("probability_above_one") == 1  # 1.5 only, not inf
    assert report.count("negative_probability") == 1  # -0.1 only, not -inf
    assert main(["alerts", "validate", "--source", source, "--json"]) == 0
    out = capsys.readouterr().out

    def reject(constant: str) -> None:
        raise AssertionError(f"invalid JSON constant {constant}")

    data = json.loads(out, parse_constant=reject)
    assert [e["value"] for e in data["issues"]["invalid_probability"]["examples"]] == [
        "inf", "-inf"]


def test_synth_honours_the_parquet_extension(tmp_path: Path) -> None:
    assert main(["data", "synth", "alerts", "--out", str(tmp_path / "a.parquet"), "--rows",
                 "1000"]) == 0
    assert main(["data", "synth", "alerts", "--out", str(tmp_path / "a.csv"), "--rows",
                 "1000"]) == 0
    assert (tmp_path / "a.parquet").read_bytes()[:4] == b"PAR1"
    from_parquet, report = load_alerts(tmp_path / "a.parquet")
    from_csv, _ = load_alerts(tmp_path / "a.csv")
    assert report.rows == 1000
    pd.testing.assert_frame_equal(from_parquet.reset_index(drop=True),
                                  from_csv.reset_index(drop=True))


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ann:s3cret@db.example:5432/shop", "postgresql://ann:***@db.example:5432/shop"),
    ("postgresql://ann@db.example/shop?sslmode=require&password=s3cret&api_key=s3cret",
     "postgresql://ann@db.example/shop?api_key=***&password=***&sslmode=require"),
    ("mysql+pymysql://ann:s3cret@db/shop?token=s3cret", "mysql+pymysql://ann:***@db/shop?token=***"),
], ids=["user:pass@", "?password=", "both"])
def test_a_password_is_masked_in_messages_and_outputs(
        url: str, shown: str, sources: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert display_source(url) == shown
    # The rows of the CSV served as if from the server: what reaches the outputs is the point.
    from utils.alerts import sources as readers

    raw = read_alerts(sources["csv"])
    monkeypatch.setattr(readers, "read_alerts", lambda source, **kw: raw[
        (raw["store"] == kw["store"]) if kw.get("store") else slice(None)])
    assert main(["alerts", "curve", "--source", url, "--store", sources["store"], "--camera",
                 sources["camera"], "--out", str(tmp_path / "c")]) == 0
    written = (tmp_path / "c" / f"{curve_stem(sources['store'], sources['camera'])}.json")
    assert "s3cret" not in written.read_text()
    assert json.loads(written.read_text())["validation"]["source"] == display_source(url)
    assert main(["alerts", "validate", "--source", url]) == 0
    assert "s3cret" not in capsys.readouterr().out
    # report.json, validation.json and validation.txt of `alerts report` take this source
    assert load_alerts(url)[1].source == shown
