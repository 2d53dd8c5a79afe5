"""Live pipeline: the writer never waits for a slow model, counts agree, the model gets RGB."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from utils.deploy import live
from utils.errors import InputError
from utils.video.io import probe, read_frames, write_video
from utils.video.presets import Preset

N_FRAMES, FPS = 36, 15.0
PRESET = Preset(name="test", sampling="dense", num_frames=4, sampling_rate=2, fps=15.0,
                resize=32, crop=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), layout="test")


@dataclass
class SlowRedness:
    """Probabilities from the mean red - blue of the clip, after a deliberate ``delay``."""

    delay: float
    preset: Preset = PRESET
    labels: tuple[str, ...] = ("red", "blue")
    threshold: float | None = 0.5
    clips: list[torch.Tensor] = field(default_factory=list)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        time.sleep(self.delay)
        self.clips.append(clip)
        score = (clip[:, 0] - clip[:, 2]).mean(dim=(1, 2, 3))
        return torch.softmax(torch.stack([score, -score], dim=1), dim=1)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Red frames (R=220, B=30) with a moving bar, 80x60 at 15 fps."""
    frames = np.zeros((N_FRAMES, 60, 80, 3), np.uint8)
    frames[..., 0], frames[..., 2] = 220, 30
    for t in range(N_FRAMES):
        frames[t, :, 2 * t:2 * t + 4] = 255
    return write_video(tmp_path_factory.mktemp("live") / "red.mp4", frames, FPS)


def test_slow_model_never_holds_the_writer(video: Path, tmp_path: Path) -> None:
    model = SlowRedness(delay=0.4)
    out = tmp_path / "demo.mp4"
    summary = live.run_live(model, video, out=out, summary_path=tmp_path / "s.json",
                            realtime=True)
    info = probe(out)
    assert info.num_frames == N_FRAMES and info.fps == pytest.approx(FPS)
    assert (info.width, info.height) == (80, 60)
    assert summary["frames_in"] == summary["frames_out"] == N_FRAMES
    # A 2.4 s stream and a 0.4 s model: the display keeps the source's pace (~15 fps) while the
    # model manages ~2.5 per second; windows that came while it was busy are skipped, counted.
    assert summary["display_fps"] > 3 * summary["inference_fps"] > 0
    assert 1 <= summary["inferences"] <= 7
    length = live.window_length(PRESET, FPS)
    assert summary["window_frames"] == length == 8  # 4 frames x rate 2 at 15 fps
    assert summary["windows"] == N_FRAMES - length + 1
    assert summary["inferences"] + summary["dropped_windows"] == summary["windows"]
    assert len(summary["predictions"]) == summary["inferences"] == len(model.clips)
    on_disk = json.loads((tmp_path / "s.json").read_text())
    assert on_disk["frames_out"] == N_FRAMES and on_disk["dropped_windows"] > 0


def test_model_gets_rgb_through_the_preset(video: Path) -> None:
    model = SlowRedness(delay=0.0)
    summary = live.run_live(model, video, realtime=False)
    clip = model.clips[-1]
    assert clip.shape == (1, 3, 4, 32, 32)
    # Red channel (R=220 -> (220/255 - .5)/.25 = 1.45) is first: the frames were not BGR.
    assert clip[0, 0].median().item() == pytest.approx((220 / 255 - 0.5) / 0.25, abs=0.05)
    assert clip[0, 2].median().item() == pytest.approx((30 / 255 - 0.5) / 0.25, abs=0.05)
    assert all(p["top1"] == "red" for p in summary["predictions"])
    # The window is the last `length` frames, 4 of them evenly spaced: the same frames decoded.
    last = summary["predictions"][-1]["frame"]
    expected = read_frames(video, (last - 7 + live.window_indices(8, 4)) / FPS)
    np.testing.assert_allclose(clip[0], PRESET.transform(expected)[0], atol=1e-5)


def test_overlay_draws_labels_and_alert() -> None:
    rgb = np.zeros((60, 80, 3), np.uint8)
    pred = live.Prediction(np.array([0.9, 0.1]), np.array([0.9, 0.1]), frame=0, seconds=0.1)
    drawn = live.draw_overlay(rgb, ["red", "blue"], pred, threshold=0.5)
    assert drawn[-1, 40, 0] == 255  # the red ALERT frame
    quiet = live.draw_overlay(rgb, ["red", "blue"], pred, threshold=0.95)
    assert quiet[-1, 40, 0] == 0 and quiet[:5].any()  # text, no alert frame
    assert not rgb.any()  # input left untouched


def test_label_subset_and_errors(tmp_path: Path) -> None:
    categories = ["clapping", "smoking", "sign language interpreting"]
    assert live.select_labels(categories, ["smoking", "clapping"]) == (1, 0)
    assert live.select_labels(categories, None) == (0, 1, 2)
    with pytest.raises(InputError, match="smokin"):
        live.select_labels(categories, ["smokin"])
    with pytest.raises(InputError, match="no such file"):
        live.run_live(SlowRedness(0.0), tmp_path / "missing.mp4")
    with pytest.raises(InputError, match="Colab"):
        live.ColabCamera()


def test_demo_cli_help_and_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from utils.cli import main

    with pytest.raises(SystemExit) as done:
        main(["demo", "--help"])
    assert done.value.code == 0 and "--labels" in capsys.readouterr().out
    code = main(["demo", "--model", "tiny3d", "--weights", "none",
                 "--source", str(tmp_path / "none.mp4")])
    assert code == 2 and "none.mp4: no such file" in capsys.readouterr().err


def test_demo_cli_on_a_zoo_model(video: Path, tmp_path: Path) -> None:
    from utils.cli import main

    out = tmp_path / "demo.mp4"
    code = main(["demo", "--model", "tiny3d", "--weights", "none", "--source", str(video),
                 "--out", str(out), "--labels", "clapping,smoking,sign language interpreting"])
    assert code == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["labels"] == ["clapping", "smoking", "sign language interpreting"]
    assert summary["pretrained"] is False and summary["model"] == "tiny3d"
    assert summary["frames_out"] == probe(out).num_frames == N_FRAMES
    assert summary["inferences"] >= 1
    assert all(p["top1"] in summary["labels"] for p in summary["predictions"])


def test_demo_cli_runs_a_finetuned_run(video: Path, tmp_path: Path) -> None:
    """``--run DIR``: lab 2's recogniser (sigmoid, one label, a threshold) through the demo."""
    from utils.cli import main
    from utils.datasets.synth import ClipSize, write_synthetic_dcsass
    from utils.finetune.run import finetune

    data = write_synthetic_dcsass(tmp_path / "dcsass", videos=6, clips_per_video=6,
                                  positive_rate=0.3, size=ClipSize(64, 96, frames=32),
                                  seed=1, progress=False)
    finetune(data, out=tmp_path / "run", backbone="tiny3d", weights="none", epochs=2,
             n_boot=20, device="cpu", progress=False)
    out = tmp_path / "shop.mp4"
    assert main(["demo", "--run", str(tmp_path / "run"), "--source", str(video),
                 "--out", str(out)]) == 0
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["labels"] == ["shoplifting"]
    assert summary["frames_out"] == probe(out).num_frames == N_FRAMES
    assert summary["inferences"] >= 1


def test_colab_camera_is_read_on_the_main_thread_and_inference_in_a_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """colabtools' eval_js is not thread safe (utils.deploy.live.ColabCamera): the stub google.colab
    records the thread of every eval_js call; the recogniser records its own."""
    import sys
    import threading

    log = tmp_path / "colab.jsonl"
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "colab_stub"))
    monkeypatch.setenv("COLAB_STUB_LOG", str(log))
    def forget_stub() -> None:  # the stub must not make later tests think they run on Colab
        for name in [m for m in sys.modules if m.startswith("google.colab")]:
            del sys.modules[name]

    forget_stub()
    request.addfinalizer(forget_stub)

    threads: list[str] = []

    @dataclass
    class Recorded(SlowRedness):
        def __call__(self, clip: torch.Tensor) -> torch.Tensor:
            threads.append(threading.current_thread().name)
            return super().__call__(clip)

    camera = live.ColabCamera(num_frames=24, fps=FPS)  # paced: the model gets windows
    model = Recorded(delay=0.0)
    summary = live.run_live(model, camera, out=tmp_path / "cam.mp4")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    snaps = [c for c in calls if c["call"] == "output.eval_js"]
    assert len(snaps) == summary["frames_in"] == summary["frames_out"] == 24
    assert all(c["main"] for c in snaps), {c["thread"] for c in snaps}
    assert summary["inferences"] >= 1 and threads
    assert threading.main_thread().name not in threads  # the model ran in the worker
    # the model got the snapshots in order: the stub's grey level grows by 10 per call
    levels = model.clips[0][0, 0].mean(dim=(1, 2)).numpy()
    assert np.all(np.diff(levels) > 0), levels
