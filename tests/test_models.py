"""Every zoo model builds offline with random weights and follows the one forward contract:
(N, 3, T, H, W) -> logits (N, 400), ``features`` -> (N, embed_dim) = what the classifier reads.

Each model is built once for the module; inputs are the smallest the architecture accepts
(fixed-kernel head pools: SlowFast needs 32 frames and >= 193 px, X3D and s3d their own sizes,
mvit_v2_s exactly 16 x 224 x 224).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torchvision.models._meta import _KINETICS400_CATEGORIES

from utils.datasets.kinetics import kinetics_classes
from utils.errors import InputError
from utils.models import VideoClassifier, build_model, get_weights, list_models, resolve_device
from utils.video.presets import PRESETS

ZOO = [
    "tsn_r50", "tsm_r50", "slowfast_r50", "x3d_xs", "x3d_s", "x3d_m",
    "r2plus1d_18", "r3d_18", "mc3_18", "s3d", "mvit_v2_s", "tiny3d",
]  # fmt: skip
INPUT = {
    "tsn_r50": (2, 3, 8, 64, 64),
    "tsm_r50": (2, 3, 8, 64, 64),
    "slowfast_r50": (1, 3, 32, 193, 193),
    "x3d_xs": (1, 3, 4, 160, 160),
    "x3d_s": (1, 3, 13, 160, 160),
    "x3d_m": (1, 3, 16, 224, 224),
    "r2plus1d_18": (2, 3, 8, 32, 32),
    "r3d_18": (2, 3, 8, 32, 32),
    "mc3_18": (2, 3, 8, 32, 32),
    "s3d": (1, 3, 16, 224, 224),
    "mvit_v2_s": (1, 3, 16, 224, 224),
    "tiny3d": (2, 3, 8, 56, 56),
}


Run = tuple[VideoClassifier, torch.Tensor, torch.Tensor, torch.Tensor]


@pytest.fixture(scope="module")
def outputs() -> Callable[[str], Run]:
    """name -> (model, input, logits, features); each model is built and run once, when a test
    first asks for it (so ``-k`` runs build only what they use)."""
    runs: dict[str, Run] = {}

    def run(name: str) -> Run:
        if name not in runs:
            torch.manual_seed(0)
            model = build_model(name, weights=None)
            x = torch.randn(INPUT[name])
            with torch.no_grad():
                runs[name] = (model, x, model(x), model.features(x))
        return runs[name]

    return run


def test_list_models_is_the_contract() -> None:
    assert list_models() == ZOO


@pytest.mark.parametrize("name", ZOO)
def test_spec_is_complete(name: str) -> None:
    spec = get_weights(name)
    assert spec.name == name
    assert len(spec.categories) == 400 and len(set(spec.categories)) == 400
    assert spec.preset.name == name and (name == "tiny3d" or spec.preset == PRESETS[name])
    assert spec.embed_dim > 0 and spec.params_m > 0 and spec.gflops > 0
    assert spec.source and spec.licence and "protocol" in spec.metrics
    if name == "tiny3d":
        assert (spec.url, spec.filename, spec.format, spec.metrics["top1"]) == (None,) * 4
    else:
        assert spec.url.endswith("/" + spec.filename)
        assert spec.format in ("tsm", "pytorchvideo", "torchvision")
        assert 60 < spec.metrics["top1"] < 85


def test_category_orders() -> None:
    # torchvision's own list equals the shipped (sorted) file; so do TSM's and pytorchvideo's
    # (see utils/models/kinetics.py for the sources).
    assert list(_KINETICS400_CATEGORIES) == kinetics_classes() == sorted(kinetics_classes())
    assert all(get_weights(n).categories == tuple(kinetics_classes()) for n in ZOO)


@pytest.mark.parametrize("name", ZOO)
def test_forward_and_features_shapes(name: str, outputs) -> None:
    model, x, logits, feats = outputs(name)
    assert logits.shape == (x.shape[0], 400) and logits.dtype == torch.float32
    assert feats.shape == (x.shape[0], model.spec.embed_dim)
    assert torch.isfinite(logits).all() and torch.isfinite(feats).all()
    assert not model.training and model.pretrained is False and model.spec is get_weights(name)
    assert model.weights_path is None and "random" in model.weights_label


@pytest.mark.parametrize("name", ZOO)
def test_params_match_spec(name: str, outputs) -> None:
    model = outputs(name)[0]
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(
        model.spec.params_m, abs=0.006
    )


def _classifier(model: VideoClassifier) -> torch.nn.Linear:
    name = model.spec.name
    if name in ("tsn_r50", "tsm_r50"):
        return model.new_fc
    if name == "slowfast_r50" or name.startswith("x3d"):
        return model.net.blocks[-1].proj
    if name == "mvit_v2_s":
        return model.net.head[1]
    return model.fc if name == "tiny3d" else model.net.fc


@pytest.mark.parametrize("name", [n for n in ZOO if n != "s3d"])
def test_features_are_what_the_classifier_reads(name: str, outputs) -> None:
    model, _, logits, feats = outputs(name)
    with torch.no_grad():
        from_features = _classifier(model)(feats)
    if name.startswith("x3d"):  # one head position at these sizes: log-softmax of the logits
        from_features = torch.log_softmax(from_features, dim=1)
    torch.testing.assert_close(from_features, logits, rtol=1e-4, atol=1e-4)


def test_s3d_features_feed_its_1x1x1_conv_classifier(outputs) -> None:
    model, _, logits, feats = outputs("s3d")
    conv = model.net.classifier[1]
    with torch.no_grad():
        from_features = torch.nn.functional.linear(feats, conv.weight.flatten(1), conv.bias)
    torch.testing.assert_close(from_features, logits, rtol=1e-4, atol=1e-4)


def test_input_layout_is_checked(outputs) -> None:
    model = outputs("tiny3d")[0]
    with pytest.raises(InputError, match=r"\(N, 3, T, H, W\)"):
        model(torch.zeros(1, 8, 3, 56, 56))


def test_unknown_model_lists_the_valid_names() -> None:
    with pytest.raises(InputError, match="tsm_r50"):
        get_weights("tsm")
    with pytest.raises(InputError, match="tsm_r50"):
        build_model("tsm", weights=None)


def test_auto_device_is_cpu_without_cuda() -> None:
    model = build_model("tiny3d", weights=None, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(model.parameters()).device.type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only machine's message")
def test_cuda_without_cuda_is_an_input_error() -> None:
    with pytest.raises(InputError, match="CUDA is not available"):
        build_model("tiny3d", weights=None, device="cuda")
    with pytest.raises(InputError, match="device='gpu'"):
        resolve_device("gpu")


def test_readme_table_is_generated_from_the_specs() -> None:
    from utils.models.registry import zoo_table
    from utils.paths import REPO_ROOT

    assert zoo_table() in (REPO_ROOT / "README.md").read_text()


def test_tsn_is_a_2d_resnet_on_each_frame_averaged(outputs) -> None:
    # Catches a wrong frame-major reshape: frame t of clip n must reach the ResNet as one
    # (3, H, W) picture.
    model, x, logits, _ = outputs("tsn_r50")
    with torch.no_grad():
        per_frame = [model.new_fc(model.base_model(x[:, :, t])) for t in range(x.shape[2])]
    # float32 sums in another order (8 frames batched vs one at a time): 1e-4 relative; a wrong
    # reshape changes the logits by whole units
    torch.testing.assert_close(torch.stack(per_frame, dim=1).mean(dim=1), logits,
                               rtol=1e-4, atol=1e-4)


def test_tsm_shift_stays_within_each_clip(outputs) -> None:
    model, x, logits, _ = outputs("tsm_r50")
    with torch.no_grad():
        one_by_one = torch.cat([model(x[i : i + 1]) for i in range(x.shape[0])])
    torch.testing.assert_close(one_by_one, logits)
    with torch.no_grad():  # and the clip order matters: reversing time changes the output
        assert not torch.allclose(model(x.flip(2)), logits, rtol=1e-3, atol=1e-3)
