"""The training loop of lab 2 pinned to numbers recorded before it was shared by the head and
the end-to-end training (commit 89cb852's ``train_head``): the same seed gives the same
history, the same kept epoch and the same weights, with early stopping after ``patience``."""

from __future__ import annotations

import numpy as np
import pytest

from utils.finetune.head import train_head

# train_head(kind, epochs=30, patience=3, lr=1e-2, seed=5) on _features(), measured at 89cb852
RECORDED = {
    "course": {
        "best_epoch": 7, "best_val_ap": 0.5447640594699419, "epochs_run": 10,
        "val_ap": [0.5058132343846629, 0.4870959595959595, 0.515689223057644, 0.4836889301175015,
                   0.5081060830129153, 0.5268288854003138, 0.5447640594699419,
                   0.46468420143977324, 0.39120480968307053, 0.4005518291232577],
        "train_loss": [1.0965762694676717, 0.8520787040392558, 0.8042530218760172,
                       0.69818248351415, 0.6888831416765849, 0.6751737276713053,
                       0.6560217698415121, 0.5889580448468527, 0.5874349057674408,
                       0.545465091864268],
        "val_loss": [0.781249463558197, 0.7912151217460632, 0.695071816444397,
                     0.7350199222564697, 0.8555634617805481, 0.9060907363891602,
                     0.8086552619934082, 0.8437249064445496, 0.8662477731704712,
                     0.9173568487167358],
        # per tensor: sum and sum of absolute values of the kept weights
        "weights": {"0.weight": (-52.53205871582031, 623.6466064453125),
                    "0.bias": (-19.216636657714844, 99.45037078857422),
                    "3.weight": (-961.683349609375, 3289.04052734375),
                    "3.bias": (-3.6241536140441895, 5.156721591949463),
                    "5.weight": (1.4446752071380615, 4.861189842224121),
                    "5.bias": (0.007170051336288452, 0.007170051336288452)},
    },
    "linear": {
        "best_epoch": 3, "best_val_ap": 0.5683982683982685, "epochs_run": 6,
        "val_ap": [0.44460450847005467, 0.48644698213663734, 0.5683982683982685,
                   0.5282360496646211, 0.5282360496646211, 0.5597781634647994],
        "train_loss": [0.9698816776275635, 0.9474956313769023, 0.9280748248100281,
                       0.9118543783823649, 0.8954253514607747, 0.8855382641156514],
        "val_loss": [0.8128473162651062, 0.8018542528152466, 0.7922343611717224,
                     0.7839773893356323, 0.7765804529190063, 0.7711031436920166],
        "weights": {"0.weight": (0.9416579008102417, 1.8025128841400146),
                    "0.bias": (-0.2566525340080261, 0.2566525340080261)},
    },
}


def _features() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """120 training and 40 validation rows of 6 features, ~30 % positives shifted up."""
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random(n) < 0.3).astype(int)
        return rng.normal(size=(n, 6)) + 0.8 * y[:, None] * np.linspace(1, 0, 6), y

    (xt, yt), (xv, yv) = draw(120), draw(40)
    return xt, yt, xv, yv


@pytest.mark.parametrize("kind", list(RECORDED))
def test_training_matches_the_recorded_run(kind: str) -> None:
    want = RECORDED[kind]
    result = train_head(*_features(), kind=kind, epochs=30, patience=3, lr=1e-2, seed=5,
                        progress=False)
    assert (result.best_epoch, len(result.history), result.stopped_early) == (
        want["best_epoch"], want["epochs_run"], True)
    # early stopping: the last `patience` epochs did not beat the kept one
    assert want["epochs_run"] - want["best_epoch"] == 3
    assert result.best_val_ap == pytest.approx(want["best_val_ap"], rel=1e-9)
    assert result.pos_weight == pytest.approx(2.75)  # 88 normals / 32 thefts
    for column in ("val_ap", "train_loss", "val_loss"):
        assert result.history[column].tolist() == pytest.approx(want[column], rel=1e-5), column
    state = result.head.state_dict()
    assert list(state) == list(want["weights"])
    for name, (total, size) in want["weights"].items():
        assert float(state[name].sum()) == pytest.approx(total, rel=1e-4, abs=1e-5), name
        assert float(state[name].abs().sum()) == pytest.approx(size, rel=1e-4), name



def test_fit_keeps_every_module_at_the_best_epoch_and_stops_after_patience() -> None:
    """A head and a second module (as the end-to-end stage) trained by the loop, with
    validation APs scripted to peak at epoch 2: both come back with their epoch-2 weights,
    training stops after epoch 2 + patience, and the caller's random stream is untouched."""
    import torch
    from torch import nn

    from utils.finetune.loop import LoopSettings, Task, fit

    aps, seen = [0.1, 0.5, 0.3, 0.4, 0.9], []
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0.0, 1.0] * 8)
    stage, head = nn.Linear(3, 3), nn.Linear(3, 1)

    def validate() -> dict[str, float]:
        seen.append([{k: v.clone() for k, v in m.state_dict().items()} for m in (head, stage)])
        return {"val_ap": aps[len(seen) - 1]}

    def setup() -> Task:
        return Task(head, [{"params": head.parameters()}, {"params": stage.parameters()}],
                    [head, stage], lambda epoch: [(x, y)], lambda b: head(stage(b)).squeeze(1),
                    validate, pos_weight=1.0)

    torch.manual_seed(7)
    result = fit(setup, LoopSettings(epochs=10, patience=2, lr=0.1), desc="t", progress=False)
    after = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(after, torch.rand(3))  # fit drew from a forked generator
    assert (result.best_epoch, result.best_val_ap, len(result.history)) == (2, 0.5, 4)
    assert result.stopped_early and result.history["val_ap"].tolist() == aps[:4]
    assert result.head is head and not head.training
    for module, best, last in zip((head, stage), seen[1], seen[3], strict=True):
        assert all(torch.equal(module.state_dict()[k], v) for k, v in best.items())
        assert not all(torch.equal(last[k], v) for k, v in best.items())  # training moved on
