"""A local ACTIONLAB_MIRROR for the tests: a threading HTTP server on 127.0.0.1 with Range
support, and builders that write the project's remote files in their REAL layouts under
``<root>/HOST/PATH`` (the layout ``utils.download.mirrored`` maps every URL to).

Fixtures (registered by conftest):
- ``mirror_server`` (session): one server for the session; ``.url``, ``.root``.
- ``mirror`` (function): the same server with ``ACTIONLAB_MIRROR`` set for the test, the request
  log emptied (``mirror.log``: one :class:`Served` per request) and no fault left over; set
  ``mirror.cut[path] = n`` to close the connection after ``n`` body bytes of the next request
  of ``path`` (``/HOST/PATH``), once; ``mirror.fail[path] = [503, ...]`` answers the next
  requests of ``path`` with these statuses first.

Builders (plain functions of the mirror root, reusable by any test, e.g. a Colab simulation;
each writes only what is missing, so a session builds every file once):
- :func:`write_cvdf_kinetics`: ``s3.amazonaws.com/kinetics/400/val/k400_val_path.txt``,
  ``val/part_<i>.tar.gz`` (mp4 files named ``{youtube_id}_{start:06d}_{end:06d}.mp4``) and
  ``annotations/val.csv`` (``label,youtube_id,time_start,time_end,split``), with one clip the
  CSV does not know and CSV rows for clips in no part, as in the real files.
- :func:`write_kaggle_dcsass`: the zip Kaggle's public endpoint serves at
  ``www.kaggle.com/api/v1/datasets/download/mateohervas/dcsass-dataset`` (both copies inside).
- :func:`write_checkpoint`: the checkpoint of a zoo model in its official key layout at its
  first URL (seeded random weights; the inverse of ``checkpoints.official_state_dict``).
- :func:`write_ucsd_archive` and :func:`write_utkface_archive`: the UCSD anomaly archive and the
  UTKFace archive of the bonus notebooks 2.4 and 2.5, tiny, in their real layouts.
"""

from __future__ import annotations

import contextlib
import csv
import http.server
import re
import shutil
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch

from utils.datasets.dcsass import KAGGLE_HANDLE
from utils.datasets.kinetics import parse_clip_name
from utils.datasets.synth import MARKER, ClipSize, write_synthetic_dcsass, write_synthetic_kinetics
from utils.download import MIRROR_ENV

TINY = ClipSize(height=48, width=64, frames=16)
CVDF = "s3.amazonaws.com/kinetics/400"
KAGGLE_ZIP = f"www.kaggle.com/api/v1/datasets/download/{KAGGLE_HANDLE}"
_RANGE = re.compile(r"bytes=(\d+)-$")


@dataclass(frozen=True)
class Served:
    """One request: path, its Range header (or None), status and body bytes sent."""

    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class MirrorServer:
    root: Path
    url: str
    log: list[Served] = field(default_factory=list)
    cut: dict[str, int] = field(default_factory=dict)
    fail: dict[str, list[int]] = field(default_factory=dict)

    def local(self, url: str) -> Path:
        """Where the mirror holds the file of the official ``url``."""
        return _official_path(self.root, url)


def _handler(server: MirrorServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            file = server.root / path.lstrip("/")
            asked = self.headers.get("Range")
            status = server.fail[path].pop(0) if server.fail.get(path) else None
            if status is None and (".." in Path(path).parts or not file.is_file()):
                status = 404
            if status is not None:
                server.log.append(Served(path, asked, status, 0))
                self.send_error(status)
                return
            data = file.read_bytes()
            start, status = 0, 200
            if asked and (match := _RANGE.match(asked)):
                start = int(match[1])
                if start >= len(data):
                    server.log.append(Served(path, asked, 416, 0))
                    self.send_error(416)
                    return
                status = 206
            body = data[start:]
            limit = server.cut.pop(path, None)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            sent = body if limit is None else body[:limit]
            server.log.append(Served(path, asked, status, len(sent)))  # before the client has it
            self.wfile.write(sent)
            if limit is not None:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)

    return Handler


@pytest.fixture(scope="session")
def mirror_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    with serving(tmp_path_factory.mktemp("mirror")) as state:
        yield state


@contextlib.contextmanager
def serving(root: Path) -> Iterator[MirrorServer]:
    """A mirror of ``root`` served on 127.0.0.1 (a free port) while the block runs."""
    state = MirrorServer(root, "")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def mirror(mirror_server: MirrorServer, monkeypatch: pytest.MonkeyPatch) -> MirrorServer:
    monkeypatch.setenv(MIRROR_ENV, mirror_server.url)
    monkeypatch.setattr("utils.download.BACKOFF_S", 0.0)
    mirror_server.log.clear()
    mirror_server.cut.clear()
    mirror_server.fail.clear()
    return mirror_server


# ----------------------------------------------------------------------------- builders


@dataclass(frozen=True)
class CvdfFiles:
    """What :func:`write_cvdf_kinetics` put on the mirror."""

    labelled: dict[str, str]  # CVDF file name -> label in val.csv
    unknown: list[str]  # CVDF file names in a part but not in val.csv
    parts: list[list[str]]  # file names of each part, in archive order


def write_cvdf_kinetics(root: Path, *, classes: int = 3, clips_per_class: int = 3,
                        parts: int = 2, size: ClipSize = TINY, seed: int = 0) -> CvdfFiles:
    """The CVDF Kinetics-400 validation files (see the module docstring) with real-format mp4
    clips of ``classes`` classes dealt round-robin over ``parts`` archives; one extra clip in
    part 0 is not in val.csv, and val.csv lists 2 rows whose clips are in no part."""
    base = root / CVDF
    with tempfile.TemporaryDirectory() as tmp:
        sample = write_synthetic_kinetics(Path(tmp) / "k", classes=classes, seed=seed,
                                          clips_per_class=clips_per_class + 1, size=size,
                                          progress=False)
        clips = sorted(p for p in sample.glob("*.mp4"))
        names = [parse_clip_name(p.name) for p in clips]
        cvdf = [f"{c.youtube_id}_{c.start:06d}_{c.end:06d}.mp4" for c in names]
        labelled = {n: c.label for n, c in zip(cvdf, names, strict=True)}
        unknown = [cvdf[-1]]  # its class keeps clips_per_class labelled clips
        del labelled[unknown[0]]
        split: list[list[str]] = [[] for _ in range(parts)]
        for i, name in enumerate(cvdf):
            split[i % parts].append(name)
        split[0].insert(0, split[(len(cvdf) - 1) % parts].pop())  # unknown clip: first of part 0
        if (base / "annotations/val.csv").is_file():
            return CvdfFiles(labelled, unknown, split)
        (base / "val").mkdir(parents=True, exist_ok=True)
        (base / "annotations").mkdir(parents=True, exist_ok=True)
        by_name = dict(zip(cvdf, clips, strict=True))
        for i, members in enumerate(split):
            with tarfile.open(base / f"val/part_{i}.tar.gz", "w:gz") as tar:
                for name in members:
                    tar.add(by_name[name], arcname=name)
        (base / "val/k400_val_path.txt").write_text(
            "".join(f"https://{CVDF}/val/part_{i}.tar.gz\n" for i in range(parts)))
        rows = [(c.label, c.youtube_id, c.start, c.end, "val")
                for n, c in zip(cvdf, names, strict=True) if n in labelled]
        rows += [(names[0].label, "zzzzzzzzzz0", 10, 20, "val"),
                 (names[0].label, "zzzzzzzzzz1", 0, 10, "val")]
        with (base / "annotations/val.csv").open("w", newline="") as f:
            writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
            writer.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            writer.writerows(rows)
    return CvdfFiles(labelled, unknown, split)


def write_kaggle_dcsass(root: Path, *, videos: int = 3, clips_per_video: int = 4,
                        size: ClipSize = TINY, seed: int = 0, others: Sequence[str] = ()
                        ) -> Path:
    """The Kaggle download zip of DCSASS (both copies, as Kaggle serves it) at the path of the
    public endpoint, with Shoplifting and the ``others`` categories (2 videos each); returns
    the zip."""
    target = root / KAGGLE_ZIP
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = write_synthetic_dcsass(Path(tmp) / "d", videos=videos, seed=seed, size=size,
                                     clips_per_video=clips_per_video, both_copies=True,
                                     progress=False)
        for category in others:  # one dataset folder holds every category, as in the zip
            other = write_synthetic_dcsass(Path(tmp) / category, category=category, videos=2,
                                           seed=seed, size=size, both_copies=True,
                                           clips_per_video=clips_per_video, progress=False)
            (other / MARKER).unlink()
            shutil.copytree(other, out, dirs_exist_ok=True)
        (out / MARKER).unlink()  # a real zip has no generator marker
        with zipfile.ZipFile(target, "w") as archive:
            for path in sorted(out.rglob("*")):
                archive.write(path, path.relative_to(out).as_posix())
    return target


def official_layout(state: dict[str, torch.Tensor], fmt: str) -> object:
    """A state dict as the official file of format ``fmt`` stores it."""
    if fmt == "tsm":
        return {"epoch": 50, "state_dict": {f"module.{k}": v for k, v in state.items()}}
    if fmt == "pytorchvideo":
        return {"epoch": 196, "model_state": state}
    return state


def write_checkpoint(root: Path, name: str, *, url_index: int = 0, seed: int = 0) -> Path:
    """Model ``name``'s checkpoint file (seeded random weights, official layout) on the mirror
    at its ``url_index``-th URL; returns the file."""
    from utils.models import build_model, get_weights

    spec = get_weights(name)
    target = _official_path(root, spec.urls[url_index])
    if not target.is_file():
        torch.manual_seed(seed)
        model = build_model(name, weights=None)
        state = dict(model.checkpoint_module.state_dict())
        assert spec.format is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(official_layout(state, spec.format), target)
    return target


def _official_path(root: Path, url: str) -> Path:
    parts = urlsplit(url)
    return root / parts.netloc / parts.path.lstrip("/")


def write_ucsd_archive(root: Path, *, seed: int = 0) -> Path:
    """UCSD's ``UCSD_Anomaly_Dataset.tar.gz`` at its official URL's path, in the archive's layout
    (``UCSD_Anomaly_Dataset.v1p2/UCSDped2/{Train,Test}``: tif frames, bmp masks, the ``.m``
    file), holding a tiny generated Ped2 (1 train and 1 test video of 12 frames, 32x32);
    returns the archive."""
    from utils.anomaly.download import UCSD_URL
    from utils.anomaly.synth import SUBSET, write_synthetic_ucsd
    from utils.anomaly.ucsd import ARCHIVE_FOLDER

    target = _official_path(root, UCSD_URL)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            source = write_synthetic_ucsd(Path(tmp), seed=seed, train_videos=1, test_videos=1,
                                          frames=12, height=32, width=32, progress=False)
            with tarfile.open(target, "w:gz") as tar:
                tar.add(source / SUBSET, arcname=f"{ARCHIVE_FOLDER}/{SUBSET}")
    return target


# UTKFace names: two well-formed, one with the race missing (the real archive has such names).
UTKFACE_NAMES = ("26_0_1_20170116174525125.jpg.chip.jpg", "3_1_2_20161219140623097.jpg.chip.jpg",
                 "39_1_20170116174525125.jpg.chip.jpg")


def write_utkface_archive(root: Path) -> Path:
    """The Hugging Face copy of ``UTKFace.tar.gz`` at its official URL's path, in its layout (one
    ``UTKFace/`` folder of ``*.jpg.chip.jpg``), holding the 40x40 photos of ``UTKFACE_NAMES``;
    returns the archive (its SHA-256 is not the published one: pass its own)."""
    from PIL import Image

    from utils.age.utkface import UTKFACE_URL

    target = _official_path(root, UTKFACE_URL)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "UTKFace"
            folder.mkdir()
            for name in UTKFACE_NAMES:
                Image.new("RGB", (40, 40), (120, 80, 60)).save(folder / name)
            with tarfile.open(target, "w:gz") as tar:
                tar.add(folder, arcname="UTKFace")
    return target
