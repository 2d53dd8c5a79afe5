"""Figures of the age lab: the age histogram, photos per age band, predicted vs real age, MAE
by band, and the ID-check rule's trade-off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from utils.age.data import read_face
from utils.age.evaluate import BANDS, age_band, band_labels

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from utils.age.data import FacesReport


def age_histogram(ages: Any, *, legal_age: float = 18) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(np.asarray(ages), bins=list(range(0, 101, 2)), color="tab:blue")
    ax.axvline(legal_age, color="tab:red", ls="--", label=f"legal age {legal_age:g}")
    ax.set(xlabel="real age (years)", ylabel="photos", title=f"{len(ages)} photos by age")
    ax.legend()
    return fig


def photo_grid(report: FacesReport, *, per_band: int = 5, seed: int = 0,
               edges: Any = BANDS) -> Figure:
    """A row of randomly chosen photos per age band (only ``per_band`` x bands photos read)."""
    import matplotlib.pyplot as plt

    table = report.table
    band = age_band(table["real_age"], edges)
    labels = band_labels(edges)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(labels), per_band, figsize=(1.4 * per_band, 1.5 * len(labels)),
                             squeeze=False)
    for k, label in enumerate(labels):
        rows = np.flatnonzero(band == k)
        picks = rng.permutation(rows)[:per_band]
        for j, ax in enumerate(axes[k]):
            ax.axis("off")
            if j < len(picks):
                row = table.iloc[int(picks[j])]
                ax.imshow(read_face(report.path(row["file_name"])))
                ax.set_title(f"{row['real_age']:g}", fontsize=8)
        axes[k][0].text(-0.1, 0.5, label, transform=axes[k][0].transAxes, ha="right",
                        va="center")
    fig.suptitle("Photos per age band (title: real age)")
    return fig


def predicted_vs_real(y_true: Any, y_pred: Any, *, legal_age: float = 18) -> Figure:
    import matplotlib.pyplot as plt

    y, p = np.asarray(y_true), np.asarray(y_pred)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y, p, s=10, alpha=0.6, c=np.where(y < legal_age, "tab:red", "tab:blue"))
    top = float(max(y.max(), p.max())) + 2
    ax.plot([0, top], [0, top], color="grey", lw=1, label="perfect")
    ax.axvline(legal_age, color="tab:red", ls=":", lw=1)
    ax.set(xlabel="real age", ylabel="predicted age", xlim=(0, top), ylim=(0, top),
           title="Test photos (red: minors)")
    ax.legend(loc="upper left")
    return fig


def band_errors(table: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(table["band"], table["mae"], color="tab:blue", label="MAE")
    ax.bar(table["band"], table["bias"], color="tab:orange", alpha=0.7,
           label="mean error (pred - real)")
    ax.axhline(0, color="black", lw=0.5)
    ax.set(xlabel="real age band", ylabel="years", title="Error by age band (test)")
    ax.legend()
    return fig


def id_rule_curve(table: pd.DataFrame, chosen: float, target: float) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(table["ask_id_below"], table["minors_passed_share"], color="tab:red",
            label="minors passed without ID")
    ax.plot(table["ask_id_below"], table["adults_asked_share"], color="tab:blue",
            label="adults asked for ID")
    ax.axhline(target, color="tab:red", ls=":", lw=1, label=f"target {target:.0%}")
    ax.axvline(chosen, color="black", ls="--", lw=1, label=f"X = {chosen:g}")
    ax.set(xlabel="ask for ID when predicted age < X", ylabel="share", ylim=(0, 1),
           title="The ID-check rule on the test photos")
    ax.legend(fontsize=8)
    return fig
