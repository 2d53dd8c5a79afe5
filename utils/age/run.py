"""One age run, from a faces folder to a run directory, and its evaluation.

``train_age`` splits the photos by person (when known) with the age band as the stratum, embeds
every photo once through the feature cache, trains the regression head (optionally fine-tunes
the last stage), predicts every photo and writes::

    out/config.json        every setting, the weights used and why, the data used
    out/split.csv          clip (file name), source_video (person), label (age band), split
    out/predictions.csv    file_name, person, split, real_age, predicted_age
    out/history.csv        per-epoch train loss and validation MAE (head, then fine-tuning)
    out/head.safetensors   the head (and with fine-tuning, last_stage.safetensors)

``evaluate_run`` reads ``predictions.csv`` and writes ``metrics.json`` (test MAE with a
bootstrap interval, the median baseline, MAE by band, the ID-check rule and the conclusion),
``id_rule.csv``, ``bands.csv`` and the figures ``scatter.png``, ``bands.png``, ``id_rule.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.errors import InputError
from utils.finetune.cache import CACHE_DIR
from utils.io import atomic_path, save_figure, staged_folder, write_json

if TYPE_CHECKING:
    import pandas as pd

    from utils.age.data import FacesReport

MARKER = "config.json"


def resolve_faces(data: str | Path, **synthetic: Any) -> tuple[Path, bool]:
    """(faces folder, synthetic?) for ``data``: a folder, or ``synthetic`` for the stand-in."""
    from utils.age.synth import choose_faces

    if str(data) == "synthetic":
        return choose_faces("synthetic", **synthetic).path, True
    return Path(data), False


def split_faces(report: FacesReport, *, val: float = 0.15, test: float = 0.15,
                seed: int = 0) -> pd.DataFrame:
    """A split grouped by person (each photo its own group when persons are unknown),
    stratified by age band: ``clip, source_video, label, split`` (utils.datasets.splits)."""
    from utils.age.evaluate import age_band
    from utils.datasets.splits import grouped_split

    t = report.table
    return grouped_split(t["file_name"].tolist(), t["person"].tolist(),
                         age_band(t["real_age"]).tolist(), val=val, test=test, seed=seed)


def _save_csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def train_age(data: str | Path, out: str | Path, *, backbone: str = "resnet50",
              weights: str | None = "auto", image_size: int = 224, loss: str = "huber",
              hidden: int = 256, epochs: int = 30, lr: float = 1e-3, batch_size: int = 64,
              patience: int = 8, finetune_epochs: int = 0, finetune_lr: float = 1e-4,
              val: float = 0.15, test: float = 0.15, seed: int = 0,
              cache_dir: str | Path | None = CACHE_DIR, device: str = "auto",
              legal_age: float = 18, target: float = 0.01, n_boot: int = 1000,
              synthetic: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Train and evaluate; returns the metrics (see the module docstring for the files)."""
    import pandas as pd
    from safetensors.torch import save_file

    from utils.age.backbone import build_backbone
    from utils.age.data import load_faces
    from utils.age.features import embed_photos
    from utils.age.finetune import finetune_last_stage, predict_photos
    from utils.age.head import predict_ages, train_regressor
    from utils.datasets.splits import write_split_csv
    from utils.settings import resolve_device

    root, is_synthetic = resolve_faces(data, **(synthetic or {}))
    report = load_faces(root, progress=progress)
    if len(report.table) < 10:
        raise InputError(f"{root}: {len(report.table)} usable photos; at least 10 are needed")
    device = str(resolve_device(device))
    split = split_faces(report, val=val, test=test, seed=seed)
    net = build_backbone(backbone, weights, seed=seed, device=device)
    photos = {n: report.path(n) for n in report.table["file_name"]}
    feats = embed_photos(net.model, photos, backbone=backbone, image_size=image_size,
                         cache_dir=cache_dir, batch_size=batch_size, device=device,
                         progress=progress)
    table = report.table.set_index("file_name").loc[feats.names].reset_index()
    table["split"] = table["file_name"].map(dict(zip(split["clip"], split["split"],
                                                     strict=True)))
    part = {s: table[table["split"] == s] for s in ("train", "val", "test")}
    if any(p.empty for p in part.values()):
        raise InputError(f"a split is empty ({ {s: len(p) for s, p in part.items()} }); use more "
                         "photos or other fractions")
    result = train_regressor(
        feats.rows(part["train"]["file_name"].tolist()), part["train"]["real_age"],
        feats.rows(part["val"]["file_name"].tolist()), part["val"]["real_age"], loss=loss,
        hidden=hidden, epochs=epochs, lr=lr, batch_size=batch_size, patience=patience,
        seed=seed, progress=progress)
    history = result.history.assign(stage="head")
    predicted = predict_ages(result.head, feats.matrix)
    if finetune_epochs:
        tuned = finetune_last_stage(
            net, result.head, ([photos[n] for n in part["train"]["file_name"]],
                               part["train"]["real_age"].to_numpy()),
            ({n: photos[n] for n in part["val"]["file_name"]}, part["val"]["real_age"]),
            image_size=image_size, loss=loss, epochs=finetune_epochs, lr=finetune_lr,
            batch_size=batch_size, seed=seed, device=device, progress=progress)
        history = pd.concat([history, tuned.assign(stage="fine-tune")], ignore_index=True)
        again, predicted = predict_photos(net, result.head, {n: photos[n] for n in feats.names},
                                          image_size=image_size, device=device,
                                          progress=progress)
        assert again.names == feats.names
    table["predicted_age"] = predicted
    config = {"data": {"path": root, "synthetic": is_synthetic,
                       "persons_known": report.persons_known, "left_out": report.left_out(),
                       "failed": feats.failed},
              "backbone": {"name": backbone, "weights": weights, "pretrained": net.pretrained,
                           "why": net.why},
              "settings": {"image_size": image_size, "loss": loss, "hidden": hidden,
                           "epochs": epochs, "lr": lr, "batch_size": batch_size,
                           "patience": patience, "finetune_epochs": finetune_epochs,
                           "finetune_lr": finetune_lr, "val": val, "test": test, "seed": seed,
                           "device": device},
              "head": {"best_epoch": result.best_epoch, "best_val_mae": result.best_val_mae},
              "features": {"computed": feats.computed, "reused": feats.reused}}
    with staged_folder(out, owned_marker=MARKER) as fresh:
        write_split_csv(split, fresh / "split.csv")
        _save_csv(table[["file_name", "person", "split", "real_age", "predicted_age"]],
                  fresh / "predictions.csv")
        _save_csv(history, fresh / "history.csv")
        with atomic_path(fresh / "head.safetensors") as tmp:
            save_file(result.head.state_dict(), str(tmp))
        if finetune_epochs:
            with atomic_path(fresh / "last_stage.safetensors") as tmp:
                save_file({k: v.contiguous() for k, v in net.last_stage.state_dict().items()},
                          str(tmp))
        write_json(config, fresh / MARKER)
        metrics = evaluate_run(fresh, legal_age=legal_age, target=target, n_boot=n_boot,
                               seed=seed)
    return metrics


def read_predictions(run: str | Path) -> pd.DataFrame:
    import pandas as pd

    from utils.columns import require_columns

    path = Path(run) / "predictions.csv"
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the run's predictions ({exc}); is {run} a run "
                         "directory written by 'actionlab age train'?") from exc
    require_columns(frame.columns, ("file_name", "split", "real_age", "predicted_age"),
                    str(path))
    return frame


def summarise(frame: pd.DataFrame, config: dict[str, Any], *, legal_age: float = 18,
              target: float = 0.01, n_boot: int = 1000,
              seed: int = 0) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """(metrics, ID-rule table, MAE-by-band table) of a prediction table (``split``,
    ``real_age``, ``predicted_age``); ``config`` holds the run's ``data`` and ``backbone``."""
    from utils.age.evaluate import mae_by_band, mae_interval, median_baseline
    from utils.age.report import conclusion
    from utils.age.risk import choose_rule, id_rule_table

    test = frame[frame["split"] == "test"]
    train = frame[frame["split"] == "train"]
    if test.empty or train.empty:
        raise InputError("the predictions hold no test or no train photo")
    y, p = test["real_age"].to_numpy(float), test["predicted_age"].to_numpy(float)
    median, base_mae = median_baseline(train["real_age"], y)
    ci = mae_interval(y, p, legal_age=legal_age, n_boot=n_boot, seed=seed)
    bands = mae_by_band(y, p)
    rules = id_rule_table(y, p, legal_age=legal_age)
    rule = choose_rule(rules, target) | {"target": target, "legal_age": legal_age}
    metrics: dict[str, Any] = {
        "data": config["data"], "backbone": config["backbone"],
        "photos": {s: int((frame["split"] == s).sum()) for s in ("train", "val", "test")},
        "test": {"mae": ci.to_dict()},
        "baseline": {"median_age": median, "mae": base_mae},
        "bands": bands.to_dict(orient="records"), "id_rule": rule,
    }
    metrics["conclusion"] = conclusion(metrics)
    return metrics, rules, bands


def evaluate_run(run: str | Path, *, legal_age: float = 18, target: float = 0.01,
                 n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Metrics of a run directory from its ``predictions.csv`` (see the module docstring)."""
    import json

    import matplotlib.pyplot as plt

    from utils.age import plots

    run = Path(run)
    frame = read_predictions(run)
    try:
        config = json.loads((run / MARKER).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{run / MARKER}: cannot read the run's settings ({exc})") from exc
    metrics, rules, bands = summarise(frame, config, legal_age=legal_age, target=target,
                                      n_boot=n_boot, seed=seed)
    test = frame[frame["split"] == "test"]
    y, p = test["real_age"].to_numpy(float), test["predicted_age"].to_numpy(float)
    _save_csv(rules, run / "id_rule.csv")
    _save_csv(bands, run / "bands.csv")
    chosen = metrics["id_rule"]["ask_id_below"]
    for name, fig in (("scatter.png", plots.predicted_vs_real(y, p, legal_age=legal_age)),
                      ("bands.png", plots.band_errors(bands)),
                      ("id_rule.png", plots.id_rule_curve(rules, chosen, target))):
        save_figure(fig, run / name)
        plt.close(fig)
    write_json(metrics, run / "metrics.json")
    return metrics
