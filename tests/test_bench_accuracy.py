"""Top-k, multi-view averaging and evaluate(): against hand-computed values and scikit-learn."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from bench_helpers import TINY_PRESET, TwoConv3d, tiny_kinetics
from sklearn.metrics import top_k_accuracy_score

from utils.bench.accuracy import (
    average_views,
    evaluate,
    forward_views,
    parse_views,
    topk_accuracy,
    topk_hits,
)
from utils.datasets.kinetics import load_kinetics_sample
from utils.errors import InputError
from utils.video.presets import load_clip

PROBS = np.array([
    [0.1, 0.6, 0.2, 0.1],   # label 1: top-1 hit
    [0.5, 0.1, 0.3, 0.1],   # label 2: second -> top-2 hit only
    [0.05, 0.15, 0.3, 0.5],  # label 0: last -> miss even at top-3
])
LABELS = np.array([1, 2, 0])


def test_topk_by_hand_and_against_sklearn() -> None:
    assert topk_hits(PROBS, LABELS, 1).tolist() == [True, False, False]
    assert topk_hits(PROBS, LABELS, 2).tolist() == [True, True, False]
    assert topk_accuracy(PROBS, LABELS, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(PROBS, LABELS, 2) == pytest.approx(2 / 3)
    assert topk_accuracy(PROBS, LABELS, 3) == pytest.approx(2 / 3)
    assert topk_accuracy(PROBS, LABELS, 4) == 1.0
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(12), size=200)
    labels = rng.integers(0, 12, 200)
    for k in (1, 3, 5):
        expected = top_k_accuracy_score(labels, probs, k=k, labels=np.arange(12))
        assert topk_accuracy(probs, labels, k) == pytest.approx(expected)


def test_topk_rejects_bad_shapes() -> None:
    with pytest.raises(InputError, match="probs must be"):
        topk_accuracy(PROBS, LABELS[:2], 1)
    with pytest.raises(InputError, match="k must be"):
        topk_accuracy(PROBS, LABELS, 0)
    assert math.isnan(topk_accuracy(np.zeros((0, 4)), np.zeros(0, dtype=int), 1))


def test_multi_view_average_by_hand() -> None:
    # video 0: views [0, 0] -> (0.5, 0.5) and [ln 3, 0] -> (0.75, 0.25): mean (0.625, 0.375)
    # video 1: views [0, ln 4] -> (0.2, 0.8) and [0, ln 4] -> the same: mean (0.2, 0.8)
    logits = torch.tensor([[0.0, 0.0], [math.log(3), 0.0], [0.0, math.log(4)], [0.0, math.log(4)]])
    probs = average_views(logits, 2)
    assert torch.allclose(probs, torch.tensor([[0.625, 0.375], [0.2, 0.8]]))
    # Averaging softmax is not softmax of averaged logits: mean logits of video 0 give 0.634.
    assert not torch.allclose(probs[0], logits[:2].mean(0).softmax(-1), atol=1e-3)
    with pytest.raises(InputError, match="expected"):
        average_views(logits, 3)


@pytest.mark.parametrize(("text", "views"), [("1x1", (1, 1)), ("10x3", (10, 3)), ("2X10", (2, 10))])
def test_parse_views(text: str, views: tuple[int, int]) -> None:
    assert parse_views(text) == views


@pytest.mark.parametrize("text", ["1", "0x1", "3x2", "axb", "1x1x1"])
def test_parse_views_rejects(text: str) -> None:
    with pytest.raises(InputError, match="--views"):
        parse_views(text)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, int]]:
    folder = tiny_kinetics(tmp_path_factory.mktemp("kinetics"), classes=2, per_class=2)
    return load_kinetics_sample(folder, progress=False).pairs()


def test_evaluate_equals_a_manual_loop(sample: list[tuple[Path, int]]) -> None:
    torch.manual_seed(0)
    model = TwoConv3d(classes=3).eval()
    result = evaluate(model, sample, TINY_PRESET, num_clips=2, num_crops=3, batch_size=3,
                      progress=False)
    manual = []
    for path, _ in sample:
        views = load_clip(path, TINY_PRESET, num_clips=2, num_crops=3)
        assert views.shape == (6, 3, 4, 32, 32)
        with torch.no_grad():
            manual.append(model(views).softmax(-1).mean(0))
    assert result.views == (2, 3) and result.clips == 4 and not result.failed
    np.testing.assert_allclose(result.probs, torch.stack(manual).numpy(), rtol=1e-5, atol=1e-7)
    assert result.top1 == pytest.approx(100 * topk_accuracy(result.probs, result.labels, 1))


class Constant(torch.nn.Module):
    """Always the same logits, whatever the clip: the predicted class is known in advance."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_failed_clips_are_listed_and_left_out_of_the_denominators(
    sample: list[tuple[Path, int]], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    missing = tmp_path / "missing.mp4"
    labels = sorted({y for _, y in sample})
    # Predicts labels[0] first, labels[1] second: top-1 = share of labels[0], top-2 = all.
    logits = [0.0] * 400
    logits[labels[0]], logits[labels[1]] = 5.0, 4.0
    result = evaluate(Constant(logits), [*sample, (broken, labels[0]), (missing, labels[1])],
                      TINY_PRESET, categories=[f"c{i}" for i in range(400)], progress=False)
    assert result.clips == len(sample)
    assert set(result.failed) == {str(broken), str(missing)}
    assert "broken.mp4" in result.failed[str(broken)]
    assert "no such file" in result.failed[str(missing)]
    share = sum(y == labels[0] for _, y in sample) / len(sample)
    assert result.top1 == pytest.approx(100 * share)
    assert result.accuracy(2) == 1.0
    table = result.predictions()
    assert len(table) == len(sample) + 2
    assert table.error.astype(bool).sum() == 2
    good = table[table.error == ""]
    assert (good.pred_name == f"c{labels[0]}").all()
    assert good.correct_top1.sum() == round(share * len(sample))


def test_evaluate_applies_input_fn_and_keeps_the_model_mode(sample: list[tuple[Path, int]]) -> None:
    torch.manual_seed(0)
    model = TwoConv3d(classes=3).eval()
    base = evaluate(model, sample[:1], TINY_PRESET, progress=False)
    negated = evaluate(model, sample[:1], TINY_PRESET, input_fn=torch.neg, progress=False)
    x = load_clip(sample[0][0], TINY_PRESET)
    np.testing.assert_allclose(negated.probs, forward_views(model, -x, 1).numpy(), rtol=1e-5)
    assert not np.allclose(base.probs, negated.probs)
    assert not model.training


def test_evaluate_rejects_empty_input() -> None:
    with pytest.raises(InputError, match="no clips"):
        evaluate(Constant([0.0]), [], TINY_PRESET)


def test_decoding_workers_give_the_same_result(sample: list[tuple[Path, int]],
                                               tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"junk")
    torch.manual_seed(0)
    model = TwoConv3d(classes=3).eval()
    clips = [*sample, (broken, 0)]
    serial = evaluate(model, clips, TINY_PRESET, batch_size=2, progress=False)
    parallel = evaluate(model, clips, TINY_PRESET, batch_size=2, num_workers=2, progress=False)
    assert [p.name for p in parallel.paths] == [p.name for p in serial.paths]
    np.testing.assert_allclose(parallel.probs, serial.probs, rtol=1e-6)
    assert parallel.failed == serial.failed and list(parallel.failed) == [str(broken)]
