"""The Dask engine's duplicate check through hash-bucket files on a scratch folder: the buckets
together find exactly the duplicates of the whole table, files hold what their header says, and
``--scratch`` is used, cleaned and refused as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from utils.alerts import hash_buckets
from utils.alerts.summaries import first_duplicates
from utils.cli import main
from utils.errors import InputError

pytest.importorskip("fsspec")

VIDEO = "2023-01-02_08h00m{s:02d}s_to_2023-01-02_08h00m59s_camera_{c}_ip_10.0.0.1_port_80.mp4"


def _hashes(seed: int, rows: int) -> pd.DataFrame:
    """Row labels 0..rows-1 with hashes drawn from a small pool (many repeats) and a few huge
    ones (the top bit set)."""
    rng = np.random.default_rng(seed)
    pool = np.concatenate([rng.integers(0, 2**63, 40, dtype=np.uint64),
                           np.uint64(2**64 - 1) - rng.integers(0, 5, 3).astype(np.uint64)])
    return pd.DataFrame({"h": rng.choice(pool, rows), "row": np.arange(rows, dtype=np.int64)})


@pytest.mark.parametrize(("seed", "buckets", "scheme"),
                         [(0, 1, "path"), (1, 3, "path"), (2, 7, "file"), (3, 64, "memory")])
def test_buckets_find_exactly_the_tables_duplicates(seed: int, buckets: int, scheme: str,
                                                    tmp_path: Path) -> None:
    hashes = _hashes(seed, 300)
    cuts = [0, 1, 120, 121, 300]  # files of 1, 119, 1 and 179 rows, written out of order
    folder = {"path": str(tmp_path / "s"), "file": (tmp_path / "s").as_uri(),
              "memory": f"memory://actionlab-test-{seed}"}[scheme]
    hash_buckets.make_folder(folder)
    for i in (2, 0, 3, 1):
        part = hashes.iloc[cuts[i]:cuts[i + 1]]
        assert hash_buckets.write_hashes(part, buckets, hash_buckets.part_url(folder, i)) == len(
            part)
    found = [hash_buckets.bucket_duplicates(folder, 4, b, buckets, 300) for b in range(buckets)]
    expected_count, expected_first = first_duplicates(hashes)
    assert sum(n for n, _ in found) == expected_count > 0
    rows = sorted(r for _, first in found for r in first)
    assert rows[:len(expected_first)] == expected_first
    # every row is in exactly one bucket, the one its hash names
    pieces = [hash_buckets.read_bucket([hash_buckets.part_url(folder, i) for i in range(4)], b,
                                       buckets) for b in range(buckets)]
    assert sorted(np.concatenate([p["row"] for p in pieces]).tolist()) == list(range(300))
    for b, piece in enumerate(pieces):
        assert (piece["h"].to_numpy() % np.uint64(buckets) == b).all()
        joined = piece.merge(hashes, on="row", suffixes=("", "_table"))
        assert (joined["h"] == joined["h_table"]).all()
    hash_buckets.remove(folder)
    assert not hash_buckets.file_system(folder)[0].exists(hash_buckets.file_system(folder)[1])


def test_a_file_is_its_header_then_its_records(tmp_path: Path) -> None:
    hashes = pd.DataFrame({"h": np.array([5, 2, 9, 4, 7], np.uint64),
                           "row": np.array([10, 11, 12, 13, 14], np.int64)})
    path = tmp_path / "p.bin"
    hash_buckets.write_hashes(hashes, 3, str(path))
    raw = path.read_bytes()
    # buckets by h % 3: 9 -> 0; 4, 7 -> 1; 5, 2 -> 2 (label order kept inside a bucket)
    assert np.frombuffer(raw[:32], "<i8").tolist() == [0, 1, 3, 5]
    records = np.frombuffer(raw[32:], hash_buckets.RECORD)
    assert records["row"].tolist() == [12, 13, 14, 10, 11]
    assert not (tmp_path / "p.bin.partial").exists()


def test_bucket_count() -> None:
    rows = hash_buckets.BUCKET_ROWS
    assert [hash_buckets.bucket_count(n) for n in (0, 1, rows, rows + 1, 10 * rows)] == [
        1, 1, 1, 2, 10]


def _edge(folder: Path) -> str:
    """Two files with a row repeated across them (row 2 repeats row 0)."""
    rows = [("s", VIDEO.format(s=1, c=1), "Theft", 0.5),
            ("s", VIDEO.format(s=2, c=1), "Other", 0.2)]
    folder.mkdir()
    pd.DataFrame(rows, columns=["store", "video_name", "label", "probability"]).to_parquet(
        folder / "a.parquet", index=False)
    pd.DataFrame(rows[:1], columns=["store", "video_name", "label", "probability"]).to_parquet(
        folder / "b.parquet", index=False)
    return str(folder)


@pytest.mark.parametrize("as_url", [False, True])
def test_scratch_folder_is_used_and_left_as_found(as_url: bool, dask_scheduler: str,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = _edge(tmp_path / "ds")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "mine.txt").write_text("not the job's")
    writes: list[str] = []
    write = hash_buckets.write_hashes
    monkeypatch.setattr(hash_buckets, "write_hashes",
                        lambda h, b, url: writes.append(url) or write(h, b, url))
    flag = scratch.as_uri() if as_url else str(scratch)
    outputs = []
    for engine in (["--engine", "local"],
                   ["--engine", "dask", "--scheduler", dask_scheduler, "--scratch", flag]):
        assert main(["alerts", "validate", "--json", "--source", source, *engine]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] and outputs[1]["issues"]["duplicate_rows"]["count"] == 1
    assert len(writes) == 2 and all(w.startswith(flag.rstrip("/") + "/hashes-") for w in writes)
    assert sorted(p.name for p in scratch.iterdir()) == ["mine.txt"]


def test_scratch_is_removed_after_a_failed_run(dask_scheduler: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad"
    source.mkdir()
    pd.DataFrame({"store": ["s"], "video_name": [VIDEO.format(s=1, c=1)], "label": ["Theft"],
                  "probability": [0.5]}).to_parquet(source / "a.parquet", index=False)
    (source / "b.parquet").write_bytes(b"not parquet")
    scratch = tmp_path / "scratch"
    assert main(["alerts", "validate", "--source", str(source), "--engine", "dask",
                 "--scheduler", dask_scheduler, "--scratch", str(scratch)]) == 2
    assert "b.parquet: cannot read as Parquet" in capsys.readouterr().err
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(("flags", "message"), [
    (["--scratch", "x"], "--scratch needs --engine dask"),
    (["--engine", "dask", "--scratch", "FILE"], "--scratch FILE: cannot use it as a folder"),
])
def test_scratch_flag_errors(flags: list[str], message: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    source = _edge(tmp_path / "ds")
    (tmp_path / "a-file").write_text("")
    flags = [str(tmp_path / "a-file") if f == "FILE" else f for f in flags]
    assert main(["alerts", "validate", "--source", source, *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("actionlab: error: ") and err.count("\n") == 1
    assert message.replace("FILE", str(tmp_path / "a-file")) in err


def test_workers_elsewhere_need_a_scratch_folder() -> None:
    """A cluster whose workers run on other machines cannot share this machine's temp folder."""
    from utils.alerts.dask_engine import scratch_folder

    class Client:
        def run(self, fn: Any) -> dict[str, str]:
            return {"tcp://10.0.0.7:4000": "node-7", "tcp://10.0.0.8:4000": "node-8"}

    refused = pytest.raises(InputError, match=r"--scheduler tcp://10\.0\.0\.1:8786: workers "
                                              r"run on other machines \(node-7, node-8\); give "
                                              r"--scratch")
    with refused, scratch_folder(Client(), None, "tcp://10.0.0.1:8786"):
        pass
