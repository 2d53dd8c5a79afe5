"""The ``reviews`` table: who labelled which alert, when, and as what, stored with the alerts.

Where it lives: an SQL source gets a ``reviews`` table in the same database; a CSV or Parquet
source gets the file ``<name>.reviews.csv`` beside it (:func:`reviews_path`). One row per video:

    video_name, store, camera, verdict ('theft' or 'normal'), reviewer, reviewed_at (UTC, ISO 8601)

Adding is atomic and idempotent: a batch is written whole or not at all (one SQL transaction;
for a file, a temporary file renamed over the old one under a lock), and a video already
reviewed with the same verdict is counted, not duplicated. A different verdict for a reviewed
video is refused: a review is a record, not a setting to overwrite.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from utils.errors import InputError
from utils.io import atomic_path

if TYPE_CHECKING:
    import sqlalchemy as sa

REVIEW_COLUMNS = ("video_name", "store", "camera", "verdict", "reviewer", "reviewed_at")
VERDICTS = ("theft", "normal")
TABLE = "reviews"


def reviews_path(source: str | Path) -> Path:
    """The reviews file of a file source: ``alerts.csv.gz`` -> ``alerts.reviews.csv``."""
    path = Path(source).expanduser()
    name = path.name
    for suffix in (".csv.gz", ".csv", ".txt", ".tsv", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(f"{name}.reviews.csv")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in REVIEW_COLUMNS})


@dataclass(frozen=True)
class Added:
    """What one call of :func:`add_reviews` did."""

    added: int
    already: int  # reviews identical to one already stored (not written again)
    where: str


# ------------------------------------------------------------------------------------ checks


def check_batch(batch: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``batch`` to write: verdicts checked, a video repeated with one verdict kept
    once, videos already stored with the same verdict dropped; a conflicting verdict (inside
    the batch or against a stored review) is an :class:`InputError` naming the video."""
    bad = batch[~batch["verdict"].isin(VERDICTS)]
    if len(bad):
        raise InputError(f"verdict {bad['verdict'].iloc[0]!r} for {bad['video_name'].iloc[0]}: "
                         f"use one of {', '.join(VERDICTS)}")
    verdicts = batch.groupby("video_name")["verdict"].nunique()
    if (verdicts > 1).any():
        raise InputError(f"{verdicts[verdicts > 1].index[0]}: two different verdicts in one "
                         "batch")
    batch = batch.drop_duplicates("video_name", keep="first")
    known = stored.set_index("video_name")["verdict"]
    seen = batch[batch["video_name"].isin(known.index)]
    clash = seen[seen["verdict"].to_numpy() != known.loc[seen["video_name"]].to_numpy()]
    if len(clash):
        first = stored[stored["video_name"] == clash["video_name"].iloc[0]].iloc[0]
        raise InputError(f"{first['video_name']}: already reviewed as {first['verdict']!r} by "
                         f"{first['reviewer']} at {first['reviewed_at']}; a review is not "
                         "overwritten")
    return batch[~batch["video_name"].isin(known.index)]


# -------------------------------------------------------------------------------------- files


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` so two writers do not lose each other's rows."""
    lock = path.with_name(f".{path.name}.lock")
    try:
        handle = lock.open("a")
    except OSError as exc:
        raise InputError(f"{lock}: cannot open the lock file ({exc.strerror})") from exc
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        return _empty()
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read the reviews ({str(exc).splitlines()[0]})") from exc
    missing = [c for c in REVIEW_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: not a reviews file (missing column(s) {', '.join(missing)})")
    return frame.loc[:, list(REVIEW_COLUMNS)]


def _write_file(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


# ---------------------------------------------------------------------------------------- SQL


def _engine(url: str) -> tuple[sa.Engine, str]:
    import sqlalchemy as sa

    from utils.alerts.sources import check_sqlite, display_source

    shown = display_source(url)
    try:
        parsed = sa.engine.make_url(url)
        check_sqlite(parsed, shown)
        return sa.create_engine(parsed), shown
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InputError(f"{shown}: not a usable SQLAlchemy URL ({type(exc).__name__})") from None


def _table(metadata: sa.MetaData) -> sa.Table:
    import sqlalchemy as sa

    return sa.Table(TABLE, metadata,
                    sa.Column("video_name", sa.Text, primary_key=True),
                    *(sa.Column(c, sa.Text, nullable=False) for c in REVIEW_COLUMNS[1:]))


def _sql_error(exc: Exception, url: str, shown: str) -> InputError:
    import sqlalchemy as sa

    message = str(exc).splitlines()[0]
    password = sa.engine.make_url(url).password
    if password:
        message = message.replace(str(password), "***")
    return InputError(f"{shown}: reviews table: {message}")


def _read_sql(conn: sa.Connection) -> pd.DataFrame:
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table(TABLE):
        return _empty()
    frame = pd.read_sql(sa.select(*(sa.column(c) for c in REVIEW_COLUMNS))
                        .select_from(sa.table(TABLE)), conn)
    return frame.astype(str) if len(frame) else _empty()


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


# ------------------------------------------------------------------------------- entry points


def read_reviews(source: str | Path) -> pd.DataFrame:
    """The stored reviews of ``source`` (columns :data:`REVIEW_COLUMNS`; none yet: empty)."""
    from utils.alerts.sources import is_sql_url

    if not is_sql_url(source):
        return _read_file(reviews_path(source))
    import sqlalchemy as sa

    engine, shown = _engine(str(source))
    try:
        with engine.connect() as conn:
            return _read_sql(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise _sql_error(exc, str(source), shown) from None
    finally:
        engine.dispose()


def add_reviews(source: str | Path, batch: pd.DataFrame) -> Added:
    """Store ``batch`` (columns :data:`REVIEW_COLUMNS`) with the reviews of ``source``, whole or
    not at all (see the module docstring)."""
    from utils.alerts.sources import is_sql_url

    batch = batch.loc[:, list(REVIEW_COLUMNS)].astype(str)
    if not is_sql_url(source):
        path = reviews_path(source)
        with _locked(path):
            stored = _read_file(path)
            new = check_batch(batch, stored)
            if len(new):
                _write_file(pd.concat([stored, new], ignore_index=True), path)
        return Added(len(new), len(batch.drop_duplicates("video_name")) - len(new), str(path))
    import sqlalchemy as sa

    engine, shown = _engine(str(source))
    try:
        with engine.begin() as conn:  # one transaction: every row or none
            table = _table(sa.MetaData())
            table.create(conn, checkfirst=True)
            if conn.dialect.name == "postgresql":  # concurrent writers wait for each other
                conn.execute(sa.text(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE"))
            new = check_batch(batch, _read_sql(conn))
            _insert(conn, table, new.to_dict(orient="records"))
    except sa.exc.SQLAlchemyError as exc:
        raise _sql_error(exc, str(source), shown) from None
    finally:
        engine.dispose()
    return Added(len(new), len(batch.drop_duplicates("video_name")) - len(new),
                 f"{shown} table {TABLE}")
