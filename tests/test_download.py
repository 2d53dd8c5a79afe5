"""The download layer against a real HTTP server on 127.0.0.1 (tests/mirror_server.py): mirror
mapping, mirrors in order, resume after a cut connection (within a call and across calls),
checksums (full and torch hub's prefix in the file name), one-line failures; and every remote
file of the project (checkpoints, YOLO weights) fetched through ACTIONLAB_MIRROR."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from mirror_server import MirrorServer, Served, write_checkpoint

from utils import download as dl
from utils.errors import InputError
from utils.models import build_model, get_weights
from utils.models import checkpoints as ck

PAYLOAD = np.random.default_rng(0).bytes(300_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def put(mirror: MirrorServer, url: str, data: bytes) -> str:
    """Serve ``data`` as ``url`` on the mirror; returns the path the server sees."""
    target = mirror.local(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return "/" + target.relative_to(mirror.root).as_posix()


def test_mirror_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://s3.amazonaws.com/kinetics/400/annotations/val.csv"
    monkeypatch.delenv(dl.MIRROR_ENV, raising=False)
    assert dl.mirrored(url) == url
    monkeypatch.setenv(dl.MIRROR_ENV, "http://10.0.0.5:8000/actionlab/")
    assert dl.mirrored(url) == "http://10.0.0.5:8000/actionlab/s3.amazonaws.com/kinetics/400/annotations/val.csv"
    assert dl.mirrored("https://www.kaggle.com/api/v1/x?y=1") == (
        "http://10.0.0.5:8000/actionlab/www.kaggle.com/api/v1/x?y=1")
    monkeypatch.setenv(dl.MIRROR_ENV, "10.0.0.5:8000")
    with pytest.raises(InputError, match="expected http://host:port"):
        dl.mirrored(url)


def test_resume_after_a_cut_connection(mirror: MirrorServer, tmp_path: Path) -> None:
    path = put(mirror, "https://example.org/a/cut.bin", PAYLOAD)
    mirror.cut[path] = 100_000
    out = dl.fetch("https://example.org/a/cut.bin", tmp_path / "cut.bin", sha256=SHA,
                   progress=False)
    assert out.read_bytes() == PAYLOAD
    assert mirror.log == [Served(path, None, 200, 100_000),
                          Served(path, "bytes=100000-", 206, 200_000)]
    assert not (tmp_path / "cut.bin.part").exists()


def test_resume_across_calls_from_the_partial_file(mirror: MirrorServer, tmp_path: Path) -> None:
    path = put(mirror, "https://example.org/a/part.bin", PAYLOAD)
    (tmp_path / "part.bin.part").write_bytes(PAYLOAD[:123_456])
    dl.fetch("https://example.org/a/part.bin", tmp_path / "part.bin", sha256=SHA, progress=False)
    assert (tmp_path / "part.bin").read_bytes() == PAYLOAD
    assert mirror.log == [Served(path, "bytes=123456-", 206, 300_000 - 123_456)]
    mirror.log.clear()
    dl.fetch("https://example.org/a/part.bin", tmp_path / "part.bin", sha256=SHA)
    assert mirror.log == []  # present and verified: no request


def test_server_errors_are_retried_with_backoff(
    mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = put(mirror, "https://example.org/a/busy.bin", PAYLOAD)
    mirror.fail[path] = [503, 502]
    waits: list[float] = []
    monkeypatch.setattr(dl.time, "sleep", waits.append)
    dl.fetch("https://example.org/a/busy.bin", tmp_path / "busy.bin", backoff=0.5, progress=False)
    assert (tmp_path / "busy.bin").read_bytes() == PAYLOAD
    assert waits == [0.5, 1.0] and [s.status for s in mirror.log] == [503, 502, 200]
    mirror.fail[path] = [503, 503, 503]  # retries exhausted: one line, the file is not made
    with pytest.raises(InputError) as info:
        dl.fetch("https://example.org/a/busy.bin", tmp_path / "busy2.bin", progress=False)
    assert f"tried {mirror.url}/example.org/a/busy.bin (HTTP 503)." in str(info.value)
    assert not (tmp_path / "busy2.bin").exists()


def test_a_complete_leftover_part_is_fetched_again(mirror: MirrorServer, tmp_path: Path) -> None:
    path = put(mirror, "https://example.org/a/whole.bin", PAYLOAD)
    (tmp_path / "whole.bin.part").write_bytes(PAYLOAD + b"junk")  # longer than the file
    dl.fetch("https://example.org/a/whole.bin", tmp_path / "whole.bin", sha256=SHA,
             progress=False)
    assert (tmp_path / "whole.bin").read_bytes() == PAYLOAD
    assert [(s.range, s.status) for s in mirror.log] == [(f"bytes={len(PAYLOAD) + 4}-", 416),
                                                         (None, 200)]
    assert mirror.log[0].path == path


def test_mirrors_in_order_and_checksums(mirror: MirrorServer, tmp_path: Path) -> None:
    first, second, third = (f"https://{host}.example/m/file-{SHA[:8]}.pth"
                            for host in ("one", "two", "three"))
    wrong = put(mirror, second, PAYLOAD[::-1])  # a mirror serving another file
    good = put(mirror, third, PAYLOAD)
    dest = tmp_path / f"file-{SHA[:8]}.pth"
    dl.fetch([first, second, third], dest, sha256=SHA[:8], progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert [(s.path, s.status) for s in mirror.log] == [
        (f"/one.example/m/file-{SHA[:8]}.pth", 404), (wrong, 200), (good, 200)]


def test_checksum_mismatch_is_refused_in_one_line(mirror: MirrorServer, tmp_path: Path) -> None:
    url = "https://example.org/a/bad.bin"
    put(mirror, url, PAYLOAD)
    dest = tmp_path / "bad.bin"
    with pytest.raises(InputError) as info:
        dl.fetch(url, dest, sha256="0" * 64, progress=False)
    message = str(info.value)
    assert "\n" not in message and f"does not match {'0' * 64}" in message
    assert f"Fetch {url} " in message and f"at {dest} " in message
    assert not dest.exists() and not (tmp_path / "bad.bin.part").exists()
    dest.write_bytes(b"swapped")  # a wrong file already in place is refused too
    with pytest.raises(InputError, match="delete it"):
        dl.fetch(url, dest, sha256=SHA)


def test_stream_resumes_after_a_cut(mirror: MirrorServer) -> None:
    path = put(mirror, "https://example.org/a/stream.bin", PAYLOAD)
    mirror.cut[path] = 50_000
    with dl.open_stream("https://example.org/a/stream.bin") as remote:
        assert remote.read() == PAYLOAD
    assert [s.range for s in mirror.log] == [None, "bytes=50000-"]


def test_tsm_checkpoint_falls_back_through_the_upstream_hosts(
    mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    spec = get_weights("tsm_r50")
    assert [u.split("/")[2] for u in spec.urls] == [
        "hanlab18.mit.edu", "hanlab.mit.edu", "file.lzhu.me"]
    put(mirror, spec.urls[2], PAYLOAD)
    assert ck.download(spec, progress=False).read_bytes() == PAYLOAD
    assert [(s.path.split("/")[1], s.status) for s in mirror.log] == [
        ("hanlab18.mit.edu", 404), ("hanlab.mit.edu", 404), ("file.lzhu.me", 200)]


def test_torchvision_hash_prefix_from_the_mirror(
    mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    spec = get_weights("r3d_18")
    put(mirror, spec.urls[0], PAYLOAD)  # not the published file: its hash is b3b3357e...
    with pytest.raises(InputError, match="does not match b3b3357e"):
        ck.download(spec, progress=False)
    ours = dataclasses.replace(spec, sha256=SHA[:8])
    assert ck.download(ours, progress=False).read_bytes() == PAYLOAD


def test_default_weights_load_from_the_mirror(
    mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    served = write_checkpoint(mirror.root, "x3d_xs", seed=3)
    model = build_model("x3d_xs", weights="default", progress=False)
    assert model.pretrained and model.weights_path == ck.cache_path(get_weights("x3d_xs"))
    state = torch.load(served, weights_only=True)["model_state"]
    loaded = model.checkpoint_module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_yolo_weights_come_through_the_mirror(
    mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from utils.deploy import detect

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(InputError) as info:  # nothing staged: the message names the mirror URL
        detect.load_yolo(weights="default")
    url = f"{detect.YOLO_RELEASE}yolov8n.pt"
    assert dl.mirrored(url) in str(info.value) and f"Fetch {url} " in str(info.value)
    assert [s.path for s in mirror.log][:1] == [
        "/github.com/ultralytics/assets/releases/download/v8.3.0/yolov8n.pt"]


def test_readme_states_the_hosts_and_numbers_of_the_specs() -> None:
    from utils.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    tsn, tsm = get_weights("tsn_r50"), get_weights("tsm_r50")
    assert tsn.fallback is not None and tsm.fallback is not None
    hosts = ", then ".join(f"`{url.split('/')[2]}`" for url in tsn.urls)
    assert f"(TSN/TSM: {hosts}, the hosts" in readme
    assert f"{tsn.fallback.metrics['top1']} % (TSN R50 1x1x8, 25 clips × 10 crops)" in readme
    assert f"{tsm.fallback.metrics['top1']} % (TSM R50 1x1x8,\n8 clips × 10 crops)" in readme
    assert f"{tsn.metrics['top1']} / {tsm.metrics['top1']} % of the mit-han-lab" in readme
