"""Checkpoints in each official layout load through ``build_model(weights=PATH)`` and give the
logits of the model they were saved from; the official model code (pytorchvideo hub, torchvision)
agrees with the wrappers; bad files, offline downloads and wrong hashes get clear errors.

Files are synthesised here in exactly the published layouts (no network): weights and
BatchNorm statistics are perturbed first, so a loader that skipped any tensor would be caught.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from pytorchvideo.models import hub
from torchvision.models import resnet50
from torchvision.models import video as tvv

from utils.errors import InputError
from utils.models import build_model, get_weights, registry
from utils.models import checkpoints as ck
from utils.models.tsm import TemporalShift, temporal_shift


def perturbed_state(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """The module's state with every float tensor replaced by random values of a sane scale
    (variances positive), written back into the module too."""
    gen = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    for key, value in state.items():
        if not value.is_floating_point():
            continue
        noise = torch.rand(value.shape, generator=gen)
        if key.endswith("running_var") or (key.endswith(".weight") and value.ndim == 1):
            value.copy_(0.5 + noise)  # variances and norm scales stay positive
        else:
            fan_in = value[0].numel() if value.ndim > 1 else 1
            value.copy_((noise - 0.5) * (6.0 / fan_in) ** 0.5)
    return state


def rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path


# --- TSN / TSM (mit-han-lab layout) -------------------------------------------------------


def test_temporal_shift_on_a_hand_computed_example() -> None:
    # 2 clips x 3 frames, 8 channels -> fold 1: channel 0 from the next frame, channel 1 from
    # the previous one, zeros at the ends, nothing crosses from one clip into the other.
    x = torch.tensor(
        [[100 * n + 10 * t + c for c in range(8)] for n in range(2) for t in range(3)],
        dtype=torch.float32,
    ).view(6, 8, 1, 1)
    out = temporal_shift(x, num_segments=3).view(2, 3, 8)
    expected_clip0 = [
        [10, 0, 2, 3, 4, 5, 6, 7],
        [20, 1, 12, 13, 14, 15, 16, 17],
        [0, 11, 22, 23, 24, 25, 26, 27],
    ]
    assert out[0].tolist() == expected_clip0
    assert out[1].tolist() == [[v + 100 if v else 0 for v in row] for row in expected_clip0]


def official_tsm_keys(shift: bool) -> set[str]:
    """Keys of the official checkpoints from the documented rule: torchvision ResNet-50 keys
    without ``fc``, ``conv1`` of every bottleneck under ``.net`` when shifted, plus ``new_fc``."""
    keys = set()
    for key in resnet50().state_dict():
        if key.startswith("fc."):
            continue
        if shift and re.match(r"layer\d\.\d+\.conv1\.weight$", key):
            key = key.replace("conv1.weight", "conv1.net.weight")
        keys.add("module.base_model." + key)
    return keys | {"module.new_fc.weight", "module.new_fc.bias"}


@pytest.fixture(scope="module")
def tsm_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, torch.Tensor]]:
    """name -> (file in the official layout, logits of the model it was saved from)."""
    folder = tmp_path_factory.mktemp("tsm")
    x = torch.randn(2, 3, 8, 64, 64, generator=torch.Generator().manual_seed(1))
    files = {}
    for seed, name in enumerate(("tsn_r50", "tsm_r50")):
        model = build_model(name, weights=None)
        state = perturbed_state(model, seed)
        with torch.no_grad():
            logits = model(x)
        official = {  # as main.py save_checkpoint writes it, from nn.DataParallel
            "epoch": 50,
            "arch": "resnet50",
            "state_dict": {"module." + k: v for k, v in state.items()},
            "best_prec1": 71.2,
        }
        files[name] = (save(official, folder / get_weights(name).filename), logits)
    return {"x": x, **files}


@pytest.mark.parametrize("name", ["tsn_r50", "tsm_r50"])
def test_tsm_layout_round_trip(name: str, tsm_files) -> None:
    path, expected = tsm_files[name]
    assert set(torch.load(path, weights_only=True)["state_dict"]) == official_tsm_keys(
        name == "tsm_r50"
    )
    model = build_model(name, weights=path)
    assert model.pretrained is True and not model.training
    assert model.weights_path == path and model.weights_label == f"checkpoint {path.name}"
    with torch.no_grad():
        assert torch.equal(model(tsm_files["x"]), expected)


def mmaction2_name(key: str) -> str:
    """Our TSN/TSM key under the name mmaction2's Recognizer2D saves it, written out from its
    modules (mmaction2 1.x ``ResNet``/``ResNetTSM``: every conv an mmcv ``ConvModule`` holding
    ``conv`` and ``bn``, ``downsample`` one ``ConvModule``, the shift wrapping ``conv1.conv``;
    the classifier ``cls_head.fc_cls``)."""
    if key.startswith("new_fc."):
        return "cls_head.fc_cls." + key.removeprefix("new_fc.")
    key = key.removeprefix("base_model.")
    if key.startswith(("conv1.", "bn1.")):
        module, rest = key.split(".", 1)
        return f"backbone.conv1.{'conv' if module == 'conv1' else 'bn'}.{rest}"
    layer, block, module, rest = key.split(".", 3)
    if module == "downsample":
        index, rest = rest.split(".", 1)
        return f"backbone.{layer}.{block}.downsample.{'conv' if index == '0' else 'bn'}.{rest}"
    if module.startswith("bn"):
        return f"backbone.{layer}.{block}.conv{module[2:]}.bn.{rest}"
    return f"backbone.{layer}.{block}.{module}.conv.{rest}"


def mmaction2_file(tsm_file: Path, path: Path) -> Path:
    """The weights of an official mit-han-lab file saved as mmaction2 publishes a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = torch.load(tsm_file, weights_only=True)["state_dict"]
    renamed = {mmaction2_name(k.removeprefix("module.")): v for k, v in state.items()}
    return save({"meta": {"epoch": 100}, "state_dict": renamed}, path)


def test_mmaction2_layout_is_converted_on_load(tsm_files, tmp_path: Path) -> None:
    name = "tsm_r50"  # TSN's file differs only by no ``.net`` (the fallback test loads one)
    path = mmaction2_file(tsm_files[name][0], tmp_path / "mm.pth")
    keys = set(torch.load(path, weights_only=True)["state_dict"])
    assert {"backbone.conv1.conv.weight", "backbone.conv1.bn.running_var",
            "backbone.layer1.0.downsample.conv.weight", "backbone.layer4.2.conv3.bn.bias",
            "cls_head.fc_cls.weight"} <= keys
    assert "backbone.layer2.3.conv1.conv.net.weight" in keys
    model = build_model(name, weights=path)  # a path: the layout is recognised
    with torch.no_grad():
        assert torch.equal(model(tsm_files["x"]), tsm_files[name][1])


def test_mmaction2_checkpoint_is_the_fallback_of_tsn_and_tsm(
    tsm_files, mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    spec = get_weights("tsn_r50")
    fallback = spec.fallback
    assert fallback is not None and fallback.sha256 == "2692d16c"  # from mmaction2's file name
    assert fallback.metrics["top1"] == 74.12 and fallback.format == "mmaction2"
    served = mmaction2_file(tsm_files["tsn_r50"][0], mirror.local(fallback.url))
    with pytest.raises(InputError, match=r"and the fallback tsn_r50_mmaction2: .*does not match "
                                         r"2692d16c"):
        build_model("tsn_r50")  # our file is not mmaction2's: its published hash refuses it
    ours = dataclasses.replace(fallback, sha256=hashlib.sha256(served.read_bytes()).hexdigest())
    monkeypatch.setitem(registry._ZOO, "tsn_r50",
                        (dataclasses.replace(spec, fallback=ours), registry._ZOO["tsn_r50"][1]))
    mirror.log.clear()
    with pytest.warns(UserWarning, match="loaded tsn_r50_mmaction2 instead .*74.12 %"):
        model = build_model("tsn_r50", progress=False)
    assert [(s.path.split("/")[1], s.status) for s in mirror.log] == [
        ("hanlab18.mit.edu", 404), ("hanlab.mit.edu", 404), ("file.lzhu.me", 404),
        ("download.openmmlab.com", 200)]
    assert model.weights_path == tmp_path / "hub" / "checkpoints" / fallback.filename
    with torch.no_grad():
        assert torch.equal(model(tsm_files["x"]), tsm_files["tsn_r50"][1])


def test_tsm_shifts_every_bottleneck_only() -> None:
    model = build_model("tsm_r50", weights=None)
    shifts = [m for m in model.modules() if isinstance(m, TemporalShift)]
    assert len(shifts) == 3 + 4 + 6 + 3 and all(s.fold_div == 8 for s in shifts)


def test_wrong_checkpoint_lists_missing_and_unexpected_keys(tsm_files) -> None:
    tsn_file = tsm_files["tsn_r50"][0]
    with pytest.raises(InputError) as err:
        build_model("tsm_r50", weights=tsn_file)
    message = str(err.value)
    assert str(tsn_file) in message and "tsm_r50" in message
    assert "16 missing keys: base_model.layer1.0.conv1.net.weight" in message
    assert "16 unexpected keys: base_model.layer1.0.conv1.weight" in message


def test_checkpoint_of_another_format_is_named(tsm_files, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'model_state'"):
        build_model("x3d_xs", weights=tsm_files["tsm_r50"][0])
    with pytest.raises(InputError, match="no such checkpoint file"):
        build_model("tsm_r50", weights=tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"cannot read it \(Unsupported operand 110\)"):
        build_model("tsm_r50", weights=tmp_path / "junk.pth")


def test_numpy_bookkeeping_numbers_load(tmp_path: Path) -> None:
    # Old training scripts saved accuracies/epochs as numpy scalars next to the weights.
    path = save({"best_prec1": np.float64(71.2), "epoch": np.int64(50)}, tmp_path / "np.pth")
    assert ck.read_checkpoint(path) == {"best_prec1": 71.2, "epoch": 50}


def test_checkpoints_with_pickled_code_are_refused(tmp_path: Path) -> None:
    # Any class outside torch's weights-only allow-list stands for arbitrary pickled code.
    path = save({"state_dict": {}, "extra": Path("/")}, tmp_path / "code.pth")
    with pytest.raises(InputError) as refused:
        build_model("tsm_r50", weights=path)
    # one line, naming the global, without torch's advice to load with weights_only=False
    assert str(refused.value) == (
        f"{path}: it holds code or objects a weights-only load does not allow (GLOBAL "
        "pathlib.PosixPath); refused, nothing in it was run")


# --- pytorchvideo (model zoo .pyth) ---------------------------------------------------------


def pytorchvideo_file(hub_model: torch.nn.Module, path: Path, seed: int) -> Path:
    """A ``.pyth`` as PySlowFast writes it: model_state plus training bookkeeping."""
    state = perturbed_state(hub_model, seed)
    return save({"epoch": 196, "model_state": state, "cfg": "TRAIN: ..."}, path)


def official_pathways(x: torch.Tensor, alpha: int = 4) -> list[torch.Tensor]:
    """pytorchvideo's PackPathway (SlowFast tutorial): slow = linspace indices of the frames."""
    t = x.shape[2]
    slow = torch.index_select(x, 2, torch.linspace(0, t - 1, t // alpha).long())
    return [slow, x]


def test_slowfast_file_and_parity_with_the_hub_model(tmp_path: Path) -> None:
    official = hub.slowfast_r50(pretrained=False).eval()
    path = pytorchvideo_file(official, tmp_path / "SLOWFAST_8x8_R50.pyth", seed=3)
    ours = build_model("slowfast_r50", weights=path)
    x = torch.randn(1, 3, 32, 193, 193, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = official(official_pathways(x))
        assert rel_diff(ours(x), expected) < 1e-4


@pytest.mark.parametrize(
    ("name", "builder", "shape"),
    [
        ("x3d_xs", hub.x3d_xs, (2, 3, 4, 160, 160)),  # one head position (training size)
        ("x3d_xs", hub.x3d_xs, (1, 3, 4, 182, 182)),  # 2 x 2 positions (the preset's crop)
    ],
)
def test_x3d_file_and_parity_with_the_hub_model(name, builder, shape, tmp_path: Path) -> None:
    official = builder(pretrained=False).eval()
    path = pytorchvideo_file(official, tmp_path / get_weights(name).filename, seed=4)
    ours = build_model(name, weights=path)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        probabilities = official(x)  # the hub head ends with softmax + average over positions
        logits = ours(x)
    assert rel_diff(logits.softmax(dim=1), probabilities) < 1e-4
    assert rel_diff(logits, probabilities.log()) < 1e-4


# --- torchvision (plain state dict) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "builder", "shape"),
    [
        ("r2plus1d_18", tvv.r2plus1d_18, (2, 3, 8, 32, 32)),
        ("r3d_18", tvv.r3d_18, (2, 3, 8, 32, 32)),
        ("mc3_18", tvv.mc3_18, (2, 3, 8, 32, 32)),
    ],
)
def test_torchvision_file_and_parity(name, builder, shape, tmp_path: Path) -> None:
    official = builder(weights=None).eval()
    path = save(perturbed_state(official, seed=6), tmp_path / get_weights(name).filename)
    ours = build_model(name, weights=path)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        assert rel_diff(ours(x), official(x)) < 1e-4


def test_shape_mismatch_is_an_input_error(tmp_path: Path) -> None:
    path = save(tvv.r3d_18(weights=None, num_classes=10).state_dict(), tmp_path / "r3d10.pth")
    with pytest.raises(InputError, match="size mismatch"):
        build_model("r3d_18", weights=path)


# --- weights="default": cache, offline, hash -------------------------------------------------


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache, and a network that is down."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr("utils.download.BACKOFF_S", 0.0)

    def offline(request: object, timeout: float = 0) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tmp_path / "hub" / "checkpoints"


def test_offline_error_names_the_url_and_the_exact_path(hub_dir: Path) -> None:
    spec = get_weights("slowfast_r50")
    with pytest.raises(InputError) as err:
        build_model("slowfast_r50")
    assert spec.url in str(err.value)
    assert str(hub_dir / "SLOWFAST_8x8_R50.pyth") in str(err.value)
    assert ck.cache_path(spec) == hub_dir / "SLOWFAST_8x8_R50.pyth"


def test_default_weights_load_from_the_cache(hub_dir: Path, tsm_files) -> None:
    path, expected = tsm_files["tsm_r50"]
    hub_dir.mkdir(parents=True)
    (hub_dir / path.name).write_bytes(path.read_bytes())
    model = build_model("tsm_r50", weights="default")
    with torch.no_grad():
        assert model.pretrained and torch.equal(model(tsm_files["x"]), expected)


def test_hash_mismatch_is_rejected(hub_dir: Path) -> None:
    spec = get_weights("r3d_18")
    assert spec.sha256 == "b3b3357e"  # the prefix torchvision publishes in the file name
    hub_dir.mkdir(parents=True)
    (hub_dir / spec.filename).write_bytes(b"a truncated download")
    with pytest.raises(InputError, match="does not match b3b3357e"):
        build_model("r3d_18")


def test_tiny3d_has_no_checkpoint() -> None:
    with pytest.raises(InputError, match="weights=None"):
        build_model("tiny3d")
