"""Live action recognition over a webcam, a file, a URL or the Colab browser camera.

Three loops that never wait for each other's slow parts:

* **capture** (thread) reads frames into a ring buffer holding the model's window and into the
  display queue;
* **inference** (thread) takes the *latest* full window whenever it is free, turns it into the
  model input through the model's preset (RGB, resize, centre crop, normalise) and stores the
  probabilities; windows that arrive while it is busy are skipped and counted (``dropped``);
* **display/writer** (the caller's thread) draws the last prediction onto every frame and writes
  it, so an annotated file has exactly the input's frames at the input's rate, however slow the
  model is.

The course's original demo ran the model inside the display loop (the video froze while it
ran), fed OpenCV's BGR frames to an RGB model and needed a desktop window; this one runs
headless, on Colab and on a laptop.

A window covers the span the preset was trained on (``preset.window_seconds``, e.g. 16 frames at
15 fps for r3d_18; ``SEGMENT_WINDOW_S`` for TSN/TSM segment sampling) and its ``num_frames``
frames are picked evenly from the frames of that span at the source's own rate.
"""

from __future__ import annotations

import base64
import contextlib
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from utils.errors import InputError
from utils.io import write_json

if TYPE_CHECKING:
    import torch

    from utils.video.presets import Preset

SEGMENT_WINDOW_S = 2.0  # span of the 8 segments of TSN/TSM in a stream (their clips are ~10 s)
TOP_K = 3


class Recogniser(Protocol):
    """What :func:`run_live` runs: probabilities for a preset-normalised clip (a zoo model through
    :func:`zoo_recogniser`, a fine-tuned run through :mod:`utils.finetune.recogniser`)."""

    @property
    def preset(self) -> Preset: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def threshold(self) -> float | None: ...
    def __call__(self, clip: torch.Tensor) -> torch.Tensor: ...


@dataclass
class ZooRecogniser:
    """A zoo model as a :class:`Recogniser`: softmax over its logits, optionally restricted to a
    label subset (softmax over those columns only, as the course's demo restricted its classes)."""

    model: Any
    labels: tuple[str, ...]
    columns: tuple[int, ...]
    threshold: float | None = None
    name: str = ""
    pretrained: bool = False

    @property
    def preset(self) -> Preset:
        return self.model.spec.preset

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            logits = self.model(clip.to(device))
        return torch.softmax(logits[:, list(self.columns)].float(), dim=1)


def select_labels(categories: Sequence[str], labels: Sequence[str] | None) -> tuple[int, ...]:
    """Column indices of ``labels`` in ``categories`` (all columns for None); unknown names
    are an InputError suggesting the closest class names."""
    import difflib

    if not labels:
        return tuple(range(len(categories)))
    index = {name: i for i, name in enumerate(categories)}
    missing = [label for label in labels if label not in index]
    if missing:
        hints = {m: difflib.get_close_matches(m, categories, n=3) for m in missing}
        raise InputError(f"--labels: unknown class names {hints} (name: closest classes)")
    return tuple(index[label] for label in labels)


def zoo_recogniser(name: str, *, weights: str | None = "default",
                   labels: Sequence[str] | None = None, device: str = "auto") -> ZooRecogniser:
    """Zoo model ``name`` (``weights`` as :func:`utils.models.build_model`) as a recogniser,
    on ``device`` (:func:`utils.settings.resolve_device`: "auto" is CUDA when present)."""
    from utils.models import build_model

    model = build_model(name, weights=weights, device=device)
    categories = list(model.spec.categories)
    columns = select_labels(categories, labels)
    return ZooRecogniser(model, tuple(categories[i] for i in columns), columns, name=name,
                         pretrained=bool(model.pretrained))


def window_length(preset: Preset, fps: float) -> int:
    """Source frames spanned by one model window at ``fps`` (at least ``num_frames``)."""
    span = preset.window_seconds or SEGMENT_WINDOW_S
    return max(preset.num_frames, round(span * fps))


def window_indices(length: int, num_frames: int) -> np.ndarray:
    """``num_frames`` evenly spaced positions in a buffer of ``length`` frames (last included)."""
    return np.linspace(0, length - 1, num_frames).round().astype(int)


def clip_from_frames(frames: Sequence[np.ndarray], preset: Preset) -> torch.Tensor:
    """RGB frames (H, W, 3) -> the model input (1, 3, T, crop, crop): the preset's own resize,
    crop and normalisation, exactly as :func:`utils.video.presets.load_clip` applies them."""
    return preset.transform(np.stack(frames))


@dataclass
class Prediction:
    """The last result of the inference loop (smoothed probabilities) shown on every frame."""

    probs: np.ndarray
    smoothed: np.ndarray
    frame: int  # index of the last frame of the window it was computed on
    seconds: float


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    new_frame: threading.Condition = field(init=False)
    ring: deque[tuple[int, np.ndarray]] = field(default_factory=deque)
    frames_in: int = 0
    capture_done: bool = False
    stop: bool = False
    prediction: Prediction | None = None
    inferences: int = 0
    infer_start: float | None = None
    infer_end: float | None = None
    capture_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.new_frame = threading.Condition(self.lock)


def _captured(frames: Iterable[np.ndarray], state: _State) -> Generator[np.ndarray, None, None]:
    """Each frame of ``frames``, after putting it in the ring for the inference thread."""
    start = time.perf_counter()
    try:
        for frame in frames:
            with state.lock:
                if state.stop:
                    break
                state.ring.append((state.frames_in, frame))
                state.frames_in += 1
                state.new_frame.notify_all()
            yield frame
    finally:
        state.capture_seconds = time.perf_counter() - start
        with state.lock:
            state.capture_done = True
            state.new_frame.notify_all()


def _capture(frames: Iterable[np.ndarray], state: _State, display: queue.Queue) -> None:
    try:
        for frame in _captured(frames, state):
            display.put(frame)
    except BaseException as exc:  # surfaced by run_live
        state.error = exc
    finally:
        display.put(None)


def _queued(display: queue.Queue) -> Iterator[np.ndarray]:
    """The frames the capture thread queued, until its None."""
    while (frame := display.get()) is not None:
        yield frame


def _infer(recogniser: Recogniser, state: _State, length: int, smoothing: float) -> None:
    picks = window_indices(length, recogniser.preset.num_frames)
    last = -1
    try:
        while True:
            with state.lock:
                while not state.stop and not (
                    len(state.ring) == length and state.ring[-1][0] > last):
                    if state.capture_done:
                        return
                    state.new_frame.wait()
                if state.stop:
                    return
                window = [state.ring[i] for i in picks]
            last = window[-1][0]
            began = time.perf_counter()
            state.infer_start = state.infer_start or began
            clip = clip_from_frames([f for _, f in window], recogniser.preset)
            probs = recogniser(clip)[0].detach().cpu().numpy().astype(np.float64)
            seconds = time.perf_counter() - began
            with state.lock:
                old = state.prediction
                smoothed = probs if old is None else (
                    smoothing * old.smoothed + (1 - smoothing) * probs)
                state.prediction = Prediction(probs, smoothed, last, seconds)
                state.inferences += 1
                state.infer_end = time.perf_counter()
                top = int(np.argmax(probs))
                state.history.append({"frame": last, "top1": recogniser.labels[top],
                                      "prob": float(probs[top]), "seconds": seconds})
    except BaseException as exc:
        state.error = exc
        with state.lock:
            state.stop = True


def draw_overlay(rgb: np.ndarray, labels: Sequence[str], prediction: Prediction | None, *,
                 top_k: int = TOP_K, infer_fps: float = 0.0, display_fps: float = 0.0,
                 threshold: float | None = None, note: str = "") -> np.ndarray:
    """A copy of ``rgb`` with the top-k smoothed labels, both loops' fps and an ALERT banner."""
    out = rgb.copy()
    scale = max(out.shape[1] / 640, 0.35)
    lines = [f"infer {infer_fps:.1f} fps | display {display_fps:.1f} fps"]
    if prediction is None:
        lines.append("waiting for the first window...")
    else:
        order = np.argsort(-prediction.smoothed)[:top_k]
        lines += [f"{labels[i]}: {prediction.smoothed[i]:.2f}" for i in order]
    if note:
        lines.append(note)
    step = int(22 * scale) + 2
    box_h = step * len(lines) + 6
    shade = out[:box_h, : int(out.shape[1] * 0.9)]
    shade[:] = (shade * 0.4).astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(out, line, (6, step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.55 * scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    if threshold is not None and prediction is not None and prediction.smoothed[0] >= threshold:
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), (255, 0, 0), 4)
        cv2.putText(out, f"ALERT {labels[0]}", (6, out.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8 * scale, (255, 0, 0), 2, cv2.LINE_AA)
    return out


def run_live(
    recogniser: Recogniser,
    source: str | int | Any,
    *,
    out: str | Path | None = None,
    summary_path: str | Path | None = None,
    realtime: bool | None = None,
    max_frames: int | None = None,
    top_k: int = TOP_K,
    smoothing: float = 0.6,
    show: Callable[[np.ndarray], bool | None] | None = None,
) -> dict[str, Any]:
    """Run ``recogniser`` over ``source`` with the three loops of the module docstring.

    ``source``: camera index, file, URL or any object with ``info``
    (``utils.deploy.stream.SourceInfo``) and ``__iter__`` yielding RGB frames (e.g.
    :class:`ColabCamera`; a source whose ``capture_on_main_thread`` is true is read by the calling
    thread, between displayed frames, and only inference runs in a worker). ``realtime`` paces a
    file at its frame rate (default: True unless writing ``out``). ``show(frame)`` gets every
    annotated frame (``cv2_window`` on a laptop, ``notebook_display`` in Jupyter); returning
    False stops. Returns (and writes to ``summary_path``) the JSON summary.
    """
    from utils.deploy.stream import FrameSource, VideoWriter

    if not 0 <= smoothing < 1:
        raise InputError(f"smoothing must be in [0, 1), got {smoothing}")
    if top_k < 1:
        raise InputError(f"--top-k must be >= 1, got {top_k}")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"--max-frames must be >= 1, got {max_frames}")
    if isinstance(source, (str, int, Path)):
        paced = realtime if realtime is not None else out is None
        source = FrameSource(str(source), realtime=paced, max_frames=max_frames)
    info = source.info
    length = window_length(recogniser.preset, info.fps)
    known = [n for n in (info.num_frames, max_frames) if n is not None]
    if info.kind in ("file", "image") and known and min(known) < length:
        raise InputError(f"--source {info.source}: {min(known)} frame(s), fewer than one model "
                         f"window ({length} frames): no prediction could be made")
    state = _State(ring=deque(maxlen=length))
    # Bounded: a file is not decoded faster than it is written (memory stays flat).
    display: queue.Queue = queue.Queue(maxsize=64)
    on_main = bool(getattr(source, "capture_on_main_thread", False))
    capture = None if on_main else threading.Thread(target=_capture, args=(source, state, display),
                                                    daemon=True)
    infer = threading.Thread(target=_infer, args=(recogniser, state, length, smoothing),
                             daemon=True)
    labels = list(recogniser.labels)
    threshold = recogniser.threshold
    note = "" if getattr(recogniser, "pretrained", True) else "RANDOM WEIGHTS: labels meaningless"
    frames_out = 0
    writer = VideoWriter(out, info.fps) if out is not None else None
    if writer is not None:
        writer.__enter__()  # before the threads start: an unwritable --out stops nothing
    began = time.perf_counter()
    if capture is not None:
        capture.start()
    infer.start()
    main_frames = _captured(source, state) if on_main else None
    frames = main_frames if main_frames is not None else _queued(display)
    try:
        for frame in frames:
            with state.lock:
                prediction, inferences = state.prediction, state.inferences
                infer_elapsed = (state.infer_end or 0) - (state.infer_start or 0)
            elapsed = time.perf_counter() - began
            annotated = draw_overlay(
                frame, labels, prediction, top_k=top_k, threshold=threshold, note=note,
                infer_fps=inferences / infer_elapsed if infer_elapsed > 0 else 0.0,
                display_fps=frames_out / elapsed if elapsed > 0 else 0.0)
            if writer is not None:
                writer.write(annotated)
            frames_out += 1
            if show is not None and show(annotated) is False:
                break
    except BaseException as exc:
        if writer is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
            writer = None
        raise
    finally:
        display_seconds = time.perf_counter() - began
        with state.lock:
            state.stop = True
            state.new_frame.notify_all()
        if main_frames is not None:
            main_frames.close()
        while capture is not None and capture.is_alive():  # unblock it on a full queue
            with contextlib.suppress(queue.Empty):
                display.get(timeout=0.05)
        if capture is not None:
            capture.join()
        infer.join()
    if writer is not None:
        writer.__exit__(None, None, None)
    if state.error is not None:
        raise state.error
    windows = max(0, state.frames_in - length + 1)
    infer_seconds = (state.infer_end or 0) - (state.infer_start or 0)
    latency = [h["seconds"] for h in state.history]
    summary = {
        "source": info.source, "source_kind": info.kind, "source_fps": info.fps,
        "model": getattr(recogniser, "name", type(recogniser).__name__),
        "pretrained": getattr(recogniser, "pretrained", None), "labels": labels,
        "window_frames": length, "model_frames": recogniser.preset.num_frames,
        "frames_in": state.frames_in, "frames_out": frames_out,
        "windows": windows, "inferences": state.inferences,
        "dropped_windows": windows - state.inferences,
        "capture_fps": state.frames_in / state.capture_seconds if state.capture_seconds else 0.0,
        "inference_fps": state.inferences / infer_seconds if infer_seconds > 0 else 0.0,
        "inference_latency_s": float(np.median(latency)) if latency else math.nan,
        "display_fps": frames_out / display_seconds if display_seconds else 0.0,
        "seconds": display_seconds, "video": out, "predictions": state.history,
    }
    if summary_path is not None:
        write_json(summary, summary_path)
    return summary


def cv2_window(name: str = "actionlab demo") -> Callable[[np.ndarray], bool]:
    """A ``show`` callback for a laptop: an OpenCV window; ``q`` or Esc stops."""
    def show(rgb: np.ndarray) -> bool:
        cv2.imshow(name, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return cv2.waitKey(1) & 0xFF not in (ord("q"), 27)
    return show


def notebook_display(every: int = 3) -> Callable[[np.ndarray], None]:
    """A ``show`` callback for Jupyter/Colab: updates one image in place every ``every`` frames
    (sending every frame to the browser would slow the display loop down)."""
    from IPython.display import Image, display

    handle = display(None, display_id=True)
    count = 0

    def show(rgb: np.ndarray) -> None:
        nonlocal count
        if count % every == 0:
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            if ok:
                handle.update(Image(data=jpg.tobytes()))
        count += 1
    return show


# The browser side of ColabCamera: open the camera once, then each call returns one JPEG frame.
_COLAB_JS = """
async function actionlabSnap(quality) {
  if (!window._alVideo) {
    const stream = await navigator.mediaDevices.getUserMedia({video: true});
    const video = document.createElement('video');
    video.srcObject = stream; video.muted = true; video.playsInline = true;
    await video.play();
    window._alVideo = video;
  }
  const v = window._alVideo;
  const canvas = document.createElement('canvas');
  canvas.width = v.videoWidth; canvas.height = v.videoHeight;
  canvas.getContext('2d').drawImage(v, 0, 0);
  return canvas.toDataURL('image/jpeg', quality);
}
"""


class ColabCamera:
    """The browser's camera on Google Colab, as a frame source for :func:`run_live`.

    Colab's Python runs on a remote machine, so ``cv2.VideoCapture(0)`` sees no camera. This
    injects a small JavaScript function into the page that grabs a JPEG snapshot from
    ``getUserMedia`` and calls it in a loop through ``google.colab.output.eval_js`` (the browser
    asks for camera permission once). A snapshot round trip takes tens of milliseconds, so
    ``fps`` is what the loop aims for, not a guarantee. Off Colab, or without a camera, it raises
    an InputError: use a video file as the source instead.

    ``eval_js`` is read on the cell's own (main) thread: colabtools' ``_message`` (read at
    googlecolab/colabtools 3c07d77) sends the request with an unlocked global message counter
    and then polls the kernel's stdin zmq socket, discarding replies addressed to other ids, and
    ``blocking_request`` says it is not thread safe. A worker thread calling it would race the
    kernel's own stdin use (``input()``, widgets, another ``eval_js``), so :func:`run_live`
    captures this source on the calling thread and keeps only inference in a worker.
    """

    capture_on_main_thread = True

    def __init__(self, num_frames: int = 150, fps: float = 10.0, quality: float = 0.8) -> None:
        from utils.deploy.stream import SourceInfo

        try:
            from google.colab import output
            from IPython.display import Javascript, display
        except ImportError:
            raise InputError("the browser camera needs Google Colab; use a video file as the "
                             "source (e.g. --source clip.mp4)") from None
        display(Javascript(_COLAB_JS))
        self._eval_js = output.eval_js
        self.quality = quality
        first = self._snap()
        self.first = first
        self.num_frames = num_frames
        self.info = SourceInfo("colab-camera", "camera", fps, first.shape[1], first.shape[0],
                               num_frames)

    def _snap(self) -> np.ndarray:
        try:
            url = self._eval_js(f"actionlabSnap({self.quality})")
        except Exception as exc:  # the browser denied the camera or has none
            raise InputError(f"browser camera unavailable ({exc}); use a video file") from exc
        data = base64.b64decode(url.split(",", 1)[1])
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError("browser camera sent an undecodable frame; use a video file")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.first
        period = 1.0 / self.info.fps
        for _ in range(self.num_frames - 1):
            began = time.perf_counter()
            yield self._snap()
            time.sleep(max(0.0, period - (time.perf_counter() - began)))
