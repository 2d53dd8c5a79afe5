"""A synthetic stand-in for the production alerts CSV, in the real format and with its shape.

The file is what the real export looks like (``;``-separated, an unnamed leading index column,
columns ``store;video_name;label;probability``, empty fields for missing values,
``video_name = {START}_to_{END}_camera_{ID}_ip_{IP}_port_{PORT}.mp4``), so the lab code that reads
it is the code that reads the real one. At the default size it reproduces the known copy's counts
exactly (:data:`KNOWN_SHAPE`); smaller sizes scale them. Cameras differ on purpose: volumes,
theft rates and ranking quality (per-camera ROC-AUC from about 0.1 to 0.9), so that the lab's
questions (is the model uniform across cameras? which thresholds?) have non-trivial answers.
The numbers it produces are not findings about the real data.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from utils.datamode import DataChoice, FetchReal, choose_data
from utils.errors import InputError
from utils.io import atomic_path
from utils.paths import DATA_DIR, SYNTHETIC_DIR

REAL_ALERTS_PATH = DATA_DIR / "alerts" / "alerts.csv"
GENERATOR_VERSION = 1  # part of the cache key: bump it whenever the output changes

KNOWN_SHAPE = {
    "rows": 158_136, "stores": 45, "camera_ids": 30, "missing_probability": 2_199,
    "missing_label": 1, "thefts": 1_601, "normals": 154_336, "cameras_without_theft": 6,
    "negative_probability": 5,
}
MIN_ROWS = 1_000
THEFT_LABEL_WEIGHTS = {"Suspicious": 0.35, "Gesture Into Body": 0.25, "Suspicious Bag": 0.2,
                       "Theft": 0.12, "Product Into Stroller": 0.08}
NORMAL_LABEL_WEIGHTS = {"Other Normal": 0.62, "Store Normal Bag": 0.3, "Normal Stroller": 0.08}
_COUNTRIES = ("fr", "be", "es", "it", "de")
_CHAINS = ("brico", "market", "proxi", "hyper", "city", "mode", "sport", "beauty", "garden")
_TOWNS = ("couronne", "lille", "nantes", "gent", "liege", "madrid", "turin", "lyon", "koln",
          "rennes", "sevilla", "milano", "namur", "nice", "bonn")
_PORTS = (80, 554, 8000, 8080, 37777)


def _allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Integers >= ``minimum`` summing to ``total``, proportional to ``weights`` (largest
    remainder), so every count the generator promises is hit exactly."""
    n = len(weights)
    spare = total - minimum * n
    if spare < 0:
        raise InputError(f"cannot give {n} groups at least {minimum} of {total}")
    share = spare * np.asarray(weights, float) / np.sum(weights)
    counts = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    return counts + minimum


def _scaled(count: int, n_rows: int, minimum: int = 0) -> int:
    return max(minimum, round(count * n_rows / KNOWN_SHAPE["rows"]))


def _cameras(rng: np.random.Generator) -> pd.DataFrame:
    """45 stores with one camera each; 30 distinct CAMERA_IDs, so some ids repeat across stores."""
    n_cam, n_ids = KNOWN_SHAPE["stores"], KNOWN_SHAPE["camera_ids"]
    stores: list[str] = []
    while len(stores) < n_cam:
        name = (f"{rng.choice(_COUNTRIES)}-{rng.choice(_CHAINS)}-{rng.integers(1000, 99999)}-"
                f"{rng.choice(_TOWNS)}-{rng.integers(1, 999)}")
        if name not in stores:
            stores.append(name)
    stores[7] = "00417"  # exports do contain numeric-looking store codes: they must stay text
    ids = np.sort(rng.choice(np.arange(1, 100), size=n_ids, replace=False))
    camera_ids = np.concatenate([ids, rng.choice(ids, size=n_cam - n_ids)])
    rng.shuffle(camera_ids)
    subnet = rng.integers(0, 3, n_cam)
    ports = np.where(rng.random(n_cam) < 0.4, -1, rng.choice(_PORTS, n_cam))
    return pd.DataFrame({
        "store": stores, "camera": [str(c) for c in camera_ids],
        "ip": [f"192.168.{s}.{c}" for s, c in zip(subnet, camera_ids, strict=True)],
        "port": ["None" if p < 0 else str(p) for p in ports],
    })


def _camera_rows(rng: np.random.Generator, n_rows: int, n_cam: int) -> tuple[np.ndarray, ...]:
    """Per camera: rows with a probability, thefts among them, rows without a probability,
    target ROC-AUC."""
    n_missing = _scaled(KNOWN_SHAPE["missing_probability"], n_rows, 1)
    n_theft = _scaled(KNOWN_SHAPE["thefts"], n_rows, 1)
    n_kept = n_rows - n_missing
    volume = rng.lognormal(0.0, 1.0, n_cam)
    kept = _allocate(n_kept, volume, minimum=max(5, n_kept // (n_cam * 10)))
    has_theft = np.ones(n_cam, bool)
    has_theft[rng.choice(n_cam, KNOWN_SHAPE["cameras_without_theft"], replace=False)] = False
    theft_weight = np.where(has_theft, kept * rng.lognormal(0.0, 0.8, n_cam), 0.0)
    n_with = int(has_theft.sum())
    thefts = _allocate(n_theft, theft_weight, minimum=0)
    if n_theft >= n_with:  # every theft camera gets at least one theft
        thefts = np.where(has_theft, 1, 0) + _allocate(n_theft - n_with, theft_weight)
    if np.any(thefts > kept // 2):
        raise InputError(f"n_rows={n_rows} is too small for the synthetic alerts shape")
    missing = _allocate(n_missing, volume)
    auc = 0.1 + 0.8 * rng.beta(5.0, 2.5, n_cam)
    auc[np.argmin(auc)], auc[np.argmax(auc)] = 0.10, 0.89
    return kept, thefts, missing, auc


def separation(auc: np.ndarray) -> np.ndarray:
    """Theft score shift ``d`` giving ROC-AUC ``auc`` for N(0,1) normals: AUC = Phi(d / sqrt 2)."""
    return np.sqrt(2.0) * np.array([NormalDist().inv_cdf(a) for a in auc])


def squash(z: np.ndarray, offset: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """A camera's monotone squashing of latent scores into probabilities (6 decimals)."""
    return np.round(1.0 / (1.0 + np.exp(-(offset + slope * z))), 6)


def draw_labels(rng: np.random.Generator, theft: np.ndarray) -> np.ndarray:
    """A theft label for each theft, a normal label otherwise, with the export's frequencies."""
    theft_names, theft_p = zip(*THEFT_LABEL_WEIGHTS.items(), strict=True)
    normal_names, normal_p = zip(*NORMAL_LABEL_WEIGHTS.items(), strict=True)
    return np.where(theft, rng.choice(theft_names, len(theft), p=theft_p),
                    rng.choice(normal_names, len(theft), p=normal_p)).astype(object)


def times(rng: np.random.Generator, n: int) -> tuple[pd.Series, pd.Series]:
    """Start and end of ``n`` clips, written like the export (``2023-02-25_17h16m23s``)."""
    start = (pd.Timestamp("2023-01-02 08:00:00")
             + pd.to_timedelta(rng.integers(0, 180, n), unit="D")
             + pd.to_timedelta(rng.integers(0, 13 * 3600, n), unit="s"))
    end = start + pd.to_timedelta(rng.integers(8, 61, n), unit="s")
    fmt = "%Y-%m-%d_%Hh%Mm%Ss"
    return pd.Series(start).dt.strftime(fmt), pd.Series(end).dt.strftime(fmt)


def synthetic_alerts(*, seed: int = 0, n_rows: int = KNOWN_SHAPE["rows"]) -> pd.DataFrame:
    """The synthetic raw rows (same columns and order as the written file, probability float)."""
    if n_rows < MIN_ROWS:
        raise InputError(f"n_rows must be at least {MIN_ROWS}, got {n_rows}")
    if seed < 0:
        raise InputError(f"seed must be >= 0, got {seed}")
    rng = np.random.default_rng(seed)
    cams = _cameras(rng)
    n_cam = len(cams)
    kept, thefts, missing, auc = _camera_rows(rng, n_rows, n_cam)

    cam = np.concatenate([np.repeat(np.arange(n_cam), kept), np.repeat(np.arange(n_cam), missing)])
    scored = np.concatenate([np.ones(kept.sum(), bool), np.zeros(missing.sum(), bool)])
    # Thefts first within each camera's scored block; rows are shuffled by time afterwards.
    rank = np.concatenate([np.arange(k) for k in kept] + [np.zeros(m, np.int64) for m in missing])
    theft = scored & (rank < thefts[cam])
    rate = thefts / kept
    theft[~scored] = rng.random((~scored).sum()) < rate[cam[~scored]]

    # Ranking quality per camera: latent scores N(0,1) for normals, N(d,1) for thefts, where
    # AUC = Phi(d / sqrt 2); a per-camera monotone squashing keeps that AUC and varies calibration.
    d = separation(auc)
    z = rng.standard_normal(len(cam)) + np.where(theft, d[cam], 0.0)
    offset, slope = rng.normal(-1.2, 0.6, n_cam), rng.uniform(0.8, 1.6, n_cam)
    probability = squash(z, offset[cam], slope[cam])
    negative = rng.choice(np.flatnonzero(scored & ~theft),
                          _scaled(KNOWN_SHAPE["negative_probability"], n_rows, 1), replace=False)
    probability[negative] = -np.round(rng.uniform(0.001, 0.2, len(negative)), 6)
    probability[~scored] = np.nan

    label = draw_labels(rng, theft)
    label[np.flatnonzero(~scored)[0]] = np.nan  # the known copy has one row without a label

    start, end = times(rng, len(cam))
    video_name = (start + "_to_" + end + "_camera_" + cams["camera"].to_numpy()[cam] + "_ip_"
                  + cams["ip"].to_numpy()[cam] + "_port_" + cams["port"].to_numpy()[cam] + ".mp4")
    frame = pd.DataFrame({"store": cams["store"].to_numpy()[cam], "video_name": video_name,
                          "label": label, "probability": probability})
    order = np.lexsort((video_name.to_numpy(), cam))
    return frame.iloc[order].reset_index(drop=True)


def write_synthetic_alerts(path: str | Path, *, seed: int = 0,
                           n_rows: int = KNOWN_SHAPE["rows"]) -> Path:
    """Write the synthetic alerts to ``path``: the real export's CSV layout for ``.csv``
    (gzip for ``.csv.gz``), or Parquet for ``.parquet``/``.pq`` (the four columns, probability
    as float). The same seed and size give identical bytes."""
    from utils.alerts.sources import PARQUET_SUFFIXES

    path = Path(path)
    name = path.name.lower()
    if not name.endswith((".csv", ".csv.gz", *PARQUET_SUFFIXES)):
        raise InputError(f"{path}: unsupported extension; use .csv, .csv.gz or .parquet")
    frame = synthetic_alerts(seed=seed, n_rows=n_rows)
    if name.endswith(PARQUET_SUFFIXES):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return path
    buffer = io.StringIO()
    frame.to_csv(buffer, sep=";", lineterminator="\n")
    data = buffer.getvalue().encode("utf-8")
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def synthetic_alerts_path(*, seed: int = 0, n_rows: int = KNOWN_SHAPE["rows"],
                          folder: Path | None = None) -> Path:
    """The cached synthetic file for ``seed`` and ``n_rows`` in ``folder`` (default:
    ``data/synthetic/alerts``), written when missing."""
    folder = SYNTHETIC_DIR / "alerts" if folder is None else Path(folder)
    path = folder / f"alerts_v{GENERATOR_VERSION}_seed{seed}_rows{n_rows}.csv"
    return path if path.exists() else write_synthetic_alerts(path, seed=seed, n_rows=n_rows)


def alerts_data(mode: str = "auto", *, n_rows: int = KNOWN_SHAPE["rows"], seed: int = 0,
                path: str | Path | None = None, data_dir: Path | None = None,
                fetch_real: FetchReal | None = None) -> DataChoice:
    """The lab-3 ``DATA`` switch (:func:`utils.datamode.choose_data`): the real export at
    ``path`` (default ``DATA_DIR/alerts/alerts.csv``, ``data_dir`` being WORKDIR's ``data``
    folder) when present, else the file ``fetch_real`` provides (on Colab: an upload), else the
    cached synthetic stand-in."""
    if path is not None:
        real = Path(path).expanduser()
    else:
        real = REAL_ALERTS_PATH if data_dir is None else Path(data_dir) / "alerts" / "alerts.csv"
    folder = None if data_dir is None else Path(data_dir) / "synthetic" / "alerts"
    return choose_data(mode, real,
                       lambda: synthetic_alerts_path(seed=seed, n_rows=n_rows, folder=folder),
                       fetch_real)


def small_instance(clean: pd.DataFrame, *, cameras: int = 4, alerts: int = 10,
                   seed: int = 0) -> pd.DataFrame:
    """Rows of a sub-instance small enough for :func:`exhaustive`: the first ``cameras`` cameras
    (in (store, camera) order) with an alerted theft, and per camera up to ``alerts`` alerts
    drawn at random (seeded), a third of them thefts so that muting a camera has a price."""
    alerted = clean[clean["probability"] >= 0]
    has_theft = alerted.groupby(["store", "camera"], sort=True, observed=True)["is_theft"].any()
    keys = list(has_theft[has_theft].index[:cameras])
    chosen = alerted[alerted.set_index(["store", "camera"]).index.isin(keys)]
    shuffled = chosen.sample(frac=1.0, random_state=seed)
    n_thefts = max(1, alerts // 3)
    return pd.concat([
        shuffled[shuffled["is_theft"]].groupby(["store", "camera"]).head(n_thefts),
        shuffled[~shuffled["is_theft"]].groupby(["store", "camera"]).head(alerts - n_thefts)])
