"""``TrainConfig``: checked once when made (one InputError line naming the flag), saved as a
run's config.json and read back, and the reuse decision of ``ensure_run`` taken from its
fields. A config.json written before ``TrainConfig`` existed (commit 89cb852) still loads."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from utils.errors import InputError
from utils.finetune.config import TrainConfig, train_config
from utils.finetune.head import train_head

BASE = {"data": "/data/dcsass", "backbone": "tiny3d"}

# a config.json written by finetune at 89cb852 (run facts beside the settings)
OLD_CONFIG = {
    "backbone": "tiny3d", "weights": "none", "weights_hash": "a5a50e6f8412089e",
    "finetuned_hash": None, "preset": "tiny3d", "embed_dim": 64, "data": "/data/dcsass",
    "synthetic_data": False, "category": "Shoplifting", "extra_negatives": None,
    "split_file": None, "head": "course", "epochs": 4, "lr": 0.001, "weight_decay": 0.01,
    "batch_size": 32, "patience": 5, "augment": 0, "rule": "max_f1", "target_recall": 0.8,
    "seed": 0, "val_fraction": 0.15, "test_fraction": 0.15, "n_boot": 50, "e2e": False,
    "device": "cpu", "cache_dir": "/cache", "features_computed": 63, "features_reused": 0,
    "run_id": "b86c642487fa4933",
    "versions": {"python": "3.11.7", "torch": "2.14.1+cu130", "pandas": "3.1.1"}}

BAD = [
    ({"lr": float("nan")}, "--lr must be a finite number, got nan"),
    ({"lr": 0.0}, "--lr must be > 0, got 0.0"),
    ({"weight_decay": -0.1}, "--weight-decay must be >= 0, got -0.1"),
    ({"epochs": 0}, "--epochs must be >= 1, got 0"),
    ({"patience": 0}, "--patience must be >= 1, got 0"),
    ({"batch_size": 0}, "--batch-size must be >= 1, got 0"),
    ({"seed": -1}, "--seed must be >= 0, got -1"),
    ({"seed": "0"}, "--seed must be int, got '0'"),
    ({"epochs": 2.0}, "--epochs must be int, got 2.0"),
    ({"lr": True}, "--lr must be float, got True"),
    ({"n_boot": 0}, "--n-boot must be >= 1, got 0"),
    ({"augment": -1}, "--augment must be >= 0, got -1"),
    ({"head": "mlp"}, "--head must be one of course, linear, got 'mlp'"),
    ({"rule": "max_f3"}, "--rule must be one of max_f1, max_f2, target_recall, got 'max_f3'"),
    ({"target_recall": 1.5}, "--target-recall must be <= 1, got 1.5"),
    ({"target_recall": 0}, "--target-recall must be > 0, got 0"),
    ({"e2e": "yes"}, "--e2e must be bool, got 'yes'"),
    ({"split_file": 3}, "--split-file must be str | None, got 3"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m.split(",")[0] for _, m in BAD])
def test_a_bad_setting_is_one_input_error(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        TrainConfig(**BASE, **change)
    assert str(caught.value) == message
    with pytest.raises(InputError, match="must be"):  # replace() checks again
        replace(TrainConfig(**BASE), **change)


def test_values_are_normalised_as_a_run_saves_them() -> None:
    config = TrainConfig(data=Path("/data/dcsass"), backbone="tiny3d", weights=None,
                         split_file=Path("s.csv"), lr=1)
    assert (config.data, config.weights, config.split_file, config.lr) == (
        "/data/dcsass", "none", "s.csv", 1)
    assert config.device == "auto" and config.patience == 5 and config.epochs == 10


def test_saved_and_loaded_back_with_the_run_facts_beside(tmp_path: Path) -> None:
    config = TrainConfig(**BASE, epochs=3, split_file="split.csv", device="cpu")
    config.save(tmp_path / "config.json", run_id="abc", embed_dim=64)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == {**asdict(config), "run_id": "abc", "embed_dim": 64}
    assert TrainConfig.load(tmp_path / "config.json") == config


def test_a_config_json_of_the_earlier_layout_loads_and_keeps_its_keys(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(OLD_CONFIG))
    config = TrainConfig.load(tmp_path / "config.json")
    assert asdict(config) == {k: v for k, v in OLD_CONFIG.items() if k in asdict(config)}
    # every setting the earlier file held is a field: no key lost or renamed
    facts = {"weights_hash", "finetuned_hash", "preset", "embed_dim", "synthetic_data",
             "features_computed", "features_reused", "run_id", "versions"}
    assert set(asdict(config)) == set(OLD_CONFIG) - facts


@pytest.mark.parametrize("content", ["[1, 2]", '{"data": "x"}', "not json"])
def test_what_is_not_a_config_is_refused(content: str, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(InputError, match="not a run's config"):
        TrainConfig.load(tmp_path / "config.json")


def test_same_results_ignores_only_where_and_on_what_a_run_computes() -> None:
    config = TrainConfig(**BASE, device="cpu", cache_dir="/cache")
    assert config.same_results(replace(config, device="cuda", cache_dir=None))
    for change in ({"epochs": 4}, {"split_file": "split.csv"}, {"extra_negatives": "hn.csv"},
                   {"weights": "none"},
                   {"val_fraction": 0.2}, {"data": "/other"}, {"e2e": True}):
        assert not config.same_results(replace(config, **change)), change


def test_train_config_takes_a_config_or_its_fields() -> None:
    config = TrainConfig(**BASE, epochs=2)
    assert train_config(config, {}) is config
    assert train_config("/data/dcsass", {"backbone": "tiny3d", "epochs": 2}) == config
    with pytest.raises(TypeError, match="beside a TrainConfig"):
        train_config(config, {"epochs": 3})


def test_train_head_checks_its_settings_the_same_way() -> None:
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(InputError, match="--patience must be >= 1, got 0"):
        train_head(x, y, x, y, patience=0, progress=False)
