"""Probe, decode and write video files with PyAV.

A frame is addressed either by its presentation index ``k`` (the k-th frame a player shows,
0-based; what the official recipes index) or by a time ``t`` in seconds from the first frame
(the frame on screen at ``t``: the last frame whose presentation time is ``<= t``). Both rest on
one pass over the packets when a file is opened (``VideoReader``): demuxing reads every frame's
timestamp without decoding anything (1.6 ms for 300 frames of 320x240 here), so ``n`` is the
true frame count, not duration x fps from rounded metadata, and variable frame rates, pauses
and B-frame reordering are handled exactly.

Decoding then touches only what the wanted frames need: it jumps to the keyframe before each
wanted frame when one lies ahead, feeds the decoder every packet from there but asks it to skip
the frames that no other frame references (``skip_frame=NONREF``) unless they are wanted, and
converts only the wanted frames to RGB, handed in batches of ``BATCH`` to the caller's function
(a resize) as they are decoded, so only output-size frames are kept. If a wanted frame does not
come out (a broken index, an open GOP), the file is decoded again from the start, frame by
frame, which is the reference the tests hold the fast path to. Frames come out upright: a
display rotation (phone videos) is applied.

Raw elementary streams (``.h264``, ``.hevc``) carry no timestamps, so no frame can be placed in
time: they are rejected with a message saying how to remux them.

Why PyAV: exact timestamps, keyframe seeking and decoder options (``skip_frame``), which decord
and OpenCV do not expose; see ``benchmarks/bench_video.py`` for the speed against decord.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from utils.errors import InputError
from utils.io import atomic_path

# A frame whose timestamp is within this many seconds after a requested time counts as shown at
# it, so float noise in ``k / fps`` never picks the frame before.
TIME_TOLERANCE_S = 1e-6

# Decoded frames are handed to the caller's function in batches of this many (a resize runs
# faster on a batch; 8 frames of 1280x720 RGB are 22 MB).
BATCH = 8

FramesFn = Callable[[list[np.ndarray]], list[np.ndarray]]


class VideoDecodeError(InputError):
    """A video file that cannot be decoded (empty, truncated, corrupt or without video)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(f"cannot decode video {self.path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    """What a sampler needs to know about a clip. ``num_frames`` is the number of frames shown
    (counted from the packets); ``duration`` runs from the first frame to the end of the last;
    ``fps`` is the stream's average rate (what PySlowFast and torchvision read). ``width`` and
    ``height`` are the stored size, before any display rotation."""

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int
    duration: float


@contextmanager
def _decode_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except av.FFmpegError as exc:
        raise VideoDecodeError(path, exc.strerror or str(exc)) from exc


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise, as FFmpeg's display matrix gives
    it: an iPhone portrait video says -90, i.e. turn the stored frame 90 degrees clockwise)."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


class VideoReader:
    """An open video file: the presentation time of every frame, and decoding of chosen frames.

    Use as a context manager (``with VideoReader(path) as video: ...``); every failure names the
    path (``VideoDecodeError``, an ``InputError``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoDecodeError(self.path, "no such file")
        if self.path.stat().st_size == 0:
            raise VideoDecodeError(self.path, "empty file (0 bytes)")
        with _decode_errors(self.path):
            self._container = av.open(str(self.path), metadata_errors="ignore")
        try:
            if not self._container.streams.video:
                raise VideoDecodeError(self.path, "no video stream")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "SLICE"
            with _decode_errors(self.path):
                self._scan()
        except BaseException:
            self._container.close()
            raise

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _scan(self) -> None:
        """Read every packet's timestamps (no decoding): decode order, keyframes, and the
        presentation order of the frames that are shown."""
        pts: list[int] = []
        dts: list[int | None] = []
        key: list[bool] = []
        shown: list[bool] = []
        last_duration = 0
        for packet in self._container.demux(self._stream):
            if not packet.size:
                continue
            if packet.pts is None:
                raise VideoDecodeError(
                    self.path,
                    "frames without timestamps (a raw .h264/.hevc elementary stream?); remux it "
                    "into a container first, e.g. ffmpeg -framerate 30 -i in.h264 -c copy "
                    "out.mp4",
                )
            pts.append(packet.pts)
            dts.append(packet.dts)
            key.append(packet.is_keyframe)
            shown.append(not getattr(packet, "is_discard", False))
            last_duration = max(last_duration, packet.duration or 0)
        announced = self._stream.frames
        if announced and len(pts) < announced:
            raise VideoDecodeError(
                self.path, f"truncated: {len(pts)} of the {announced} frames announced are present"
            )
        frames = np.sort(np.array([p for p, s in zip(pts, shown, strict=True) if s], np.int64))
        if not frames.size:
            raise VideoDecodeError(self.path, "no video frames")
        if np.any(np.diff(frames) == 0):
            raise VideoDecodeError(self.path, "several frames share one timestamp")
        self._pts, self._dts, self._key = pts, dts, key
        self._decode_index = {p: i for i, p in enumerate(pts)}
        self._keys = [i for i, k in enumerate(key) if k]
        self.frame_pts = frames
        base = self._stream.time_base or Fraction(1, 1)
        self.times = (frames - frames[0]).astype(np.float64) * float(base)
        ctx = self._stream.codec_context
        span = float((frames[-1] - frames[0]) * base)
        rate = self._stream.average_rate or self._stream.guessed_rate
        fps = float(rate) if rate else (len(frames) - 1) / span if span > 0 else 0.0
        tail = float(last_duration * base) if last_duration else (1 / fps if fps else 0.0)
        self.info = VideoInfo(self.path, ctx.width, ctx.height, fps, len(frames), span + tail)

    @property
    def num_frames(self) -> int:
        return self.info.num_frames

    def index_at(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Presentation index of the frame on screen at each time (seconds from the first
        frame); before the first frame -> 0, after the last -> the last."""
        wanted = np.asarray(times, dtype=np.float64).reshape(-1)
        if wanted.size == 0 or not np.all(np.isfinite(wanted)):
            raise InputError(f"times must be a non-empty list of finite seconds ({self.path})")
        index = np.searchsorted(self.times, wanted + TIME_TOLERANCE_S, side="right") - 1
        return np.clip(index, 0, self.num_frames - 1)

    def read(
        self, indices: Sequence[int] | np.ndarray, frames_fn: FramesFn | None = None
    ) -> list[np.ndarray]:
        """The frames at presentation ``indices`` (any order, repeats allowed) as RGB uint8
        (H, W, 3) arrays, upright, each passed once through ``frames_fn`` (e.g. a resize),
        which gets lists of up to ``BATCH`` frames as they are decoded."""
        index = np.asarray(indices, dtype=np.int64).reshape(-1)
        if index.size == 0 or index.min() < 0 or index.max() >= self.num_frames:
            raise InputError(
                f"frame indices must lie in [0, {self.num_frames - 1}] ({self.path}), got "
                f"{index.min() if index.size else 'none'}..{index.max() if index.size else ''}"
            )
        targets = self.frame_pts[np.unique(index)]
        with _decode_errors(self.path):
            found = self._fast(targets, _Collector(frames_fn))
            if found is None:
                found = self._sequential(targets, _Collector(frames_fn))
        return [found[p] for p in self.frame_pts[index].tolist()]

    def _key_for(self, target: int) -> int:
        """Decode index of the keyframe to start from for the frame shown at ``target``: the
        last keyframe before it in decode order that is not displayed after it (a frame shown
        before its GOP's keyframe may need the previous GOP)."""
        position = self._decode_index[target]
        k = bisect.bisect_right(self._keys, position) - 1
        while k > 0 and self._pts[self._keys[k]] > target:
            k -= 1
        return self._keys[max(k, 0)]

    def _seek(self, key: int) -> Iterator[av.Packet] | None:
        """Packets from the keyframe at decode index ``key`` (or an earlier one), or None when
        the container's index cannot land there."""
        for stamp in dict.fromkeys((self._pts[key], self._dts[key])):
            if stamp is None:
                continue
            self._container.seek(int(stamp), stream=self._stream, backward=True)
            packets = self._container.demux(self._stream)
            first = next((p for p in packets if p.size), None)
            if first is None or not first.is_keyframe:
                continue
            position = self._decode_index.get(first.pts) if first.pts is not None else None
            if position is not None and position <= key:
                return itertools.chain([first], packets)
        return None

    def _fast(self, targets: np.ndarray, sink: _Collector) -> dict[int, np.ndarray] | None:
        """Decode only what ``targets`` (sorted pts) need; None if one of them did not come out
        where expected (the caller then decodes sequentially)."""
        ctx = self._stream.codec_context
        want = set(targets.tolist())
        j, fed, session, skipping = 0, -1, -1, False
        packets: Iterator[av.Packet] = iter(())
        try:
            while j < len(targets):
                key = self._key_for(int(targets[j]))
                if key > fed and key > session:  # nothing fed since that keyframe: jump to it
                    sought = self._seek(key)
                    if sought is None:
                        return None
                    packets, session = sought, key
                packet = next(packets, None)
                if packet is None:
                    return None
                if packet.size and packet.pts is not None:
                    fed = self._decode_index.get(packet.pts, fed)
                    skip = packet.pts not in want
                    if skip != skipping:
                        ctx.skip_frame, skipping = ("NONREF" if skip else "DEFAULT"), skip
                for frame in packet.decode():
                    if frame.pts is None or j == len(targets) or frame.pts < targets[j]:
                        continue
                    if frame.pts > targets[j]:
                        return None  # the wanted frame was not output
                    sink.add(frame.pts, frame)
                    j += 1
        finally:
            ctx.skip_frame = "DEFAULT"
        return sink.result()

    def _sequential(self, targets: np.ndarray, sink: _Collector) -> dict[int, np.ndarray]:
        """Decode every frame from the start and keep, for each target, the last frame shown
        at or before it (the reference behaviour)."""
        self._container.close()
        self._container = av.open(str(self.path), metadata_errors="ignore")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "SLICE"
        pending = targets.tolist()
        previous: av.VideoFrame | None = None
        for frame in self._container.decode(self._stream):
            if frame.pts is None:
                continue
            while pending and frame.pts > pending[0]:
                if previous is None:  # nothing shown before the target: the first frame
                    break
                sink.add(pending.pop(0), previous)
            if previous is None:
                while pending and frame.pts > pending[0]:
                    sink.add(pending.pop(0), frame)
            previous = frame
        if previous is None:
            raise VideoDecodeError(self.path, "no decodable video frames")
        for p in pending:
            sink.add(p, previous)
        return sink.result()


class _Collector:
    """Decoded frames -> upright RGB arrays -> ``frames_fn`` in batches of ``BATCH``, kept by
    key. One swscale context serves every frame (PyAV's ``frame.to_ndarray`` builds one per
    frame), on one thread: swscale's automatic threading cost 0.6 to 10 ms a 320x240 frame
    here, one thread 0.08 ms, with the same pixels (bilinear chroma, as ``to_ndarray``)."""

    def __init__(self, frames_fn: FramesFn | None) -> None:
        self.frames_fn = frames_fn
        self.reformatter = VideoReformatter()
        self.keys: list[int] = []
        self.pending: list[np.ndarray] = []
        self.done: dict[int, np.ndarray] = {}

    def _rgb(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = self.reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
        return upright(rgb, getattr(frame, "rotation", 0))

    def add(self, key: int, frame: av.VideoFrame) -> None:
        self.keys.append(key)
        self.pending.append(self._rgb(frame))
        if len(self.pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            out = self.frames_fn(self.pending) if self.frames_fn else self.pending
            self.done.update(zip(self.keys, out, strict=True))
            self.keys, self.pending = [], []

    def result(self) -> dict[int, np.ndarray]:
        self._flush()
        return self.done


def probe(path: str | Path) -> VideoInfo:
    """Size, frame rate, frame count and duration of the first video stream, from one pass over
    the packets (no decoding); a truncated file fails here already."""
    with VideoReader(path) as video:
        return video.info


def read_frames(
    path: str | Path,
    times: Sequence[float],
    *,
    short_side: int | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """The frames on screen at ``times`` (seconds from the first frame) as (T, H, W, 3) RGB
    uint8, upright. ``short_side`` resizes keeping the aspect ratio (long side floored),
    ``size`` = (height, width) to an exact size, each frame right after decoding (bilinear with
    antialiasing, as PIL)."""
    from utils.video import transforms as vt

    if short_side is not None and size is not None:
        raise InputError("read_frames: give short_side or size, not both")
    frames_fn: FramesFn | None = None
    if short_side is not None or size is not None:

        def frames_fn(frames: list[np.ndarray]) -> list[np.ndarray]:
            h, w = frames[0].shape[:2]
            out = size if size is not None else vt.short_side_size(h, w, short_side or 0)
            return vt.resize_frames(frames, out, antialias=True)

    with VideoReader(path) as video:
        return np.stack(video.read(video.index_at(times), frames_fn))


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float,
    *,
    times: Sequence[float] | None = None,
    crf: int = 18,
    preset: str = "medium",
) -> Path:
    """Write (T, H, W, 3) RGB uint8 frames as an H.264 (yuv420p) .mp4, atomically.

    ``times`` (seconds, increasing) gives each frame its own timestamp, for variable frame rate
    files; ``fps`` is then only the nominal rate. ``preset`` is x264's speed/size trade-off
    ("veryfast" still makes B-frames). Height and width must be even (yuv420p). One thread
    everywhere (the RGB to YUV conversion inside ``encode()`` takes the codec's thread count;
    x264 and its lookahead), bit-exact muxing and no wall-clock metadata make the bytes
    identical for identical input.
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
        stream.options = {
            "crf": str(crf),
            "preset": preset,
            "flags": "+bitexact",
            "threads": "1",
            "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0",
        }
        for image, p in zip(frames, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
