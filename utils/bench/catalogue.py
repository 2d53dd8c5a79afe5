"""What ``actionlab models list`` shows: every zoo model with its checkpoint, input and the
numbers published for it (from the model's spec, so the listing cannot drift from the code)."""

from __future__ import annotations

from typing import Any


def model_catalogue() -> list[dict[str, Any]]:
    """One row per zoo model: name, checkpoint format and URL, input size, params, GFLOPs per
    view and published top-1/top-5 with the protocol they were measured with."""
    from utils.models import get_weights, list_models

    rows = []
    for name in list_models():
        spec = get_weights(name)
        preset, metrics = spec.preset, dict(spec.metrics or {})
        rows.append({
            "model": name,
            "format": spec.format,
            "frames": preset.num_frames,
            "crop": preset.crop,
            "params_m": spec.params_m,
            "gflops": spec.gflops,
            "top1": metrics.get("top1"),
            "top5": metrics.get("top5"),
            "protocol": metrics.get("protocol"),
            "url": spec.url,
            "source": spec.source,
            "licence": spec.licence,
        })
    return rows


def format_catalogue(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table of ``model_catalogue()`` rows (no checkpoint URLs: --json)."""
    def num(value: Any, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    header = (f"{'model':<14}{'format':<14}{'input':>12}{'params M':>10}{'GFLOPs':>9}"
              f"{'top-1':>8}{'top-5':>8}  protocol")
    lines = [header, "-" * len(header)]
    for row in rows:
        size = f"{row['frames']}x{row['crop']}²"
        lines.append(f"{row['model']:<14}{row['format'] or 'none':<14}{size:>12}"
                     f"{num(row['params_m'], 1):>10}{num(row['gflops'], 2):>9}"
                     f"{num(row['top1'], 2):>8}{num(row['top5'], 2):>8}  {row['protocol'] or '-'}")
    lines.append("top-1/top-5: published Kinetics-400 accuracy (%) under the protocol shown; "
                 "GFLOPs: multiply-accumulates per view")
    return "\n".join(lines)
