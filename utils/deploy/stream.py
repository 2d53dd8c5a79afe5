"""Frame sources (webcam index, video file, image, URL) and a streaming MP4 writer.

Shared by the live demo (:mod:`utils.deploy.live`) and the YOLO detector
(:mod:`utils.deploy.detect`). Every source yields RGB uint8 frames (H, W, 3) in display order. Files
and URLs are decoded with PyAV (every frame, in order, so an annotated copy has exactly the input's
frame count); a webcam index goes through OpenCV, whose frames are BGR and are converted here once.
:class:`VideoWriter` encodes frames as they come (H.264, yuv420p, one frame per input frame at
the input's rate), so a long stream never has to be held in memory as
:func:`utils.video.io.write_video` requires.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import cv2
import numpy as np

from utils.errors import InputError
from utils.io import atomic_path
from utils.video.io import upright

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass(frozen=True)
class SourceInfo:
    """What a consumer needs before the first frame: kind, nominal rate and size."""

    source: str
    kind: str  # "file" | "image" | "url" | "camera"
    fps: float
    width: int
    height: int
    num_frames: int | None  # None for cameras and live URLs


def source_kind(source: str | int) -> str:
    """Classify ``source`` without opening it; a missing file is an InputError naming it."""
    text = str(source)
    if text.isdigit():
        return "camera"
    if _URL.match(text):
        return "url"
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--source {text}: no such file (give a file, a camera index or a URL)")
    return "image" if path.suffix.lower() in IMAGE_SUFFIXES else "file"


def _open_camera(index: int) -> cv2.VideoCapture:
    """``cv2.VideoCapture(index)`` with OpenCV's logging silenced while it probes the backends:
    an absent camera is then one line (our InputError), not ten lines of backend noise."""
    from cv2.utils import logging as cv2_logging

    level = cv2_logging.getLogLevel()
    cv2_logging.setLogLevel(cv2_logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(index)
    finally:
        cv2_logging.setLogLevel(level)


class FrameSource:
    """Iterate RGB frames of a source; ``info`` is filled when it is opened.

    ``realtime=True`` paces a file at its own frame rate (as a camera would deliver it), so a
    live demo on a file behaves like one on a webcam; cameras and URLs are paced by nature.
    """

    def __init__(self, source: str | int, *, realtime: bool = False,
                 max_frames: int | None = None) -> None:
        self.source = str(source)
        self.kind = source_kind(source)
        self.realtime = realtime
        self.max_frames = max_frames
        self.info = self._probe()

    def _probe(self) -> SourceInfo:
        if self.kind == "image":
            image = self._read_image()
            return SourceInfo(self.source, "image", 1.0, image.shape[1], image.shape[0], 1)
        if self.kind == "camera":
            cap = _open_camera(int(self.source))
            try:
                if not cap.isOpened():
                    raise InputError(f"--source {self.source}: cannot open camera {self.source}")
                fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
                width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
                height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            finally:
                cap.release()
            return SourceInfo(self.source, "camera", float(fps), width, height, None)
        try:
            with av.open(self.source, metadata_errors="ignore") as container:
                if not container.streams.video:
                    raise InputError(f"--source {self.source}: no video stream")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate or stream.base_rate
                frames = stream.frames or None
                first = next(container.decode(stream), None)  # its size is the displayed one
                if first is None:
                    raise InputError(f"--source {self.source}: no frame could be decoded")
                height, width = self._upright(first).shape[:2]
                return SourceInfo(self.source, self.kind, float(rate) if rate else 30.0,
                                  width, height, frames)
        except av.FFmpegError as exc:
            raise InputError(f"--source {self.source}: cannot open ({exc})") from exc

    def _read_image(self) -> np.ndarray:
        image = cv2.imread(self.source, cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"--source {self.source}: cannot decode image")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def __iter__(self) -> Iterator[np.ndarray]:
        frames = {"image": self._image, "camera": self._camera}.get(self.kind, self._pyav)()
        start = time.perf_counter()
        for count, frame in enumerate(frames):
            if self.max_frames is not None and count >= self.max_frames:
                break
            if self.realtime and self.kind in ("file", "image"):
                delay = start + count / self.info.fps - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield frame

    def _image(self) -> Iterator[np.ndarray]:
        yield self._read_image()

    def _camera(self) -> Iterator[np.ndarray]:
        cap = _open_camera(int(self.source))
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    return
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()

    @staticmethod
    def _upright(frame: av.VideoFrame) -> np.ndarray:
        """RGB as displayed: a phone video's rotation applied, as ``predict`` and ``score`` do."""
        return upright(frame.to_ndarray(format="rgb24"), getattr(frame, "rotation", 0))

    def _pyav(self) -> Iterator[np.ndarray]:
        try:
            with av.open(self.source, metadata_errors="ignore") as container:
                stream = container.streams.video[0]
                stream.thread_type = "SLICE"
                for frame in container.decode(stream):
                    yield self._upright(frame)
        except av.FFmpegError as exc:
            raise InputError(f"--source {self.source}: decoding failed ({exc})") from exc


class VideoWriter:
    """Streaming H.264 MP4 writer: frame ``k`` gets time ``k / fps``, written atomically on close.

    Odd heights/widths (not allowed by yuv420p) are padded by one edge pixel. Use as a context
    manager; an exception inside the block leaves no partial file behind.
    """

    def __init__(self, path: str | Path, fps: float, *, crf: int = 23) -> None:
        if not fps > 0:
            raise InputError(f"VideoWriter {path}: fps must be > 0, got {fps}")
        self.path = Path(path)
        self.rate = Fraction(fps).limit_denominator(100_000)
        self.crf = crf
        self.frames = 0
        self._atomic = atomic_path(self.path)
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None

    def __enter__(self) -> VideoWriter:
        tmp = self._atomic.__enter__()
        self._container = av.open(str(tmp), mode="w", format="mp4")
        return self

    def write(self, rgb: np.ndarray) -> None:
        assert self._container is not None, "use VideoWriter as a context manager"
        pad_h, pad_w = rgb.shape[0] % 2, rgb.shape[1] % 2
        if pad_h or pad_w:
            rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        if self._stream is None:
            self._stream = self._container.add_stream("libx264", rate=self.rate)
            self._stream.width, self._stream.height = rgb.shape[1], rgb.shape[0]
            self._stream.pix_fmt = "yuv420p"
            self._stream.time_base = 1 / self.rate
            self._stream.codec_context.time_base = 1 / self.rate
            self._stream.options = {"crf": str(self.crf), "preset": "veryfast"}
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = self.frames, 1 / self.rate
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._container is not None
        try:
            if self._stream is not None and exc is None:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
        if exc is None and self._stream is None:
            exc = InputError(f"{self.path}: no frames to write")
            self._atomic.__exit__(type(exc), exc, None)
            raise exc
        self._atomic.__exit__(exc_type, exc, tb)
