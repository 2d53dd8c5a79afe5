"""Alerts data: video_name parsing, every source reader on files with known content, camera
filters pushed into SQL/Parquet/CSV, the validation report, and the synthetic generator's shape."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from utils.alerts import sources, synth
from utils.alerts.schema import VideoName, parse_video_name, parse_video_names
from utils.alerts.sources import like_escape, read_alerts
from utils.alerts.synth import KNOWN_SHAPE, synthetic_alerts, write_synthetic_alerts
from utils.alerts.validate import CLEAN_COLUMNS, load_alerts, prepare
from utils.errors import InputError
from utils.metrics import roc_auc

T0 = "2023-02-25_17h16m23s_to_2023-02-25_17h16m42s"


def name(camera: str, port: str = "554", ip: str = "192.168.1.60") -> str:
    return f"{T0}_camera_{camera}_ip_{ip}_port_{port}.mp4"


# ------------------------------------------------------------------------------ video_name


@pytest.mark.parametrize(("text", "expected"), [
    (name("60", "None"), VideoName("2023-02-25_17h16m23s", "2023-02-25_17h16m42s", "60",
                                   "192.168.1.60", None)),
    (name("7", "8080", "10.0.0.7"), VideoName("2023-02-25_17h16m23s", "2023-02-25_17h16m42s",
                                              "7", "10.0.0.7", 8080)),
    ("2023-02-25T17-16-23_to_2023-02-25T17-16-42_camera_cam_2_ip_1.2.3.4_port_None.mp4",
     VideoName("2023-02-25T17-16-23", "2023-02-25T17-16-42", "cam_2", "1.2.3.4", None)),
    ("1677345383_to_1677345402_camera_A%b_ip_h.local_port_0.mp4",
     VideoName("1677345383", "1677345402", "A%b", "h.local", 0)),
    (name("60").replace(".mp4", ".avi"), None),
    (name("60").replace("_ip_", "_"), None),
    (name("60", "http"), None),
    (f"{T0}_camera__ip_1.2.3.4_port_1.mp4", None),
    ("", None),
    (None, None),
])
def test_parse_video_name(text: str | None, expected: VideoName | None) -> None:
    assert parse_video_name(text) == expected
    column = parse_video_names(pd.Series([text], dtype=object)).iloc[0]
    if expected is None:
        assert column.isna().all()
    else:
        assert column["camera"] == expected.camera and column["dvr_ip"] == expected.dvr_ip
        assert column["start_time"] == expected.start_time
        assert (pd.isna(column["dvr_port"]) if expected.dvr_port is None
                else column["dvr_port"] == expected.dvr_port)


_PART = st.text(alphabet="_acemiprot0.-:%'", min_size=1, max_size=14)


@given(start=_PART.filter(lambda t: "_to" not in t),  # fields without the markers: else the
       end=_PART.filter(lambda t: "_camera" not in t),  # name itself would be ambiguous
       camera=_PART.filter(lambda t: not any(m in t for m in ("_ip_", "_camera", "camera_"))),
       ip=st.from_regex(r"[0-9a-z.:-]{1,15}", fullmatch=True),
       port=st.one_of(st.none(), st.integers(0, 65535)))
def test_video_name_round_trip(start: str, end: str, camera: str, ip: str,
                               port: int | None) -> None:
    text = f"{start}_to_{end}_camera_{camera}_ip_{ip}_port_{port}.mp4"
    assert parse_video_name(text) == VideoName(start, end, camera, ip, port)


# --------------------------------------------------------------------- files with known content

# One row per situation the report must count; the comment says what happens to it.
DIRTY = pd.DataFrame([
    ("s1", name("1"), "Theft", "0.9"),                   # 0 kept, theft
    ("s1", name("1"), "Other Normal", "0.2"),            # 1 kept
    ("s1", name("1"), "Other Normal", None),             # 2 excluded: missing probability
    ("s1", name("1"), None, "0.4"),                      # 3 excluded: missing label
    ("s1", "clip_0001.mp4", "Theft", "0.5"),             # 4 excluded: unparsable video_name
    ("s1", name("1"), "Store Normal Bag", "-0.1"),       # 5 kept: negative probability
    ("0042", name("7", "None"), "Suspicious", "1.5"),    # 6 kept: probability > 1, theft
    ("0042", name("7", "None"), "theft ", "0.3"),        # 7 kept: normal, near-theft label
    ("0042", name("7", "None"), "Other Normal", "abc"),  # 8 excluded: probability not a number
    ("0042", name("7", "None"), "Other Normal", "0.3"),  # 9 kept
    ("0042", name("7", "None"), "Other Normal", "0.3"),  # 10 kept: duplicate of 9
    (None, name("1"), "Other Normal", "0.1"),            # 11 excluded: missing store
    ("s2", name("x_y", "8080"), "Other Normal", "0.7"),  # 12 kept: camera without theft
], columns=["store", "video_name", "label", "probability"], dtype=object)
KEPT = [0, 1, 5, 6, 7, 9, 10, 12]


def _write(kind: str, folder: Path) -> str:
    """DIRTY in one of the supported layouts; returns the source string."""
    if kind == "csv_semicolon_index":
        path = folder / "alerts.csv"
        DIRTY.to_csv(path, sep=";")  # the known copy's layout: unnamed leading index column
    elif kind == "csv_comma":
        path = folder / "alerts_comma.csv"
        DIRTY.to_csv(path, index=False)
    elif kind == "csv_bom":
        path = folder / "alerts_bom.csv"
        DIRTY.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    elif kind == "csv_gz":
        path = folder / "alerts.csv.gz"
        path.write_bytes(gzip.compress(DIRTY.to_csv(sep=";").encode()))
    elif kind == "parquet":
        path = folder / "alerts.parquet"
        DIRTY.to_parquet(path, index=False)
    else:
        engine = sa.create_engine(f"sqlite:///{folder / 'alerts.db'}")
        DIRTY.to_sql("alerts", engine, index=False)
        engine.dispose()
        return f"sqlite:///{folder / 'alerts.db'}"
    return str(path)


KINDS = ["csv_semicolon_index", "csv_comma", "csv_bom", "csv_gz", "parquet", "sqlite"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_source_gives_the_same_clean_rows_and_counts(kind: str, tmp_path: Path) -> None:
    clean, report = load_alerts(_write(kind, tmp_path))
    assert list(clean.columns) == list(CLEAN_COLUMNS)
    assert list(clean.index) == KEPT
    assert list(clean["store"]) == ["s1"] * 3 + ["0042"] * 4 + ["s2"]  # "0042" stays text
    assert list(clean["camera"]) == ["1"] * 3 + ["7"] * 4 + ["x_y"]
    assert list(clean["is_theft"]) == [True, False, False, True, False, False, False, False]
    assert clean["probability"].dtype == np.float64
    assert clean["probability"].tolist() == [0.9, 0.2, -0.1, 1.5, 0.3, 0.3, 0.3, 0.7]
    assert clean["dvr_port"].dtype == "Int64"
    assert clean["dvr_port"].isna().tolist() == [False] * 3 + [True] * 4 + [False]
    assert clean.loc[12, "dvr_port"] == 8080

    assert (report.rows, report.kept, report.excluded) == (13, 8, 5)
    assert (report.cameras, report.thefts, report.normals) == (3, 2, 6)
    counts = {key: issue.count for key, issue in report.issues.items()}
    assert counts == {"missing_probability": 1, "invalid_probability": 1, "missing_label": 1,
                      "missing_store": 1, "unparsable_video_name": 1,
                      "negative_probability": 1, "probability_above_one": 1,
                      "duplicate_rows": 1}
    rows = {key: [row for row, _ in issue.examples] for key, issue in report.issues.items()}
    assert rows == {"missing_probability": [2], "invalid_probability": [8], "missing_label": [3],
                    "missing_store": [11], "unparsable_video_name": [4],
                    "negative_probability": [5], "probability_above_one": [6],
                    "duplicate_rows": [10]}
    assert report.issues["invalid_probability"].examples[0][1] == "abc"
    assert report.labels == {"Other Normal": 4, "Store Normal Bag": 1, "Suspicious": 1,
                             "Theft": 1, "theft ": 1}
    assert report.theft_label_variants == {"theft ": "Theft"}
    assert report.cameras_without_theft == [("s2", "x_y")]

    text = report.to_text()
    assert "13 rows read; 8 kept, 5 excluded." in text
    assert "probability not a finite number: 1 row (excluded), e.g. row 8: 'abc'" in text
    assert "'theft ' looks like the theft label 'Theft'" in text
    assert "Cameras without any theft (1): s2/x_y." in text
    assert text.splitlines()[-1].startswith("Policy: Excluded: rows with a missing")
    as_dict = report.to_dict()
    assert as_dict["excluded"] == 5
    assert as_dict["issues"]["missing_store"]["examples"] == [{"row": 11, "value": name("1")}]


def test_clean_data_reports_no_problem() -> None:
    raw = DIRTY.iloc[[0, 1, 9]].reset_index(drop=True)
    _, report = prepare(raw)
    assert report.excluded == 0 and not any(i.count for i in report.issues.values())
    assert "no problem found in any row." in report.to_text()


# -------------------------------------------------------------------------- camera filters

TRICKY_STORE = "O'Brien \"shop\"; DROP TABLE alerts; --"
TRICKY = pd.DataFrame({
    "store": [TRICKY_STORE] * 5 + ["other"] * 2,
    "video_name": [name("1_%"), name("1ab"), name("A1"), name("a1"), name("1_%"),
                   name("1_%"), name("1_%x")],
    "label": ["Theft", "Other Normal", "Other Normal", "Theft", "Other Normal",
              "Other Normal", "Other Normal"],
    "probability": [0.5, 0.4, 0.3, 0.2, 0.1, 0.6, 0.7],
})


@pytest.fixture(scope="module")
def tricky_sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("tricky")
    TRICKY.to_csv(folder / "t.csv", sep=";")
    TRICKY.to_parquet(folder / "t.parquet", index=False)
    engine = sa.create_engine(f"sqlite:///{folder / 't.db'}")
    TRICKY.to_sql("my alerts", engine, index=False)
    engine.dispose()
    return {"csv": str(folder / "t.csv"), "parquet": str(folder / "t.parquet"),
            "sqlite": f"sqlite:///{folder / 't.db'}"}


@pytest.mark.parametrize("kind", ["csv", "parquet", "sqlite"])
@pytest.mark.parametrize(("store", "camera", "expected"), [
    (TRICKY_STORE, "1_%", [0.5, 0.1]),  # not 1ab (LIKE wildcards), not the other store
    (TRICKY_STORE, "A1", [0.3]),        # not a1 (SQLite LIKE ignores case)
    ("other", "1_%", [0.6]),
    (TRICKY_STORE, None, [0.5, 0.4, 0.3, 0.2, 0.1]),
    (None, "1_%", [0.5, 0.1, 0.6]),
    ("nobody", "1", []),
])
def test_filters_read_exactly_the_camera(kind: str, store: str | None, camera: str | None,
                                         expected: list[float], tricky_sources: dict[str, str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "CHUNK_ROWS", 2)  # the CSV filter must work across chunks
    table = "my alerts" if kind == "sqlite" else "alerts"
    raw = read_alerts(tricky_sources[kind], table=table, store=store, camera=camera)
    assert pd.to_numeric(raw["probability"]).tolist() == expected
    assert list(raw.columns) == ["store", "video_name", "label", "probability"]


def test_sql_filter_uses_bound_parameters(tricky_sources: dict[str, str]) -> None:
    seen: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        read_alerts(tricky_sources["sqlite"], table="my alerts", store=TRICKY_STORE,
                    camera="1_%")
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    statement, params = next((s, p) for s, p in seen if "LIKE" in s)
    assert "WHERE" in statement and "O'Brien" not in statement and "1_%" not in statement
    assert TRICKY_STORE in params and "%\\_camera\\_1\\_\\%\\_ip\\_%" in params


def test_like_escape() -> None:
    assert like_escape("a_b%c\\d") == "a\\_b\\%c\\\\d"


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.csv", "no such file"),
    (lambda d: _text(d / "a.xlsx", "x"), "unsupported file type"),
    (lambda d: _text(d / "a.csv", ""), "empty file"),
    (lambda d: _text(d / "a.csv", ";store;video_name;probability\n0;s;v;0.1\n"),
     "missing column(s) label"),
    (lambda d: _text(d / "a.parquet", "not parquet"), "cannot read as Parquet"),
    (lambda d: _parquet_without_label(d), "missing column(s) label"),
    (lambda d: f"sqlite:///{_sqlite(d)}", "no table 'alerts' (tables: other)"),
    (lambda d: "nosuchdialect://x/y", "not a usable SQLAlchemy URL"),
])
def test_bad_sources_raise_one_line_input_errors(make, message: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_alerts(make(tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)


def _text(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


def _parquet_without_label(folder: Path) -> Path:
    DIRTY.drop(columns="label").to_parquet(folder / "a.parquet")
    return folder / "a.parquet"


def _sqlite(folder: Path) -> Path:
    engine = sa.create_engine(f"sqlite:///{folder / 'x.db'}")
    DIRTY.to_sql("other", engine, index=False)
    engine.dispose()
    return folder / "x.db"


def test_sql_table_without_a_column(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    DIRTY.drop(columns="probability").to_sql("alerts", engine, index=False)
    engine.dispose()
    with pytest.raises(InputError, match=r"table 'alerts': missing column\(s\) probability"):
        read_alerts(f"sqlite:///{tmp_path / 'x.db'}")


# ------------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def full_synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, object]:
    path = write_synthetic_alerts(tmp_path_factory.mktemp("synth") / "alerts.csv", seed=0)
    return load_alerts(path)


def test_synthetic_file_has_the_known_shape(full_synthetic) -> None:
    clean, report = full_synthetic
    assert report.rows == KNOWN_SHAPE["rows"] == 158_136
    assert report.count("missing_probability") == 2_199
    assert report.count("missing_label") == 1
    assert report.excluded == 2_199  # the row without a label has no probability either
    assert (report.thefts, report.normals) == (1_601, 154_336)
    assert report.cameras == 45 and clean["store"].nunique() == 45
    assert clean["camera"].nunique() == 30
    assert len(report.cameras_without_theft) == 6
    assert report.count("negative_probability") == 5
    for key in ("invalid_probability", "missing_store", "unparsable_video_name",
                "probability_above_one", "duplicate_rows"):
        assert report.count(key) == 0, key
    assert len([lbl for lbl in report.labels if lbl in synth.THEFT_LABEL_WEIGHTS]) == 5
    assert len([lbl for lbl in report.labels if lbl in synth.NORMAL_LABEL_WEIGHTS]) == 3
    assert "00417" in set(clean["store"])
    assert 0 < clean["dvr_port"].isna().mean() < 1


def test_synthetic_cameras_are_heterogeneous(full_synthetic) -> None:
    clean, _ = full_synthetic
    aucs = [roc_auc(g["is_theft"], g["probability"])
            for _, g in clean.groupby(["store", "camera"]) if g["is_theft"].any()]
    assert min(aucs) < 0.2 and max(aucs) > 0.85
    sizes = clean.groupby(["store", "camera"]).size()
    assert sizes.max() > 10 * sizes.min()


def test_synthetic_scales_down_proportionally() -> None:
    _, report = prepare(synthetic_alerts(seed=5, n_rows=20_000))
    assert report.rows == 20_000
    assert report.count("missing_probability") == round(2_199 * 20_000 / 158_136) == 278
    assert report.thefts == round(1_601 * 20_000 / 158_136) == 202
    assert report.normals == 20_000 - 278 - 202
    assert report.cameras == 45 and len(report.cameras_without_theft) == 6


def test_synthetic_is_deterministic_by_seed(tmp_path: Path) -> None:
    a = write_synthetic_alerts(tmp_path / "a.csv.gz", seed=1, n_rows=3_000).read_bytes()
    b = write_synthetic_alerts(tmp_path / "b.csv.gz", seed=1, n_rows=3_000).read_bytes()
    c = write_synthetic_alerts(tmp_path / "c.csv.gz", seed=2, n_rows=3_000).read_bytes()
    assert a == b and a != c
    text = gzip.decompress(a).decode()
    assert text.startswith(";store;video_name;label;probability\n0;")
    assert write_synthetic_alerts(tmp_path / "a.csv", seed=1, n_rows=3_000).read_text() == text


def test_synthetic_rejects_tiny_sizes() -> None:
    with pytest.raises(InputError, match="at least 1000"):
        synthetic_alerts(n_rows=10)


def test_alerts_data_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real" / "alerts.csv"
    monkeypatch.setattr(synth, "REAL_ALERTS_PATH", real)
    monkeypatch.setattr(synth, "SYNTHETIC_DIR", tmp_path / "synthetic")
    with pytest.raises(InputError, match="does not exist"):
        synth.alerts_data("real")
    choice = synth.alerts_data("auto", n_rows=2_000, seed=4)
    assert choice.synthetic and choice.path.name == "alerts_v1_seed4_rows2000.csv"
    stamp = choice.path.stat().st_mtime_ns
    assert synth.alerts_data("synthetic", n_rows=2_000, seed=4).path.stat().st_mtime_ns == stamp
    real.parent.mkdir()
    real.write_text("")
    assert synth.alerts_data("auto").path == real and not synth.alerts_data("auto").synthetic
    assert synth.alerts_data("synthetic", n_rows=2_000, seed=4).synthetic
