"""Read raw alert rows from wherever they live: a CSV export, a Parquet file or a SQL database.

Every reader returns the same raw frame (columns ``store``, ``video_name``, ``label``,
``probability``; text kept as text, ``probability`` as read) and, when a store and/or camera is
given, reads only that camera's rows, so a per-camera production job never loads the whole table:
SQL pushes a ``WHERE`` with bound parameters, Parquet a row filter, CSV filters chunk by chunk.
Validation (what is missing, what is excluded) is :mod:`utils.alerts.validate`'s job.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from utils.alerts.dataset import is_dataset, read_dataset
from utils.alerts.schema import COLUMNS, as_text, camera_marker, check_parquet_schema, exact_filter
from utils.columns import require_columns
from utils.errors import InputError, not_utf8

if TYPE_CHECKING:
    import sqlalchemy as sa

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
CHUNK_ROWS = 200_000
_TEXT_COLUMNS = ("store", "video_name", "label")


def is_sql_url(source: str | Path) -> bool:
    """True for an SQLAlchemy URL such as ``sqlite:///alerts.db`` or ``postgresql://host/db``."""
    return isinstance(source, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source) is not None


# Query parameters of a URL that carry a secret (password=, sslpassword=, token=, api_key=...)
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|api_?key|auth|credential", re.IGNORECASE)


def _mask_query(text: str) -> str:
    """``text`` with the value of every secret-bearing query parameter replaced by ``***``."""
    return re.sub(r"([?&]([^=&#]+)=)([^&#]*)",
                  lambda m: m.group(1) + ("***" if _SECRET_PARAM.search(m.group(2)) else
                                          m.group(3)), text)


def url_secrets(url: sa.URL) -> list[str]:
    """The password and the values of secret-bearing query parameters of ``url``."""
    values = [url.password] if url.password else []
    for name, value in url.query.items():
        if _SECRET_PARAM.search(name):
            values += [value] if isinstance(value, str) else list(value)
    return [str(v) for v in values if v]


def display_source(source: str | Path) -> str:
    """``source`` as it may be shown or saved: an SQL URL with its password and every secret
    query parameter (``?password=``, ``sslpassword=``, ``token=``...) masked (``***``)."""
    if not is_sql_url(source):
        return str(source)
    import sqlalchemy as sa

    try:
        shown = sa.engine.make_url(str(source)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(source))
    return _mask_query(shown)


def read_alerts(source: str | Path, *, table: str = "alerts", store: str | None = None,
                camera: str | None = None) -> pd.DataFrame:
    """Raw alert rows of ``source`` (a CSV/Parquet path, a Parquet dataset folder or fsspec URL
    (:mod:`utils.alerts.dataset`), or an SQLAlchemy URL; ``table`` for SQL).

    ``store`` and ``camera`` (the CAMERA_ID written in ``video_name``) keep only matching rows.
    Raises :class:`InputError` with a one-line message for an unreadable source, an unknown table
    or a missing column.
    """
    store = None if store is None else str(store)
    camera = None if camera is None else str(camera)
    if is_dataset(source):
        raw = read_dataset(source, store=store, camera=camera)
    elif is_sql_url(source):
        raw = _read_sql(str(source), table, store, camera)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        name = path.name.lower()
        if name.endswith(PARQUET_SUFFIXES):
            raw = _read_parquet(path, store, camera)
        elif name.endswith(CSV_SUFFIXES):
            raw = _read_csv(path, store, camera)
        else:
            raise InputError(f"{path}: unsupported file type; use .csv, .csv.gz, .parquet or an "
                             "SQLAlchemy URL such as sqlite:///alerts.db")
    # The pushed-down filters are coarse (SQL LIKE ignores ASCII case, substrings may overlap);
    # the exact filter is applied here, the same for every reader.
    return _normalise(exact_filter(raw, store, camera))


def _normalise(raw: pd.DataFrame) -> pd.DataFrame:
    """The four columns, text as ``str`` dtype (a store named ``0042`` stays ``0042``)."""
    out = raw.loc[:, list(COLUMNS)].copy()
    for col in _TEXT_COLUMNS:
        out[col] = as_text(out[col])
    return out


# ----------------------------------------------------------------------------------------- CSV


def _open_text(path: Path) -> Any:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


SEPARATORS = {";": "';'", ",": "','", "\t": "tab"}


def _csv_layout(path: Path) -> tuple[str, list[str]]:
    """The separator (the most frequent of ``;``, ``,``, tab in the header) and the header's
    column names (spaces around them removed; an unnamed leading index column is ``""``)."""
    try:
        with _open_text(path) as handle:
            header = handle.readline().rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read the header ({exc})") from exc
    if not header:
        raise InputError(f"{path}: empty file")
    sep = max(SEPARATORS, key=header.count)  # ties: the first, ';' (the real export)
    fields = [f.strip().strip('"').strip() for f in header.split(sep)]
    where = f"{path} (separator {SEPARATORS[sep]})"
    require_columns(fields, COLUMNS, where)
    return sep, fields


def _read_csv(path: Path, store: str | None, camera: str | None) -> pd.DataFrame:
    sep, fields = _csv_layout(path)
    indexed = fields[0] == "" or fields[0].startswith("Unnamed")
    options: dict[str, Any] = {
        # The header's own names, cleaned: " store " is the column store.
        "sep": sep, "header": 0, "names": fields, "index_col": 0 if indexed else None,
        "dtype": dict.fromkeys(COLUMNS, str),
        # Only an empty field is missing: "None" or "NA" could be real labels or stores.
        "keep_default_na": False, "na_values": [""],
        "encoding": "utf-8-sig",  # a byte-order mark (Excel exports) is not part of a name
    }
    try:
        if store is None and camera is None:
            return pd.read_csv(path, **options)
        parts = [exact_filter(chunk, store, camera)
                 for chunk in pd.read_csv(path, chunksize=CHUNK_ROWS, **options)]
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    except (pd.errors.ParserError, OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot parse as CSV ({str(exc).splitlines()[0]})") from exc
    return pd.concat(parts) if parts else pd.DataFrame(columns=list(COLUMNS))


# ------------------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, store: str | None, camera: str | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as Parquet ({exc})") from exc
    check_parquet_schema(schema, str(path))
    condition = None
    if store is not None:
        condition = pc.field("store").cast(pa.string()) == store
    if camera is not None:
        has_camera = pc.match_substring(pc.field("video_name"), camera_marker(camera))
        condition = has_camera if condition is None else condition & has_camera
    try:
        table = pq.read_table(path, columns=list(COLUMNS), filters=condition)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as Parquet ({exc})") from exc
    frame = table.to_pandas()
    frame.index.name = None
    return frame


# ----------------------------------------------------------------------------------------- SQL


def like_escape(text: str, escape: str = "\\") -> str:
    """``text`` with the LIKE wildcards ``%`` and ``_`` (and the escape itself) escaped."""
    return (text.replace(escape, escape * 2).replace("%", f"{escape}%")
            .replace("_", f"{escape}_"))


def _reflect(engine: sa.Engine, url: str, table: str) -> sa.Table:
    import sqlalchemy as sa

    try:
        return sa.Table(table, sa.MetaData(), autoload_with=engine)
    except sa.exc.NoSuchTableError:
        known = sa.inspect(engine).get_table_names()
        raise InputError(f"{url}: no table {table!r} (tables: {', '.join(known) or 'none'}); "
                         "choose one with --table") from None


def check_sqlite(url: sa.URL, shown: str) -> None:
    """A SQLite URL must name an existing file: SQLite would create an empty database and
    every later message would be about a missing table rather than the wrong path."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    if database.startswith("file:"):  # URI form: sqlite:///file:path?mode=ro&uri=true
        database = database[len("file:"):].split("?")[0]
    if not Path(database).expanduser().is_file():
        raise InputError(f"{shown}: no such SQLite database file {database!r}")


def _read_sql(source: str, table: str, store: str | None, camera: str | None) -> pd.DataFrame:
    import sqlalchemy as sa

    url = display_source(source)  # every message shows the URL without its password
    try:
        parsed = sa.engine.make_url(source)
        check_sqlite(parsed, url)
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise InputError(f"{url}: not a usable SQLAlchemy URL ({type(exc).__name__})") from None
    try:
        with engine.connect() as conn:
            alerts = _reflect(engine, url, table)
            require_columns(alerts.columns.keys(), COLUMNS, f"{url} table {table!r}")
            query = sa.select(*(alerts.c[c] for c in COLUMNS))
            # Bound parameters only: the store and camera never become SQL text.
            if store is not None:
                query = query.where(alerts.c.store == store)
            if camera is not None:
                pattern = f"%{like_escape(camera_marker(camera))}%"
                query = query.where(alerts.c.video_name.like(pattern, escape="\\"))
            return pd.read_sql(query, conn)
    except sa.exc.SQLAlchemyError as exc:
        # The driver's message may quote the URL with its password: mask it there too.
        message = str(exc).splitlines()[0]
        for secret in url_secrets(parsed):
            message = message.replace(secret, "***")
        raise InputError(f"{url}: cannot read ({message})") from None
    finally:
        engine.dispose()
