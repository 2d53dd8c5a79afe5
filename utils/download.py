"""The one download layer: every remote file the project fetches goes through here.

- **Mirrors in order**: a file has a list of URLs; each is tried (with its retries) before the
  next. A 404/403/410 moves on at once; other failures are retried with exponential backoff.
- **Resume**: a cut connection is picked up where it stopped with an HTTP ``Range`` request,
  both within one call and across calls (the partial file ``<name>.part`` is kept).
- **Checksums**: ``sha256`` is the full hex digest or the leading digits that torch hub and
  torchvision publish in file names (``r3d_18-b3b3357e.pth``); a mismatching file is discarded
  and the next URL is tried, never installed.
- **Atomic**: the file appears under its name only when complete and verified (``os.replace``
  of the ``.part`` file; ``utils.io.atomic_path`` would delete it, and resuming needs it kept).
- **ACTIONLAB_MIRROR** (``http://host:port[/prefix]``): every ``https://HOST/PATH`` is fetched
  from ``$ACTIONLAB_MIRROR/HOST/PATH`` instead; a class pre-stages the files on a campus server
  in that layout, and the tests serve them from 127.0.0.1 (``tests/mirror_server.py``).

Failures end in one :class:`InputError` line naming every URL tried, why it failed, and the file
to fetch by hand and where to put it. Standard library only (urllib), so every lab can use it.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from utils.errors import InputError
from utils.io import check_target, make_folder

MIRROR_ENV = "ACTIONLAB_MIRROR"
RETRIES = 3  # attempts per URL before the next one
BACKOFF_S = 1.0  # first wait between attempts; doubled each time
TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_FINAL_STATUS = {401, 403, 404, 410}  # retrying the same URL cannot help


class DownloadError(Exception):
    """One URL failed for good (after its retries); the next mirror may still work."""


class StalePartial(DownloadError):
    """The server refuses the resume range: the kept partial file is not a prefix of this one."""


def mirrored(url: str) -> str:
    """``url`` as fetched: ``$ACTIONLAB_MIRROR/HOST/PATH`` when the setting is present."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if not mirror:
        return url
    if urlsplit(mirror).scheme not in ("http", "https") or not urlsplit(mirror).netloc:
        raise InputError(f"{MIRROR_ENV}={mirror!r}: expected http://host:port (or https://...)")
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}{query}"


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks (checkpoints are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_matches(path: Path, sha256: str | None) -> bool:
    """True when no hash is published or the file's SHA-256 starts with it (full or prefix)."""
    return sha256 is None or sha256_of(path).startswith(sha256.lower())


class RemoteFile(io.RawIOBase):
    """A read-only stream of one URL that reconnects with ``Range: bytes=<offset>-`` when the
    connection breaks (``retries`` times in a row at most, waiting ``backoff`` s, doubled).

    ``size`` is the full length when the server says it. ``tarfile.open(fileobj=..., mode="r|gz")``
    can read it as it arrives, which is how the Kinetics archives are streamed.
    """

    def __init__(self, url: str, offset: int = 0, *, retries: int = RETRIES,
                 backoff: float | None = None, timeout: float = TIMEOUT_S) -> None:
        super().__init__()
        self.url, self.pos = url, offset
        self.retries, self.timeout = retries, timeout
        self.backoff = BACKOFF_S if backoff is None else backoff
        self.size: int | None = None
        self._response: Any = None
        self._retry(self._connect)

    def readable(self) -> bool:
        return True

    def _connect(self) -> None:
        headers = {"User-Agent": "actionlab"}
        if self.pos:
            headers["Range"] = f"bytes={self.pos}-"
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and self.size == self.pos:  # nothing left to read
                self._response = None
                return
            if exc.code == 416:
                raise StalePartial(f"HTTP 416 for bytes {self.pos}-") from None
            if exc.code in _FINAL_STATUS:
                raise DownloadError(f"HTTP {exc.code}") from None
            raise
        length = response.headers.get("Content-Length")
        if response.status == 206:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            self.size = int(total) if total.isdigit() else None
        else:  # 200: the server ignored the range; skip what we already have
            self.size = int(length) if length and length.isdigit() else None
            _skip(response, self.pos)
        self._response = response

    def _retry(self, action: Any) -> Any:
        for attempt in range(max(self.retries, 1)):
            try:
                return action()
            except DownloadError:
                raise
            except (OSError, http.client.HTTPException) as exc:
                if attempt >= self.retries - 1:
                    raise DownloadError(_reason(exc)) from exc
                self.close_response()  # the next attempt reconnects at self.pos
                time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def readinto(self, buffer: Any) -> int:
        def read() -> int:
            if self._response is None:
                self._connect()
                if self._response is None:
                    return 0
            n = self._response.readinto(buffer)
            if n == 0 and self.size is not None and self.pos < self.size:
                raise http.client.IncompleteRead(b"", self.size - self.pos)
            return int(n)

        n = self._retry(read)
        self.pos += n
        return n

    def close_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self.close_response()
        super().close()


def _skip(response: Any, n: int) -> None:
    while n > 0:
        chunk = response.read(min(n, _CHUNK))
        if not chunk:
            raise http.client.IncompleteRead(b"", n)
        n -= len(chunk)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _fetch_one(url: str, part: Path, *, desc: str, progress: bool, retries: int,
               backoff: float | None) -> None:
    """Append the rest of ``url`` to ``part`` (resuming from its current size)."""
    offset = part.stat().st_size if part.exists() else 0
    with RemoteFile(url, offset, retries=retries, backoff=backoff) as remote:
        with part.open("ab") as out, tqdm(total=remote.size, initial=offset, unit="B",
                                          unit_scale=True, unit_divisor=1024, desc=desc,
                                          disable=not progress) as bar:
            for chunk in iter(lambda: remote.read(_CHUNK), b""):
                out.write(chunk)
                bar.update(len(chunk))
        if remote.size is not None and part.stat().st_size != remote.size:
            raise DownloadError(f"got {part.stat().st_size} of {remote.size} bytes")


def fetch(urls: str | Sequence[str], dest: str | Path, *, sha256: str | None = None,
          progress: bool = True, retries: int = RETRIES, backoff: float | None = None) -> Path:
    """``dest``, downloaded from the first of ``urls`` that delivers a file with the right hash.

    A ``dest`` already present is checked (when a hash is given) and returned without any
    network access; a wrong one is an InputError (delete it). ``urls`` are the official
    addresses; with ``ACTIONLAB_MIRROR`` set they are fetched from the mirror instead. A
    partial file is resumed from the next mirror too (mirrors serve the same file; the hash,
    or else the announced total size, catches one that does not).
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    dest = check_target(dest)
    if dest.exists():
        if not hash_matches(dest, sha256):
            raise InputError(f"{dest}: SHA-256 {sha256_of(dest)} does not match {sha256} "
                             f"published for {urls[0]}; the file is corrupt or another one: "
                             "delete it and retry")
        return dest
    make_folder(dest.parent)
    part = check_target(dest.with_name(dest.name + ".part"))
    failures = []
    for url in urls:
        source = mirrored(url)
        attempt = functools.partial(_fetch_one, source, part, desc=dest.name,
                                    progress=progress, retries=retries, backoff=backoff)
        try:
            try:
                attempt()
            except StalePartial:  # e.g. a complete part left by a run killed before the rename
                part.unlink()
                attempt()
        except DownloadError as exc:
            failures.append(f"{source} ({exc})")
            continue
        if not hash_matches(part, sha256):
            failures.append(f"{source} (SHA-256 {sha256_of(part)} does not match {sha256})")
            part.unlink()
            continue
        os.replace(part, dest)
        return dest
    raise InputError(
        f"cannot download {dest.name}: tried {'; '.join(failures)}. Fetch {urls[0]} on a "
        f"machine with internet and put it, unchanged, at {dest} (or set {MIRROR_ENV} to a "
        "server holding HOST/PATH copies)"
    )


def open_stream(urls: str | Sequence[str], *, retries: int = RETRIES,
                backoff: float | None = None) -> RemoteFile:
    """A resuming stream of the first of ``urls`` that answers (mirror setting applied); for
    files read once as they arrive (archives of which only a part is kept)."""
    urls = [urls] if isinstance(urls, str) else list(urls)
    failures = []
    for url in urls:
        source = mirrored(url)
        try:
            return RemoteFile(source, retries=retries, backoff=backoff)
        except DownloadError as exc:
            failures.append(f"{source} ({exc})")
    raise InputError(f"cannot open {urls[0]}: tried {'; '.join(failures)} (no network? set "
                     f"{MIRROR_ENV} to a server holding HOST/PATH copies)")
