"""Small file helpers: every write is atomic (temporary file, then rename), so an interrupted run
never leaves a half-written result that a later step would read as complete, and a write never
follows a symlink or replaces a FIFO, a device or a folder that is not ours."""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from utils.errors import InputError


def current_umask() -> int:
    """The process umask (reading it needs setting it: set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_target(path: str | Path) -> Path:
    """``path`` when it is absent or a regular file; :class:`InputError` for a symlink (its target
    would be overwritten), a folder, a FIFO, a device or a socket."""
    path = Path(path)
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    except NotADirectoryError:
        blocking = next(p for p in path.parents if p.exists() and not p.is_dir())
        raise InputError(f"{blocking}: exists and is not a folder") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc
    kinds = ((stat.S_ISLNK, "a symlink"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    for test, kind in kinds:
        if test(mode):
            raise InputError(f"{path}: is {kind}, not a regular file; refusing to replace it")
    return path


def check_not_input(out: str | Path, *inputs: str | Path | None) -> Path:
    """``out`` unless it is one of ``inputs`` (the same file, by any path or link): writing
    the result over its own source would destroy the input."""
    out = Path(out)
    for source in inputs:
        if source is None or not Path(source).exists():
            continue
        same = out.exists() and os.path.samefile(out, source)
        if same or out.resolve() == Path(source).resolve():
            raise InputError(f"{out}: is the input {source}; refusing to write over it "
                             "(choose another output)")
    return out


def make_folder(path: str | Path) -> Path:
    """``mkdir -p path`` with a one-line :class:`InputError` (a file in the way, no permission)."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{path}: exists and is not a folder") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot create folder ({exc.strerror})") from exc
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; renamed onto ``path`` only on success.

    The file gets the mode any tool would give it (``0o666 & ~umask``; ``mkstemp`` alone makes
    0600). A non-regular ``path`` is refused before anything is written.
    """
    path = check_target(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())
        check_target(path)  # still regular: nothing swapped in meanwhile
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, paths and non-finite floats into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj: Any) -> str:
    """Strict JSON (no ``NaN``/``Infinity``, which most parsers reject), indented."""
    return json.dumps(to_jsonable(obj), indent=2, allow_nan=False)


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON (numpy values converted, NaN/inf as null)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json_text(obj) + "\n")
    return path


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure atomically (PNG unless the suffix says otherwise)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def check_folder_target(path: str | Path, *, owned_marker: str) -> Path:
    """``path`` when :func:`staged_folder` may replace it: absent, empty, or holding
    ``owned_marker``; :class:`InputError` otherwise. Callers with a long run ahead check first."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise InputError(f"{path}: exists and is not a folder; refusing to replace it")
    if path.is_dir() and any(path.iterdir()) and not (path / owned_marker).is_file():
        raise InputError(f"{path}: folder is not empty and holds no {owned_marker}; refusing to "
                         "replace files that are not from an earlier run (choose another --out)")
    return path


@contextmanager
def staged_folder(path: str | Path, *, owned_marker: str) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` whole.

    So a folder never mixes runs: a failed run leaves the previous one untouched (its files
    removed with the temporary folder) and files of an earlier run do not survive a new one.
    An existing ``path`` is replaced only when it is empty or holds ``owned_marker`` (a file
    only this writer makes); anything else is refused, not overwritten. The swap is two
    renames on one file system: at no moment does ``path`` hold a partial run.
    """
    import shutil

    path = check_folder_target(path, owned_marker=owned_marker)
    make_folder(path.parent)
    try:
        fresh = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.new."))
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc
    old: Path | None = None
    try:
        yield fresh
        os.chmod(fresh, 0o777 & ~current_umask())
        try:
            if path.exists():
                old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
                os.replace(path, old / path.name)
            os.replace(fresh, path)
        except OSError as exc:  # an immutable or read-only parent: put the earlier run back
            if old is not None and (old / path.name).exists() and not path.exists():
                os.replace(old / path.name, path)
            raise InputError(f"{path}: cannot replace the folder ({exc.strerror})") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


RUN_MANIFEST = "run.json"


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def staged_run(path: str | Path) -> Iterator[tuple[Path, str]]:
    """:func:`staged_folder` for a run: yields (fresh folder, run id); on success writes
    ``run.json`` (the run id and every file's sha256) before the swap.

    Writers put the run id in the files that can hold it; :func:`check_run` then tells a
    folder whose files come from different runs (copied, or replaced by hand) from a whole one.
    """
    run_id = uuid.uuid4().hex[:16]
    with staged_folder(path, owned_marker=RUN_MANIFEST) as fresh:
        yield fresh, run_id
        files = {p.name: file_sha256(p) for p in sorted(fresh.iterdir()) if p.is_file()}
        write_json({"run_id": run_id, "files": files}, fresh / RUN_MANIFEST)


def check_run(path: str | Path, names: Iterable[str]) -> str:
    """The run id of the run folder ``path`` after checking that each of ``names`` is there and
    is the file the run wrote (its sha256 in ``run.json``); :class:`InputError` otherwise."""
    path = Path(path)
    try:
        manifest = json.loads((path / RUN_MANIFEST).read_text())
        run_id, files = str(manifest["run_id"]), dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a complete run folder (no readable {RUN_MANIFEST}: "
                         f"{exc})") from None
    for name in names:
        try:
            found = file_sha256(path / name)
        except OSError as exc:
            raise InputError(f"{path / name}: missing from the run ({exc.strerror})") from None
        if files.get(name) != found:
            raise InputError(f"{path}: {name} is not the file run {run_id} wrote (files of "
                             "different runs mixed); rerun into an empty folder")
    return run_id
