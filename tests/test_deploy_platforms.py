"""The deployment-platform cost model: devices by brute force, costs and the edge/central crossover
by hand, the shipped table's sources, and the generated sentence both ways."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from utils.bench.budget import COURSE_T4
from utils.deploy import platforms as pl
from utils.errors import InputError

matplotlib.use("Agg")

EDGE = pl.Platform("edge_box", "edge box", "edge", 100.0, 100.0, power_w=0.0)
SERVER = pl.Platform("server", "server", "central", 180.0, 180.0, power_w=0.0,
                     seconds_per_window=0.5)


@pytest.mark.parametrize(("n", "w", "t", "edge", "expected"), [
    (10, 1.0, 1 / 0.34, False, 4),   # 10 windows/s over 2.94 per device
    (3, 0.1, 0.1, False, 3),         # 0.30000000000000004 / 0.1 is not a 4th device
    (6, 0.1, 0.2, False, 3),
    (3, 1.0, 2.5, False, 2),         # shared: 3 / 2.5
    (3, 1.0, 2.5, True, 3),          # one unit per camera suffices
    (3, 2.0, 0.5, True, 12),         # each camera needs 4 slow units
    (0, 1.0, 1.0, False, 0),
])
def test_devices_needed_by_hand(n: int, w: float, t: float, edge: bool, expected: int) -> None:
    assert pl.devices_needed(n, w, t, edge=edge) == expected


def test_central_devices_are_the_fewest_that_keep_up() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, w, t = int(rng.integers(1, 60)), float(rng.uniform(0.2, 5)), float(rng.uniform(0.3, 9))
        k = next(k for k in range(10_000) if k * t >= n * w)
        assert pl.devices_needed(n, w, t, edge=False) == k
        per_camera = next(k for k in range(10_000) if k * t >= w)
        assert pl.devices_needed(n, w, t, edge=True) == n * per_camera


@pytest.mark.parametrize("args", [(-1, 1.0, 1.0), (1, 0.0, 1.0), (1, 1.0, 0.0),
                                  (1, 1.0, math.nan)])
def test_devices_needed_refuses_bad_rates(args: tuple) -> None:
    with pytest.raises(InputError):
        pl.devices_needed(*args, edge=False)


def test_monthly_opex_by_hand() -> None:
    cloud = pl.Platform("c", "c", "central", 0.0, 0.0, power_w=500.0, usd_per_hour=0.5)
    assert pl.monthly_opex_usd(cloud, 2, usd_per_kwh=9.0) == pytest.approx(2 * 0.5 * 730)
    box = pl.Platform("b", "b", "edge", 1.0, 1.0, power_w=100.0)
    assert pl.monthly_opex_usd(box, 3, usd_per_kwh=0.2) == pytest.approx(3 * 0.1 * 730 * 0.2)
    assert math.isnan(pl.monthly_opex_usd(pl.Platform("x", "x", "edge"), 1, usd_per_kwh=0.2))


def test_costs_and_the_edge_central_crossover_by_hand() -> None:
    costs = pl.cost_table([EDGE, SERVER], [1, 2, 3, 4], 1.0, usd_per_kwh=0.1, months=12)
    server = costs[costs["platform"] == "server"].set_index("n_cameras")
    # 2 windows/s per server: 1, 1, 2, 2 servers at 180 $ for 1..4 cameras
    assert server["devices"].tolist() == [1, 1, 2, 2]
    assert server["total_per_camera"].tolist() == pytest.approx([180, 90, 120, 90])
    edge = costs[costs["platform"] == "edge_box"]
    assert edge["total_per_camera"].tolist() == pytest.approx([100] * 4)
    assert not edge["throughput_checked"].any() and server["throughput_checked"].all()
    assert pl.cheapest_by_cameras(costs).tolist() == ["edge_box", "server", "edge_box", "server"]
    text = pl.cost_sentence(costs, months=12)
    assert "edge box from 1 camera(s) (100 $ per camera at 1)" in text
    assert "server from 2 camera(s) (90 $ per camera at 2)" in text
    assert "changes 3 time(s) between 1 and 4 cameras" in text
    assert "Assumed, not checked: one unit per camera keeps up (edge box" in text


def test_opex_over_the_horizon_and_a_single_winner() -> None:
    hot = pl.Platform("hot", "hot server", "central", 100.0, 300.0, power_w=1000.0,
                      seconds_per_window=0.25)
    costs = pl.cost_table([hot, pl.Platform("fpga", "FPGA", "edge")], [1, 8], 1.0,
                          usd_per_kwh=0.2, months=10)
    row = costs[(costs["platform"] == "hot") & (costs["n_cameras"] == 8)].iloc[0]
    opex = 2 * 1.0 * 730 * 0.2  # 2 devices of 1 kW
    assert row["devices"] == 2 and row["opex_per_camera_month"] == pytest.approx(opex / 8)
    assert row["total_per_camera_low"] == pytest.approx((200 + 10 * opex) / 8)
    assert row["total_per_camera_high"] == pytest.approx((600 + 10 * opex) / 8)
    assert row["total_per_camera"] == pytest.approx((400 + 10 * opex) / 8)
    text = pl.cost_sentence(costs, months=10)
    assert "stays the cheapest from 1 to 8 cameras" in text and "changes" not in text
    assert "Left out: FPGA (needs unit price; power draw (or an hourly price))." in text
    assert "Assumed" not in text


def test_a_table_with_nothing_costable_is_refused() -> None:
    costs = pl.cost_table([pl.Platform("fpga", "FPGA", "edge")], [1], 1.0, usd_per_kwh=0.1,
                          months=1)
    with pytest.raises(InputError, match="no platform"):
        pl.cost_sentence(costs, months=1)


def test_shipped_table_gives_a_source_and_date_for_every_value() -> None:
    table = pl.load_platforms()
    assert set(table["placement"]) == {"edge", "central"} and len(table) >= 5
    pairs = {"price_low_usd": ("price_source", "price_date"), "power_w": ("power_source",
             "power_date"), "usd_per_hour": ("hourly_source", "hourly_date"),
             "seconds_per_window": ("throughput_source", "throughput_date")}
    for _, row in table.iterrows():
        for value, (source, date) in pairs.items():
            if not pd.isna(row[value]):
                assert row[source].strip() and row[date].strip(), (row["platform"], value)
        assert row["pros"] and row["cons"]
    t4 = {r["model"]: r["s_per_sample"] for r in COURSE_T4}
    for _, row in table.dropna(subset=["seconds_per_window"]).iterrows():
        assert row["seconds_per_window"] == t4[row["throughput_model"]]  # one source, in sync
    fpga = next(p for p in pl.platforms_of(table) if p.platform == "fpga_asic")
    assert "unit price" in fpga.needs()


def test_measured_platform_is_central_and_unpriced() -> None:
    cpu = pl.measured_platform("this CPU", 0.25, model="x3d_xs", source="lab 1.2")
    assert cpu.windows_per_s == 4.0 and cpu.needs() == ["unit price",
                                                        "power draw (or an hourly price)"]
    costs = pl.cost_table([cpu], [9], 1.0, usd_per_kwh=0.1, months=1)
    assert costs["devices"].tolist() == [3] and costs["total_per_camera"].isna().all()
    with pytest.raises(InputError):
        pl.measured_platform("x", 0.0, model="m", source="s")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.drop(columns="power_w"), "missing column(s) power_w"),
    (lambda t: t.assign(power_w="lots"), "column power_w: not a number"),
    (lambda t: t.assign(usd_per_hour="-1"), "column usd_per_hour: not a number >= 0"),
    (lambda t: t.assign(placement="moon"), "placement must be one of"),
    (lambda t: t.assign(seconds_per_window="0"), "seconds_per_window must be > 0"),
])
def test_bad_tables_are_refused(tmp_path: Path, edit, message: str) -> None:
    table = pd.read_csv(pl.PLATFORMS_CSV, dtype=str, keep_default_na=False)
    path = tmp_path / "platforms.csv"
    edit(table).to_csv(path, index=False)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pl.load_platforms(path)
    with pytest.raises(InputError, match="no such platform table"):
        pl.load_platforms(tmp_path / "absent.csv")


def test_cost_table_refuses_bad_settings() -> None:
    with pytest.raises(InputError):
        pl.cost_table([EDGE], [0], 1.0, usd_per_kwh=0.1, months=1)
    with pytest.raises(InputError):
        pl.cost_table([EDGE], [1], 1.0, usd_per_kwh=-0.1, months=1)


def test_plot_draws_one_line_per_costable_platform() -> None:
    import matplotlib.pyplot as plt

    costs = pl.cost_table([EDGE, SERVER, pl.Platform("fpga", "FPGA", "edge")], [1, 2, 4], 1.0,
                          usd_per_kwh=0.1, months=12)
    fig, ax = plt.subplots()
    pl.plot_cost_per_camera(costs, ax, months=12)
    assert [line.get_label() for line in ax.get_lines()] == ["edge box", "server"]
    assert list(ax.get_lines()[1].get_ydata()) == pytest.approx([180, 90, 90])
    plt.close(fig)
