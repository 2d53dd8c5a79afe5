"""FLOP counting against a hand count, and what measure_speed reports (not how fast it is)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from bench_helpers import TINY_PRESET, TwoConv3d, hand_macs, tiny_kinetics

from utils.bench.device import amp_active, resolve_device
from utils.bench.speed import (
    clips_per_second,
    count_macs,
    count_params,
    end_to_end_seconds,
    gflops_per_view,
    measure_speed,
    random_clip,
    time_forward,
)
from utils.errors import InputError


@pytest.mark.parametrize(("t", "h", "w"), [(4, 8, 8), (8, 32, 32), (3, 10, 14)])
def test_flop_counter_matches_a_hand_count(t: int, h: int, w: int) -> None:
    model = TwoConv3d().eval()
    assert count_macs(model, torch.zeros(1, 3, t, h, w)) == hand_macs(t, h, w)
    # per view: a batch of 2 views costs twice one
    assert count_macs(model, torch.zeros(2, 3, t, h, w)) == 2 * hand_macs(t, h, w)


def test_gflops_per_view_uses_the_preset_size() -> None:
    model = TwoConv3d().eval()
    assert gflops_per_view(model, TINY_PRESET) == pytest.approx(hand_macs(4, 32, 32) / 1e9)
    assert gflops_per_view(lambda x: x, TINY_PRESET) is None  # not a torch module (e.g. ONNX)


class NoMetaKernel(TwoConv3d):
    """Stands for a model with an op that has no meta-device kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "meta":
            raise NotImplementedError("no meta kernel")
        return super().forward(x)


def test_gflops_falls_back_to_a_real_forward() -> None:
    assert gflops_per_view(NoMetaKernel().eval(), TINY_PRESET) == pytest.approx(
        hand_macs(4, 32, 32) / 1e9)


def test_clips_per_second_from_batch_times() -> None:
    assert clips_per_second([0.1, 0.2, 0.4], batch_size=4) == pytest.approx(20.0)
    with pytest.raises(InputError):
        clips_per_second([], 1)


def test_params_counted() -> None:
    # conv1 3*4*27 + 4, conv2 8*2*9 + 8, fc 8*5 + 5
    assert count_params(TwoConv3d()) == 328 + 152 + 45
    assert count_params(lambda x: x) is None


def test_random_clip_is_seeded_and_sized() -> None:
    a = random_clip(TINY_PRESET, 2, seed=1)
    assert a.shape == (2, 3, 4, 32, 32)
    assert torch.equal(a, random_clip(TINY_PRESET, 2, seed=1))
    assert not torch.equal(a, random_clip(TINY_PRESET, 2, seed=2))


def test_time_forward_counts_only_timed_calls() -> None:
    calls = []
    times = time_forward(lambda x: calls.append(1), torch.zeros(1), warmup=3, iters=4)
    assert len(calls) == 7 and times.shape == (4,) and (times >= 0).all()
    with pytest.raises(InputError, match="iters"):
        time_forward(lambda x: x, torch.zeros(1), iters=0)


def test_devices_and_amp_fall_back_on_cpu() -> None:
    cpu = resolve_device("cpu")
    assert not amp_active(cpu, True)
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(InputError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="tpu9"):
        resolve_device("tpu9")


def test_measure_speed_report(tmp_path: Path) -> None:
    folder = tiny_kinetics(tmp_path / "k", classes=1, per_class=2)
    paths = sorted(folder.glob("*.mp4"))
    model = TwoConv3d().eval()
    report = measure_speed(model, TINY_PRESET, views=(1, 3), batch_size=2, warmup=1, iters=3,
                           amp=True, clip_paths=paths)
    assert report.device == "cpu" and report.amp is False  # AMP requested, CPU: float32
    assert report.views == (1, 3) and report.batch_size == 2
    assert 0 < report.latency_ms_median <= report.latency_ms_p90
    assert report.clips_per_s > 0 and report.end_to_end_s_per_clip is not None
    assert report.params_m == pytest.approx(525 / 1e6)
    assert report.gflops == pytest.approx(hand_macs(4, 32, 32) / 1e9)
    assert report.peak_memory_mb is None
    assert set(report.to_dict()) >= {"latency_ms_median", "clips_per_s", "gflops"}


def test_end_to_end_skips_undecodable_files(tmp_path: Path) -> None:
    folder = tiny_kinetics(tmp_path / "k", classes=1, per_class=2)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"junk")
    paths = [*sorted(folder.glob("*.mp4")), broken]
    seconds = end_to_end_seconds(TwoConv3d().eval(), paths, TINY_PRESET)
    assert seconds.shape == (2,) and np.all(seconds > 0)
    assert end_to_end_seconds(TwoConv3d(), [], TINY_PRESET).size == 0
