"""The run settings' resolvers (utils.settings, utils.datamode): one meaning of ``auto`` each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from utils import settings, workdir
from utils.datamode import choose_data
from utils.errors import InputError
from utils.handover import ask_earlier
from utils.models.weights import resolve_each, resolve_weights
from utils.paths import REPO_ROOT, WORKDIR_ENV


def test_device_auto_is_cuda_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert settings.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="CUDA is not available"):
        settings.resolve_device("cuda")
    assert "NO GPU" in settings.gpu_report() and "T4" in settings.gpu_report()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert settings.resolve_device("auto") == torch.device("cuda")
    assert settings.resolve_device("cuda:1") == torch.device("cuda", 1)


def test_device_refuses_what_is_absent_or_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(InputError, match="MPS is not available"):
        settings.resolve_device("mps")
    with pytest.raises(InputError, match="device='tpu'"):
        settings.resolve_device("tpu")


def test_every_caller_uses_the_one_device_rule() -> None:
    from utils.bench import device as bench_device
    from utils.finetune import run
    from utils.models import registry

    assert bench_device.resolve_device is settings.resolve_device
    assert registry.resolve_device is settings.resolve_device
    assert run.resolve_device is settings.resolve_device


def test_weights_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    ok = resolve_weights("auto", "x3d_xs", synthetic=False,
                                  fetch=lambda spec: fetched.append(spec.name))
    assert (ok.weights, fetched) == ("default", ["x3d_xs"])
    on_synthetic = resolve_weights("auto", "x3d_xs", synthetic=True,
                                            fetch=lambda spec: fetched.append(spec.name))
    assert on_synthetic.random and "stand-in" in on_synthetic.why and fetched == ["x3d_xs"]
    assert resolve_weights("auto", "tiny3d", synthetic=False).random

    def offline(spec: object) -> None:
        raise InputError("cannot download the x3d_xs checkpoint (offline)")

    failed = resolve_weights("auto", "x3d_xs", synthetic=False, fetch=offline)
    assert failed.random and "RANDOM WEIGHTS" in failed.why and "offline" in failed.why
    assert resolve_weights("auto", None, synthetic=False).weights == "default"


def test_benchmark_auto_leaves_out_a_model_whose_checkpoint_fails() -> None:
    def only_x3d(spec: Any) -> None:
        if spec.name != "x3d_xs":
            raise InputError(f"{spec.name}: every mirror failed (HTTP 404)")

    names = ["tsm_r50", "x3d_xs", "tiny3d"]
    kept, chosen, skipped = resolve_each("auto", names, synthetic=False, fetch=only_x3d)
    assert (kept, chosen.weights) == (["x3d_xs"], "default")
    assert list(skipped) == ["tsm_r50", "tiny3d"]
    assert "HTTP 404" in skipped["tsm_r50"] and "no published checkpoint" in skipped["tiny3d"]

    def offline(spec: Any) -> None:
        raise InputError("offline")

    kept, chosen, skipped = resolve_each("auto", names, synthetic=False, fetch=offline)
    assert (kept, chosen.weights, skipped) == (names, None, {})  # all random, said so
    assert chosen.why.startswith("RANDOM WEIGHTS") and chosen.why.count("offline") == 2
    calls: list[str] = []
    kept, chosen, skipped = resolve_each("auto", names, synthetic=True, fetch=calls.append)
    assert (kept, chosen.random, skipped, calls) == (names, True, {}, [])
    assert resolve_each("default", names, synthetic=False)[:2] == (
        names, resolve_weights("default", None, synthetic=False))


def test_weights_as_asked() -> None:
    assert resolve_weights("none", "x3d_xs", synthetic=False).weights is None
    assert resolve_weights(None, "x3d_xs", synthetic=False).weights is None
    assert resolve_weights("default", "x3d_xs", synthetic=True).weights == "default"
    assert resolve_weights("ckpt.pth", "x3d_xs", synthetic=True).weights == "ckpt.pth"


def test_data_auto_order(tmp_path: Path) -> None:
    made: list[str] = []

    def synthetic() -> Path:
        made.append("synthetic")
        return tmp_path / "synthetic"

    def download(target: Path) -> Path:
        target.mkdir()
        return target

    def offline(target: Path) -> Path:
        raise OSError("network unreachable")

    real = tmp_path / "real"
    fetched = choose_data("auto", real, synthetic, download)
    assert (fetched.path, fetched.synthetic, made) == (real, False, [])
    assert "fetched into WORKDIR" in fetched.banner
    present = choose_data("auto", real, synthetic, offline)  # in WORKDIR now: no download
    assert not present.synthetic and "found in WORKDIR" in present.banner
    missing = tmp_path / "missing"
    fallback = choose_data("auto", missing, synthetic, offline)
    assert fallback.synthetic and made == ["synthetic"]
    assert "network unreachable" in fallback.banner and "SYNTHETIC" in fallback.banner
    hint = choose_data("auto", missing, synthetic, ask_earlier("run notebook 3.1 first"))
    assert hint.synthetic and "could not be fetched (run notebook 3.1 first)" in hint.banner
    assert "no download" in choose_data("auto", missing, synthetic).banner


def test_data_real_never_falls_back(tmp_path: Path) -> None:
    def synthetic() -> Path:
        raise AssertionError("DATA='real' generated a stand-in")

    def offline(target: Path) -> Path:
        raise OSError("network unreachable")

    with pytest.raises(InputError, match=r"DATA='real'.*network unreachable"):
        choose_data("real", tmp_path / "missing", synthetic, offline)
    with pytest.raises(InputError, match="DATA must be"):
        choose_data("maybe", tmp_path, synthetic)


def test_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKDIR_ENV, raising=False)
    assert workdir.resolve_workdir().root == REPO_ROOT
    wd = workdir.resolve_workdir(tmp_path / "wd")
    assert wd.root == (tmp_path / "wd").resolve() and wd.root.is_dir()
    assert os.environ[WORKDIR_ENV] == str(wd.root)  # the commands a notebook starts agree
    assert workdir.resolve_workdir().root == wd.root
    assert wd.features == wd.root / "data" / "features"
    assert wd.output_dir("lab2_finetune/01_finetune_head.ipynb") == (
        wd.root / "outputs" / "lab2_finetune" / "01_finetune_head")


def test_workdir_on_drive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounted: list[str] = []
    monkeypatch.setattr(workdir, "DRIVE_MOUNT", tmp_path / "drive")
    monkeypatch.setattr(workdir, "DRIVE_WORKDIR", tmp_path / "drive" / "MyDrive" / "actionlab")
    wd = workdir.resolve_workdir(use_drive=True, mount=mounted.append)
    assert mounted == [str(tmp_path / "drive")]
    assert wd.root == (tmp_path / "drive" / "MyDrive" / "actionlab").resolve()
    named = workdir.resolve_workdir("course/wd", use_drive=True, mount=mounted.append)
    assert named.root == (tmp_path / "drive" / "MyDrive" / "course" / "wd").resolve()
    monkeypatch.setattr(workdir, "on_colab", lambda: False)
    with pytest.raises(InputError, match="USE_DRIVE=True needs Google Colab"):
        workdir.resolve_workdir(use_drive=True)
