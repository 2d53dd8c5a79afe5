"""ONNX export + ONNX Runtime parity of zoo models (random weights), and the blocked-op message.

The suite exports a representative set, one model per family of operators: tiny3d (plain 3D
convs), r2plus1d_18 (factorised convs, adaptive pooling: small input), tsm_r50 (2D ResNet with
the temporal shift's slicing, frame-major reshape: small frames), x3d_xs (depthwise 3D convs,
squeeze-excitation, the log-softmax head; its head pools need the preset size). The remaining
zoo models (tsn_r50, x3d_s, x3d_m, r3d_18, mc3_18, s3d, mvit_v2_s at full size, 0.5-2.5 min
each here) are exported and checked by ``benchmarks/bench_inference.py``. SlowFast's slow-pathway
frames survive export: see ``test_slowfast_pathway_indices_survive_export``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from utils.cli import main
from utils.deploy import export
from utils.models import backends, build_model
from utils.video.sampling import pack_slowfast

# name -> example input shape (None: the preset's own test shape)
SUITE = {
    "tiny3d": None,
    "r2plus1d_18": (1, 3, 8, 64, 64),
    "tsm_r50": (1, 3, 8, 96, 96),
    "x3d_xs": None,
}


@pytest.fixture(scope="module", params=list(SUITE))
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[torch.nn.Module, export.ExportReport]:
    torch.manual_seed(0)
    model = build_model(request.param, weights=None)
    shape = SUITE[request.param]
    example = None if shape is None else torch.randn(shape)
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    return model, export.export_onnx(model, path, example=example, parity_batch=2)


def test_parity_within_tolerance(exported: tuple[torch.nn.Module, export.ExportReport]) -> None:
    _, report = exported
    assert report.parity_ok, report
    assert report.max_abs_diff is not None and report.max_abs_diff <= report.tolerance
    assert report.top5_same
    assert report.opset == export.OPSET and report.pretrained is False


def test_graph_has_dynamic_batch_and_runs_other_batches(
        exported: tuple[torch.nn.Module, export.ExportReport]) -> None:
    model, report = exported
    graph = onnx.load(str(report.path)).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == list(
        report.input_shape[1:])
    assert graph.input[0].name == "clip" and graph.output[0].name == "logits"
    # A batch of 3 never seen at export: ONNX Runtime agrees with eager row by row.
    x = torch.randn(3, *report.input_shape[1:], generator=torch.Generator().manual_seed(5))
    run = backends.load_backend(model, "onnx", onnx_path=report.path.with_name("again.onnx"),
                              example=x[:1])
    with torch.inference_mode():
        ref = model(x)
    got = run(x)
    assert got.shape == (3, 400)
    tol = export.ATOL + export.RTOL * float(ref.abs().max())
    assert float((got - ref).abs().max()) <= tol


def test_parity_detects_a_wrong_graph(tmp_path: Path) -> None:
    """The parity check is not vacuous: a graph exported from other weights fails it."""
    torch.manual_seed(0)
    a = build_model("tiny3d", weights=None)
    b = build_model("tiny3d", weights=None)
    export.export_onnx(b, tmp_path / "b.onnx", check=False)
    result = export.parity(a, tmp_path / "b.onnx", export.model_input(a, 2))
    assert not result["parity_ok"] and result["max_abs_diff"] > result["tolerance"]


def test_slowfast_pathway_indices_survive_export() -> None:
    """SlowFast's slow pathway keeps frames ``linspace(0, T-1, T/alpha)``. Traced as an op, the
    exporter turns that into ONNX Range arithmetic, which rounds 31 down to 30 for T=32; the
    indices are therefore a constant of (T, alpha) and the exported graph keeps the same frames."""
    class Slow(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return pack_slowfast(x, 4)[0]

    x = torch.arange(32.0).view(1, 1, 32, 1, 1).expand(1, 3, 32, 2, 2).contiguous()
    run = backends.load_backend(Slow(), "onnx", example=x)
    assert Slow()(x)[0, 0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]
    assert run(x)[0, 0, :, 0, 0].tolist() == [0, 4, 8, 13, 17, 22, 26, 31]


class Bessel(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.special.i0(x).mean(dim=(2, 3, 4))


def test_blocked_operator_is_named(tmp_path: Path) -> None:
    with pytest.raises(export.ExportBlocked) as blocked:
        export.export_onnx(Bessel(), tmp_path / "b.onnx", example=torch.randn(1, 3, 2, 4, 4))
    assert blocked.value.operator == "aten::i0"
    message = str(blocked.value)
    assert "aten::i0" in message and "opset 17" in message
    assert "register_custom_op_symbolic" in message and "onnxscript" in message
    assert not (tmp_path / "b.onnx").exists()  # no half-written file


def test_backends_agree_and_bad_backend_is_named() -> None:
    torch.manual_seed(0)
    model = build_model("tiny3d", weights=None)
    x = export.model_input(model, 2)
    eager = backends.load_backend(model, "eager")(x)
    onnx_out = backends.load_backend(model, "onnx", example=x[:1])(x)
    np.testing.assert_allclose(onnx_out.numpy(), eager.numpy(), atol=export.ATOL)
    with pytest.raises(backends.InputError, match="--backend must be one of"):
        backends.load_backend(model, "tensorrt")


def test_export_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    assert done.value.code == 0 and "opset" in capsys.readouterr().out
    out = tmp_path / "tiny.onnx"
    assert main(["export", "--model", "tiny3d", "--weights", "none", "--out", str(out),
                 "--check"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["parity_ok"] is True and report["opset"] == 17 and out.is_file()
    assert main(["export", "--model", "nope", "--weights", "none", "--out", str(out)]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["export", "--model", "mc3_18", "--weights", str(tmp_path / "missing.pt"),
                 "--out", str(out)]) == 2
    assert "missing.pt" in capsys.readouterr().err


def test_predict_backend_onnx_matches_eager(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    from utils.video.io import write_video

    rng = np.random.default_rng(0)
    clip = write_video(tmp_path / "c.mp4", rng.integers(0, 255, (24, 64, 80, 3), np.uint8), 30)
    printed = {}
    for backend in ("eager", "onnx"):
        torch.manual_seed(0)  # the same random weights for both
        assert main(["predict", "--model", "tiny3d", "--weights", "none", str(clip),
                     "--top-k", "5", "--device", "cpu", "--backend", backend]) == 0
        lines = [ln for ln in capsys.readouterr().out.splitlines() if ln[:4].strip(" .").isdigit()]
        printed[backend] = [(ln.split()[1], float(ln.split()[-1])) for ln in lines]
    assert len(printed["eager"]) == 5
    assert [n for n, _ in printed["onnx"]] == [n for n, _ in printed["eager"]]
    np.testing.assert_allclose([p for _, p in printed["onnx"]],
                               [p for _, p in printed["eager"]], atol=1e-4)


def _report(model: str, diff: float, ok: bool, top5: bool = True) -> export.ExportReport:
    return export.ExportReport(model, Path(f"{model}.onnx"), export.OPSET, (1, 3, 4, 8, 8), 0.1,
                               1.0, max_abs_diff=diff, top5_same=top5, tolerance=1e-4,
                               parity_ok=ok)


def test_parity_sentence_reads_its_numbers_from_the_reports() -> None:
    good = [_report("a", 2e-6, True), _report("b", 1.5e-5, True)]
    text = export.parity_sentence(good)
    assert text.startswith("Largest absolute logit difference: 1.5e-05 (b), against its "
                           "tolerance 1.0e-04; 2 of 2 exported model(s) pass")
    assert "within float32 rounding" in text and "Failing" not in text
    bad = export.parity_sentence([*good, _report("slowfast_r50", 9.1e-4, False, top5=False)])
    assert "Largest absolute logit difference: 9.1e-04 (slowfast_r50)" in bad
    assert "2 of 3 exported model(s) pass" in bad
    assert "Failing: slowfast_r50 (max |diff| 9.1e-04 vs tolerance 1.0e-04, top-5 different)" in bad
    assert "within float32 rounding" not in bad
    assert export.parity_sentence([]) == "No export was checked for parity."
