"""What it costs to watch N cameras on each deployment platform: devices, capex, opex per camera.

The platform table (``data/platforms.csv``) is GIVEN DATA: each price, power draw, hourly rate
and throughput carries its source and date, and a value nobody could source is left empty. The
model never fills a gap: a platform missing a value its cost needs is reported with what it
needs (``needs``), and its cost is left out (NaN). Throughput is seconds per window (one model
call on one clip) for one device; the lab's own measurement of this machine enters through
:func:`measured_platform`.

The model, for ``n_cameras`` each sending ``windows_per_s`` windows per second:

* **central** (server, cloud): the windows of every camera share the devices,
  ``ceil(n_cameras * windows_per_s / device_windows_per_s)``;
* **edge**: each camera has its own units, ``n_cameras * ceil(windows_per_s /
  device_windows_per_s)``; with no throughput, one unit per camera (the course's "fully
  equipped unit" is board, camera and case) and the row says the throughput is unchecked;
* capex = devices x unit price; opex per month = devices x hourly price x hours, or devices x
  power x hours x price per kWh when the platform has no hourly price;
* cost per camera over a horizon = (capex + months x opex) / n_cameras, at the middle of the
  price range (the low and high ends are kept for the plot's band).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils.columns import require_columns
from utils.errors import InputError
from utils.paths import SHIPPED_DATA_DIR

PLATFORMS_CSV = SHIPPED_DATA_DIR / "platforms.csv"
HOURS_PER_MONTH = 24 * 365 / 12  # an average month, running day and night
PLACEMENTS = ("edge", "central")
NUMBERS = ("price_low_usd", "price_high_usd", "power_w", "usd_per_hour", "seconds_per_window")
TEXTS = ("platform", "label", "placement", "price_source", "price_date", "power_source",
         "power_date", "hourly_source", "hourly_date", "throughput_model", "throughput_source",
         "throughput_date", "pros", "cons")
_EPS = 1e-9  # 6 cameras x 0.1 windows/s is 0.6000000000000001: not a second device


@dataclass(frozen=True)
class Platform:
    """One row of the platform table; None where no source gave the value."""

    platform: str
    label: str
    placement: str
    price_low_usd: float | None = None
    price_high_usd: float | None = None
    power_w: float | None = None
    usd_per_hour: float | None = None
    seconds_per_window: float | None = None
    throughput_model: str = ""
    throughput_source: str = ""

    @property
    def windows_per_s(self) -> float | None:
        return None if self.seconds_per_window is None else 1.0 / self.seconds_per_window

    def needs(self) -> list[str]:
        """The values a cost of this platform needs and the table does not give."""
        missing = [] if self.price_low_usd is not None else ["unit price"]
        if self.usd_per_hour is None and self.power_w is None:
            missing.append("power draw (or an hourly price)")
        if self.placement == "central" and self.seconds_per_window is None:
            missing.append("throughput (windows/s per device)")
        return missing


def load_platforms(path: str | Path = PLATFORMS_CSV) -> pd.DataFrame:
    """The platform table with its sources, numbers as floats (NaN where not sourced)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such platform table") from None
    require_columns(table.columns, (*TEXTS, *NUMBERS), where=str(path))
    for column in NUMBERS:
        values = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
        bad = values.isna() & (table[column] != "") | (values < 0)
        if bad.any():
            raise InputError(f"{path}: column {column}: not a number >= 0 in row(s) of "
                             f"{', '.join(table.loc[bad, 'platform'])}")
        table[column] = values
    wrong = ~table["placement"].isin(PLACEMENTS)
    if wrong.any():
        raise InputError(f"{path}: placement must be one of {PLACEMENTS}, got "
                         f"{sorted(set(table.loc[wrong, 'placement']))}")
    if (table["seconds_per_window"] == 0).any():
        raise InputError(f"{path}: seconds_per_window must be > 0")
    return table


def platforms_of(table: pd.DataFrame) -> list[Platform]:
    """The rows of :func:`load_platforms` as :class:`Platform` values."""
    def number(value: object) -> float | None:
        return None if pd.isna(value) else float(value)  # type: ignore[arg-type]

    return [Platform(row["platform"], row["label"], row["placement"],
                     **{c: number(row[c]) for c in NUMBERS},
                     throughput_model=row["throughput_model"],
                     throughput_source=row["throughput_source"])
            for _, row in table.iterrows()]


def measured_platform(label: str, seconds_per_window: float, *, model: str,
                      source: str) -> Platform:
    """A central device whose throughput this lab measured (no price: the model says so)."""
    if not seconds_per_window > 0:
        raise InputError(f"seconds per window must be > 0, got {seconds_per_window}")
    return Platform("measured", label, "central", seconds_per_window=seconds_per_window,
                    throughput_model=model, throughput_source=source)


def devices_needed(n_cameras: int, windows_per_s: float, device_windows_per_s: float, *,
                   edge: bool) -> int:
    """Devices that keep up with ``n_cameras`` x ``windows_per_s`` windows per second when one
    device handles ``device_windows_per_s``: shared (central) or per camera (edge)."""
    if n_cameras < 0 or not windows_per_s > 0 or not device_windows_per_s > 0:
        raise InputError(f"need cameras >= 0 and rates > 0, got n_cameras={n_cameras}, "
                         f"windows_per_s={windows_per_s}, device_windows_per_s="
                         f"{device_windows_per_s}")
    if edge:
        return n_cameras * math.ceil(windows_per_s / device_windows_per_s - _EPS)
    return math.ceil(n_cameras * windows_per_s / device_windows_per_s - _EPS)


def monthly_opex_usd(platform: Platform, devices: int, usd_per_kwh: float) -> float:
    """Running cost of ``devices`` for a month: the hourly price, else the electricity."""
    if platform.usd_per_hour is not None:
        return devices * platform.usd_per_hour * HOURS_PER_MONTH
    if platform.power_w is None:
        return math.nan
    return devices * platform.power_w / 1000 * HOURS_PER_MONTH * usd_per_kwh


def cost_table(platforms: Sequence[Platform], n_cameras: Sequence[int], windows_per_s: float, *,
               usd_per_kwh: float, months: float) -> pd.DataFrame:
    """One row per platform and camera count: devices, capex, monthly opex and total cost per
    camera over ``months`` (low / mid / high ends of the price range); NaN and ``needs`` where
    the table lacks a value."""
    if not usd_per_kwh >= 0 or not months >= 0:
        raise InputError(f"need usd_per_kwh >= 0 and months >= 0, got {usd_per_kwh}, {months}")
    rows: list[dict[str, Any]] = []
    for p in platforms:
        edge = p.placement == "edge"
        rate = p.windows_per_s
        for n in n_cameras:
            if n < 1:
                raise InputError(f"camera counts must be >= 1, got {n}")
            devices = (devices_needed(n, windows_per_s, rate, edge=edge) if rate is not None
                       else n if edge else None)
            opex = math.nan if devices is None else monthly_opex_usd(p, devices, usd_per_kwh)
            row: dict[str, Any] = {
                "platform": p.platform, "label": p.label, "placement": p.placement,
                "n_cameras": n, "devices": devices, "throughput_checked": rate is not None,
                "opex_per_camera_month": opex / n, "needs": "; ".join(p.needs())}
            for end, price in (("low", p.price_low_usd), ("high", p.price_high_usd)):
                capex = math.nan if devices is None or price is None else devices * price
                row[f"capex_per_camera_{end}"] = capex / n
                row[f"total_per_camera_{end}"] = (capex + months * opex) / n
            row["total_per_camera"] = (row["total_per_camera_low"]
                                       + row["total_per_camera_high"]) / 2
            rows.append(row)
    return pd.DataFrame(rows)


def cheapest_by_cameras(costs: pd.DataFrame) -> pd.Series:
    """For each camera count, the platform with the lowest total cost per camera (mid price)
    among those the table can cost; ties go to the platform listed first."""
    known = costs.dropna(subset=["total_per_camera"])
    if known.empty:
        raise InputError("no platform has every value its cost needs")
    best = known.loc[known.groupby("n_cameras", sort=True)["total_per_camera"].idxmin()]
    return best.set_index("n_cameras")["platform"]


def cost_sentence(costs: pd.DataFrame, *, months: float) -> str:
    """Which platform is cheapest per camera at which camera counts, and which platforms the
    comparison leaves out for lack of data; every figure read from ``costs``."""
    best = cheapest_by_cameras(costs)
    labels = dict(zip(costs["platform"], costs["label"], strict=False))
    runs = [(name, [int(n) for n, _ in group])
            for name, group in groupby(best.items(), key=lambda item: item[1])]
    parts = []
    for name, counts in runs:
        first, last = counts[0], counts[-1]
        cost = costs[(costs["platform"] == name) & (costs["n_cameras"] == last)]
        span = f"{first}" if first == last else f"{first} to {last}"
        parts.append(f"{labels[name]} from {span} camera(s) "
                     f"({cost['total_per_camera'].iloc[0]:,.0f} $ per camera at {last})")
    text = (f"Cheapest per camera over {months:g} months, among the platforms the table can "
            f"cost: " + "; ".join(parts) + ".")
    if len(runs) > 1:
        text += (f" The cheapest platform changes {len(runs) - 1} time(s) between "
                 f"{best.index.min()} and {best.index.max()} cameras.")
    else:
        text += (f" It stays the cheapest from {best.index.min()} to {best.index.max()} "
                 f"cameras.")
    unchecked = costs[costs["total_per_camera"].notna() & ~costs["throughput_checked"]]
    if not unchecked.empty:
        names = ", ".join(dict.fromkeys(unchecked["label"]))
        text += (f" Assumed, not checked: one unit per camera keeps up ({names}: no sourced "
                 f"throughput).")
    left = costs[costs["total_per_camera"].isna()].drop_duplicates("platform")
    if not left.empty:
        text += " Left out: " + "; ".join(
            f"{row.label} (needs {row.needs})" for row in left.itertuples()) + "."
    return text


def plot_cost_per_camera(costs: pd.DataFrame, ax: Any, *, months: float) -> None:
    """Total cost per camera against the number of cameras, one line per platform the table
    can cost (the band: low to high end of its price range), log-log."""
    for _, rows in costs.dropna(subset=["total_per_camera"]).groupby("platform", sort=False):
        rows = rows.sort_values("n_cameras")
        line, = ax.plot(rows["n_cameras"], rows["total_per_camera"], marker="o",
                        label=rows["label"].iloc[0])
        ax.fill_between(rows["n_cameras"], rows["total_per_camera_low"],
                        rows["total_per_camera_high"], color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of cameras")
    ax.set_ylabel(f"cost per camera over {months:g} months ($)")
    ax.set_title("Deployment cost per camera (given prices, see the table's sources)")
    ax.legend(fontsize="small")
