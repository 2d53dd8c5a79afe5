"""The SQL source against a real PostgreSQL server: validate, the per-camera curve job and plan
give what the same rows give from the CSV, also for a store name with a quote and for an
injection attempt passed as ``--store``.

The server is the system's PostgreSQL (``initdb``/``pg_ctl`` on PATH or under
/usr/lib/postgresql; ``.ci/run`` installs Debian's ``postgresql``), started in a temporary folder
on a Unix socket, and the driver is ``psycopg`` (dev extra). Without either the module is skipped
with the reason; it never fails for lack of a server.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from utils.alerts.curves import camera_curves
from utils.alerts.files import curve_stem
from utils.alerts.planning import plan_thresholds
from utils.alerts.sources import display_source, read_alerts
from utils.alerts.synth import write_synthetic_alerts
from utils.alerts.validate import load_alerts
from utils.cli import main
from utils.io import to_jsonable

psycopg = pytest.importorskip("psycopg", reason="psycopg (dev extra) is not installed")
sa = pytest.importorskip("sqlalchemy")

ROWS, SEED = 3_000, 4
QUOTED = "l'épicerie \"du coin\""
INJECTION = "x'; DROP TABLE alerts; --"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: under root, run it as ``nobody``."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root and no runuser to start PostgreSQL as another user")
    return [runuser, "-u", "nobody", "--", *command]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A throwaway PostgreSQL; yields an SQLAlchemy URL (user, password, Unix socket)."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); .ci/run installs them")
    # Not under pytest's root-only tmp folder: the server user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="actionlab-pg-"))
    data, socket_dir = folder / "data", folder / "socket"
    socket_dir.mkdir()
    (folder / "pw").write_text("s3cret\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
        shutil.chown(socket_dir, "nobody")
        shutil.chown(folder / "pw", "nobody")
    init = subprocess.run(_as_server_user([initdb, "-D", str(data), "-U", "lab", "-A", "md5",
                                           "--pwfile", str(folder / "pw"), "-E", "UTF8"]),
                          capture_output=True, text=True, check=False)
    if init.returncode != 0:
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-k {socket_dir} -c listen_addresses='' -c fsync=off"
    start = subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-o", options, "-w", "-l",
                                            str(folder / "log"), "start"]),
                           capture_output=True, text=True, check=False)
    if start.returncode != 0:
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-300:]}")
    try:
        yield f"postgresql+psycopg://lab:s3cret@/postgres?host={socket_dir}"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def loaded(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The same rows in a CSV and in a PostgreSQL table; one store renamed to hold quotes."""
    folder = tmp_path_factory.mktemp("pgdata")
    csv = write_synthetic_alerts(folder / "synth.csv", seed=SEED, n_rows=ROWS)
    raw = read_alerts(csv)
    first = sorted(raw["store"].unique())[0]
    raw.loc[raw["store"] == first, "store"] = QUOTED
    raw.to_csv(folder / "alerts.csv", sep=";")
    engine = sa.create_engine(server)
    raw.to_sql("alerts", engine, index=False, if_exists="replace")
    engine.dispose()
    return {"csv": str(folder / "alerts.csv"), "url": server}


def test_validate_matches_the_csv(loaded: dict[str, str],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    clean_csv, report_csv = load_alerts(loaded["csv"])
    clean_pg, report_pg = load_alerts(loaded["url"])
    assert report_pg.source == display_source(loaded["url"]) and "s3cret" not in report_pg.source
    expected = {**report_csv.to_dict(), "source": report_pg.source}
    assert report_pg.to_dict() == expected and report_pg.rows == ROWS
    pd.testing.assert_frame_equal(clean_pg.reset_index(drop=True),
                                  clean_csv.reset_index(drop=True), check_dtype=False)
    assert main(["alerts", "validate", "--source", loaded["url"], "--json"]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and json.loads(out)["rows"] == ROWS


def test_curve_job_of_a_quoted_store_matches_the_csv(loaded: dict[str, str],
                                                     tmp_path: Path) -> None:
    clean, _ = load_alerts(loaded["csv"])
    camera = clean.loc[clean["store"] == QUOTED, "camera"].iloc[0]
    expected = {c.key: c.to_dict() for c in camera_curves(clean)}[(QUOTED, camera)]
    for kind in ("csv", "url"):
        assert main(["alerts", "curve", "--source", loaded[kind], "--store", QUOTED,
                     "--camera", camera, "--out", str(tmp_path / kind)]) == 0
        written = json.loads((tmp_path / kind / f"{curve_stem(QUOTED, camera)}.json").read_text())
        validation = written.pop("validation")
        assert written == expected and validation["kept"] == expected["n_rows"]
        assert "s3cret" not in json.dumps(validation)


def test_an_injection_in_store_is_only_a_name(loaded: dict[str, str],
                                              capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    assert main(["alerts", "curve", "--source", loaded["url"], "--store", INJECTION,
                 "--camera", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"no usable row for store {INJECTION!r} camera '1' (0 read, 0 excluded)" in err
    _, report = load_alerts(loaded["url"])  # the table is still there, whole
    assert report.rows == ROWS


def test_plan_matches_the_csv(loaded: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    clean, _ = load_alerts(loaded["csv"])
    assert main(["alerts", "plan", "--source", loaded["url"], "--target-fp-reduction", "0.3"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan == to_jsonable(plan_thresholds(camera_curves(clean), 0.3).to_dict())
    assert any(c["store"] == QUOTED for c in plan["cameras"])


def test_followup_commands_match_the_csv(loaded: dict[str, str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """review-queue, review add (twice: idempotent), hard-negatives and monitor give on
    PostgreSQL what they give on the CSV; the reviews land in a ``reviews`` table there."""
    from test_alerts_followup import assert_same_run, run_followup

    from utils.alerts.reviews import reviews_path

    from_csv = run_followup(loaded["csv"], tmp_path / "csv", capsys)
    from_pg = run_followup(loaded["url"], tmp_path / "pg", capsys)
    assert_same_run(from_pg, from_csv)
    assert reviews_path(loaded["csv"]).is_file()
    engine = sa.create_engine(loaded["url"])
    try:
        assert sa.inspect(engine).has_table("reviews")
    finally:
        engine.dispose()
