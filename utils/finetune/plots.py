"""Figures of lab 2: training curves, PR/ROC curves with the chosen threshold, the confusion
matrix. Each function returns its Figure; nothing is shown or saved here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def plot_training(history: pd.DataFrame, best_epoch: int) -> Figure:
    """Loss (train, and val when recorded) and validation AP per epoch; the kept epoch marked."""
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_ap) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_loss.plot(history["epoch"], history["train_loss"], "o-", label="train")
    if "val_loss" in history:
        ax_loss.plot(history["epoch"], history["val_loss"], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="BCE loss (pos_weight)", title="Loss")
    ax_ap.plot(history["epoch"], history["val_ap"], "o-", color="tab:green")
    ax_ap.set(xlabel="epoch", ylabel="average precision", title="Validation AP", ylim=(0, 1.02))
    for ax in (ax_loss, ax_ap):
        ax.axvline(best_epoch, color="tab:gray", ls="--", lw=1, label=f"kept: epoch {best_epoch}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_pr_roc(scores: pd.DataFrame, threshold: float,
                splits: tuple[str, ...] = ("val", "test")) -> Figure:
    """Precision-recall and ROC curves per split (scikit-learn), the threshold's point marked."""
    import matplotlib.pyplot as plt
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    fig, (ax_pr, ax_roc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in splits:
        rows = scores[scores["split"] == split]
        y, s = rows["label"].to_numpy(), rows["score"].to_numpy()
        if len(np.unique(y)) < 2:
            continue
        prec, rec, _ = precision_recall_curve(y, s)
        fpr, tpr, _ = roc_curve(y, s)
        line = ax_pr.step(rec, prec, where="post", label=f"{split} (n={len(y)})")[0]
        ax_roc.plot(fpr, tpr, label=f"{split}: AUC {auc(fpr, tpr):.2f}", color=line.get_color())
        pred = s >= threshold
        tp, fp = int((pred & (y == 1)).sum()), int((pred & (y == 0)).sum())
        ax_pr.plot(tp / max(y.sum(), 1), tp / max(tp + fp, 1), "o", color=line.get_color(), ms=8)
        ax_roc.plot(fp / max((y == 0).sum(), 1), tp / max(y.sum(), 1), "o",
                    color=line.get_color(), ms=8)
    ax_pr.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
              title=f"Precision-recall (dot: threshold {threshold:.3g}, chosen on val)")
    ax_roc.plot([0, 1], [0, 1], ":", color="tab:gray", label="chance")
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate (recall)",
               title="ROC", xlim=(0, 1), ylim=(0, 1.02))
    for ax in (ax_pr, ax_roc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is ax_roc else "lower left")
    fig.tight_layout()
    return fig


def plot_sweep(sweep: pd.DataFrame, chosen: dict[str, float] | None = None) -> Figure:
    """Precision, recall, F1 and F2 against the threshold (a :func:`sweep_table`), with the
    thresholds of ``chosen`` ({rule: value}) as vertical lines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    for column in ("precision", "recall", "f1", "f2"):
        ax.step(sweep["threshold"], sweep[column], where="post", label=column)
    for (rule, value), style in zip((chosen or {}).items(), ("--", ":", "-."), strict=False):
        ax.axvline(value, color="tab:gray", ls=style, lw=1.2, label=f"{rule}: {value:.3g}")
    ax.set(xlabel="threshold (alert when score >= threshold)", ylabel="value", ylim=(0, 1.02),
           title="Validation sweep: every validation score as a threshold")
    ax.xaxis.set_major_locator(plt.MaxNLocator(5))
    ax.tick_params(axis="x", labelrotation=20)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_windows(windows: pd.DataFrame, threshold: float,
                 truth: pd.DataFrame | None = None) -> Figure:
    """Score of every sliding window against time, the threshold, the alerts and (when given,
    columns start, end, label) the labelled theft clips shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.2))
    centre = (windows["start"] + windows["end"]) / 2
    if truth is not None:
        for i, row in enumerate(truth[truth["label"] == 1].itertuples()):
            ax.axvspan(row.start, row.end, color="tab:red", alpha=0.15,
                       label="labelled theft" if i == 0 else None)
    ax.plot(centre, windows["score"], "o-", ms=3, label="P(shoplifting), window centre")
    ax.axhline(threshold, color="tab:gray", ls="--", label=f"threshold {threshold:.3g}")
    alerts = windows[windows["score"] >= threshold]
    ax.plot((alerts["start"] + alerts["end"]) / 2, alerts["score"], "v", color="tab:red",
            label="alert")
    ax.set(xlabel="time in the video (s)", ylabel="score", ylim=(-0.02, 1.02),
           title="Sliding-window scores over a whole source video")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_confusion(report: dict[str, Any], title: str = "Test confusion matrix") -> Figure:
    """The 2x2 counts of a :func:`utils.finetune.thresholds.binary_report`."""
    import matplotlib.pyplot as plt

    counts = np.array([[report["tn"], report["fp"]], [report["fn"], report["tp"]]])
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(counts, cmap="Blues")
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center",
                color="white" if n > counts.max() / 2 else "black", fontsize=12)
    ax.set_xticks([0, 1], ["normal", "theft"])
    ax.set_yticks([0, 1], ["normal", "theft"])
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig
