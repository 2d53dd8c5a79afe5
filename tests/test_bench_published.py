"""GFLOPs per view of the real zoo models, counted here, against the published figures.

Each model is built once with random weights (FLOPs do not depend on the weights) and counted
on the meta device, so the whole module takes seconds. Published: SlowFast R50 8x8 65.7
(pytorchvideo model zoo), X3D-M 6.2 (as counted by fvcore; the X3D table says 6.72), R(2+1)D-18
40.5 (torchvision ``_ops``), TSM R50 8 frames 33 (TSM paper, Table 1).
"""

from __future__ import annotations

import pytest
import torch

from utils.bench.speed import gflops_per_view
from utils.models import build_model, get_weights

PUBLISHED = {"slowfast_r50": 65.7, "x3d_m": 6.2, "r2plus1d_18": 40.5, "tsm_r50": 33.0}


@pytest.fixture(scope="module")
def measured() -> dict[str, float | None]:
    torch.manual_seed(0)
    return {name: gflops_per_view(build_model(name, weights=None), get_weights(name).preset)
            for name in PUBLISHED}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_gflops_within_10_percent_of_published(name: str, measured: dict[str, float]) -> None:
    assert measured[name] == pytest.approx(PUBLISHED[name], rel=0.10)
    # and of the figure the zoo's spec publishes for the same checkpoint
    assert measured[name] == pytest.approx(get_weights(name).gflops, rel=0.10)


def test_s3d_spec_counts_the_presets_128_frames() -> None:
    """torchvision's ``_ops`` for s3d is a 16-frame count; the spec gives the preset's view."""
    from dataclasses import replace

    from torchvision.models.video import S3D_Weights

    model, preset = build_model("s3d", weights=None), get_weights("s3d").preset
    assert gflops_per_view(model, preset) == pytest.approx(get_weights("s3d").gflops, rel=0.01)
    sixteen = replace(preset, num_frames=16)
    assert gflops_per_view(model, sixteen) == pytest.approx(
        S3D_Weights.KINETICS400_V1.meta["_ops"], rel=0.01)
