"""The lab 1.1 budget pick ranks like with like: measured top-1 when it is a finding, else only
published figures of the protocol the benchmark measured (1 clip x 1 crop)."""

from __future__ import annotations

import pytest

from utils.bench.budget import pick_here_text, single_view
from utils.models import get_weights

ROWS = [
    {"model": "tsn", "top1": 60.0, "latency_ms_median": 40.0, "published_top1": 68.8},
    {"model": "tsm", "top1": 55.0, "latency_ms_median": 50.0, "published_top1": 71.2},
    {"model": "slowfast", "top1": 70.0, "latency_ms_median": 90.0, "published_top1": 76.94},
]
PROTOCOLS = {"tsn": "1 clip x 1 centre crop (8 frames, 224)",
             "tsm": "1 clip x 1 centre crop (8 frames, 224)", "slowfast": "10 clips x 3 crops"}


@pytest.mark.parametrize(("name", "expected"), [
    ("tsm_r50", True), ("tsn_r50", True), ("slowfast_r50", False), ("x3d_m", False),
    ("r2plus1d_18", False), ("s3d", True), ("tiny3d", False)])
def test_single_view_reads_the_zoo_protocols(name: str, expected: bool) -> None:
    assert single_view(get_weights(name).metrics["protocol"]) is expected


def _pick(budget: float, *, findings: bool, views: tuple[int, int] = (1, 1)) -> tuple[str, str]:
    text, row = pick_here_text(ROWS, budget, protocols=PROTOCOLS, views=views, device="cpu",
                               findings=findings)
    return text, row and row["model"]


def test_measured_accuracy_when_it_is_a_finding() -> None:
    text, model = _pick(100, findings=True)
    assert model == "slowfast" and "70.0 % top-1 on these clips" in text
    assert _pick(45, findings=True)[1] == "tsn"
    text, model = _pick(39.9, findings=True)
    assert model is None and "no benchmarked model fits" in text


def test_published_figures_only_of_the_same_protocol() -> None:
    text, model = _pick(100, findings=False)  # slowfast's 76.94 (10x3) is not ranked
    assert model == "tsm" and "71.2 % published top-1" in text
    assert "slowfast (10 clips x 3 crops)" in text
    assert _pick(50, findings=False)[1] == "tsm"  # budget exactly equal fits
    assert _pick(49, findings=False)[1] == "tsn"
    text, model = _pick(30, findings=False)
    assert model is None and "no model published at 1 clip x 1 crop fits" in text
    text, model = _pick(100, findings=False, views=(10, 3))
    assert model is None and "no model is ranked by accuracy" in text
