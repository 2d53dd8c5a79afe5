"""Probe, decode and write video files with PyAV.

Decoding reads only the frames a sampler asks for: frames are decoded in presentation order and
only the ones shown at a requested time are converted to RGB and resized. Times are seconds
from the first frame, so unusual and variable frame rates work: the frame shown at time ``t``
is the last frame whose timestamp is ``<= t``.

Why PyAV, measured on this 2-core machine (320x240 30 fps H.264; ms per read of 32 frames x
rate 2 from the middle / 8 segment centres, short side 256; one run before the non-reference
skipping below, +-15 % noise): on short files PyAV is within ~25 % of OpenCV grab/retrieve
(4 s: 54 / 62 vs cv2 44 / 52; 10 s: 107 / 144 vs 83 / 177), but it gives exact timestamps
(variable frame rates), keyframe seeking and decoder options, which win on long files (60 s,
window in the middle: 111 with a seek vs 488 decoding from the start, cv2 355). Frame threading
(thread_type="AUTO") was slower here (95 vs 51 ms on the 4 s clip; 460 vs 440 at 1280x720), so
only slice threading is used. Frames are converted to RGB at their native size with one
swscale context per read, then resized with ``cv2.resize`` (8 vs 20 ms for 32 frames with
swscale's own bilinear scaler).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from utils.errors import InputError
from utils.io import atomic_path

# Seek to the keyframe before the first wanted time only when it is this far into the stream;
# closer than that, decoding from the start and skipping is as fast and needs no seek.
SEEK_THRESHOLD_S = 2.0
# A frame whose timestamp is within this many seconds after a requested time counts as shown at
# it, so float noise in ``k / fps`` never picks the frame before.
TIME_TOLERANCE_S = 1e-6
# Frames that are this far (and at least 3 frame durations) before the next wanted time are
# decoded only if other frames reference them (skip_frame=NONREF, about half of an x264 stream
# with B-frames). Measured, 8 TSN segments at short side 256: 10 s clip 108 vs 167 ms, 60 s
# 518 vs 873 ms; SlowFast window in a 10 s clip 106 vs 148 ms; same frames returned.
SKIP_MARGIN_S = 0.25


class VideoDecodeError(InputError):
    """A video file that cannot be decoded (empty, truncated, corrupt or without video)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"cannot decode video {self.path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    """What a sampler needs to know about a clip (duration in seconds)."""

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int
    duration: float


@contextmanager
def _open_video(path: str | Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open ``path`` and yield (container, first video stream); every failure names the path."""
    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(path, "no such file")
    if path.stat().st_size == 0:
        raise VideoDecodeError(path, "empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise VideoDecodeError(path, exc.strerror or str(exc)) from exc
    try:
        if not container.streams.video:
            raise VideoDecodeError(path, "no video stream")
        yield container, container.streams.video[0]
    except av.FFmpegError as exc:
        raise VideoDecodeError(path, exc.strerror or str(exc)) from exc
    finally:
        container.close()


def _stream_fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def probe(path: str | Path) -> VideoInfo:
    """Size, frame rate, frame count and duration of the first video stream.

    Uses the container's metadata when it has a frame count and duration (mp4, mov); otherwise
    (webm, mkv, raw streams) it demuxes the packets, which reads timestamps without decoding.
    """
    with _open_video(path) as (container, stream):
        ctx = stream.codec_context
        width, height = ctx.width, ctx.height
        fps = _stream_fps(stream)
        num_frames = stream.frames
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if num_frames <= 0 or duration <= 0:
            pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size]
            if not pts:
                raise VideoDecodeError(path, "no video frames")
            num_frames = len(pts)
            step = 1.0 / fps if fps else 0.0
            duration = float((max(pts) - min(pts)) * stream.time_base) + step
    if num_frames <= 0 or width <= 0 or height <= 0:
        raise VideoDecodeError(path, "no video frames")
    if fps <= 0 < duration:
        fps = num_frames / duration
    return VideoInfo(Path(path), width, height, fps, num_frames, duration)


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side set to ``short_side`` (long side floored, as in
    torchvision's ``Resize(int)`` and pytorchvideo's ``ShortSideScale``)."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


class _RGBConverter:
    """Frame -> RGB array at the output size. One swscale context serves every frame of a read:
    PyAV's ``frame.to_ndarray`` builds a new context per frame, which cost ~2 ms a frame here,
    20x the conversion itself."""

    def __init__(self, size: tuple[int, int] | None) -> None:
        self.size = size
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = self.reformatter.reformat(frame, format="rgb24").to_ndarray()
        if self.size is None or self.size == (frame.width, frame.height):
            return rgb
        shrink = self.size[0] * self.size[1] < frame.width * frame.height
        interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        return cv2.resize(rgb, self.size, interpolation=interpolation)


def _pick(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    wanted: np.ndarray,
    to_rgb: _RGBConverter,
    seek: bool,
) -> list[np.ndarray] | None:
    """RGB frames shown at the sorted ``wanted`` times, or None when a seek overshot them."""
    start = stream.start_time or 0
    base = float(stream.time_base)
    if seek:
        container.seek(start + int(wanted[0] / base), stream=stream, backward=True)
    ctx = stream.codec_context
    skipping = False
    picked: list[np.ndarray] = []
    previous: av.VideoFrame | None = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.duration:
            # Far before the next wanted time, frames that no other frame references need not
            # be decoded at all: none of them can be the frame shown at that time.
            gap = wanted[len(picked)] - (packet.pts - start) * base
            skip = gap > max(SKIP_MARGIN_S, 3 * packet.duration * base)
            if skip != skipping:
                ctx.skip_frame, skipping = ("NONREF" if skip else "DEFAULT"), skip
        for frame in packet.decode():
            t = float((frame.pts - start) * base) if frame.pts is not None else math.inf
            t -= TIME_TOLERANCE_S
            if seek and previous is None and t > wanted[0]:
                return None
            if previous is not None and t > wanted[len(picked)]:
                rgb = to_rgb(previous)
                while len(picked) < len(wanted) and t > wanted[len(picked)]:
                    picked.append(rgb)
                if len(picked) == len(wanted):
                    return picked
            previous = frame
    if previous is None:
        return None if seek else []
    rgb = to_rgb(previous)
    return picked + [rgb] * (len(wanted) - len(picked))


def read_frames(
    path: str | Path,
    times: Sequence[float],
    *,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """The frames shown at ``times`` (seconds from the first frame) as (T, H, W, 3) RGB uint8.

    ``short_side`` resizes keeping the aspect ratio, ``size`` = (height, width) resizes to an exact
    size; each kept frame is resized right after its RGB conversion, so only output-size frames
    are stored.
    Grayscale and alpha sources come back as 3-channel RGB. See the module docstring for the
    padding policy at both ends.
    """
    if short_side is not None and size is not None:
        raise InputError("read_frames: give short_side or size, not both")
    wanted = np.asarray(times, dtype=np.float64).reshape(-1)
    if wanted.size == 0 or not np.all(np.isfinite(wanted)):
        raise InputError(f"read_frames: times must be a non-empty list of finite seconds ({path})")
    order = np.argsort(wanted, kind="stable")
    with _open_video(path) as (container, stream):
        stream.thread_type = "SLICE"
        ctx = stream.codec_context
        out_size = None
        if short_side is not None:
            out_size = resized_size(ctx.width, ctx.height, short_side)
        elif size is not None:
            out_size = (size[1], size[0])
        to_rgb = _RGBConverter(out_size)
        picked = None
        if wanted[order[0]] >= SEEK_THRESHOLD_S:
            picked = _pick(container, stream, wanted[order], to_rgb, seek=True)
            if picked is None:  # the index sent us past the wanted time: start over
                container.seek(0, stream=stream, backward=True)
        if picked is None:
            picked = _pick(container, stream, wanted[order], to_rgb, seek=False)
    if not picked:
        raise VideoDecodeError(path, "no decodable video frames")
    frames = np.empty((wanted.size, *picked[0].shape), dtype=np.uint8)
    for position, frame in zip(order, picked, strict=True):
        frames[position] = frame
    return frames


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    *,
    times: Sequence[float] | None = None,
    crf: int = 18,
) -> Path:
    """Write (T, H, W, 3) RGB uint8 frames as an H.264 (yuv420p) .mp4, atomically.

    ``times`` (seconds, increasing) gives each frame its own timestamp, for variable frame rate
    files; ``fps`` is then only the nominal rate. Height and width must be even (yuv420p). One
    encoder thread and bit-exact muxing make the bytes identical for identical input.
    """
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise InputError(
            f"write_video {path}: need (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}"
        )
    height, width = frames.shape[1:3]
    if height % 2 or width % 2:
        raise InputError(f"write_video {path}: height and width must be even, got {height}x{width}")
    if not fps > 0:
        raise InputError(f"write_video {path}: fps must be > 0, got {fps}")
    rate = Fraction(fps).limit_denominator(100_000)
    if times is None:
        time_base = 1 / rate
        pts = list(range(len(frames)))
    else:
        time_base = Fraction(1, 90_000)
        pts = [round(t / time_base) for t in times]
        if len(pts) != len(frames) or any(b <= a for a, b in itertools.pairwise(pts)):
            raise InputError(f"write_video {path}: need one strictly increasing time per frame")
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", format="mp4", options={"fflags": "+bitexact"}) as out,
    ):
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.codec_context.thread_count = 1
        stream.options = {"crf": str(crf), "preset": "medium", "flags": "+bitexact"}
        for image, p in zip(frames, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
