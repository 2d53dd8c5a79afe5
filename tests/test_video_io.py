"""utils.video.io on real files whose frames encode their own index (grey level = 4 x index),
so every test can tell WHICH frame came back after lossy H.264 compression."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.errors import InputError
from utils.video.io import VideoDecodeError, probe, read_frames, write_video

H, W = 48, 64


def indexed_frames(n: int) -> np.ndarray:
    """Frame i is a flat grey of level 4 * i (n <= 64)."""
    return np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 4, H * W * 3).reshape(
        n, H, W, 3
    )


def frame_index(frames: np.ndarray) -> list[int]:
    return [round(float(f.mean()) / 4) for f in frames]


@pytest.fixture(scope="module")
def clip30(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s at 30 fps: 60 frames, frame i shown during [i/30, (i+1)/30)."""
    return write_video(tmp_path_factory.mktemp("v") / "clip30.mp4", indexed_frames(60), 30)


def test_probe_reports_size_rate_count_duration(clip30: Path) -> None:
    info = probe(clip30)
    assert (info.width, info.height, info.num_frames) == (W, H, 60)
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(2.0)
    assert info.path == clip30


def test_read_frames_returns_the_frame_shown_at_each_time(clip30: Path) -> None:
    # floor(t * 30), in the order asked, duplicates kept; 1/30 exactly is frame 1, not 0.
    times = [0.0, 1 / 30, 0.5, 0.0499, 1.0, 59 / 30, 0.5]
    frames = read_frames(clip30, times)
    assert frames.shape == (7, H, W, 3) and frames.dtype == np.uint8
    assert frame_index(frames) == [0, 1, 15, 1, 30, 59, 15]


def test_read_frames_seeks_for_late_times_and_gets_the_same_frames(clip30: Path) -> None:
    # >= 2 s into a longer file triggers a keyframe seek; results must equal a sequential read.
    path = write_video(clip30.parent / "long.mp4", np.concatenate([indexed_frames(64)] * 3), 30)
    times = [2.2, 4.0, 6.3, 3.0]
    expected = [int(np.floor(t * 30)) % 64 for t in times]  # 66 % 64 = 2, ...
    assert frame_index(read_frames(path, times)) == expected


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(-10, 70), st.floats(0.01, 0.99)), min_size=1, max_size=12))
def test_any_times_give_floor_t_times_fps_clamped(
    clip30: Path, frames_and_fractions: list[tuple[int, float]]
) -> None:
    times = [(k + frac) / 30 for k, frac in frames_and_fractions]
    expected = [min(max(k, 0), 59) for k, _ in frames_and_fractions]
    assert frame_index(read_frames(clip30, times)) == expected


def test_times_past_the_end_repeat_the_last_frame_and_before_start_the_first(clip30: Path) -> None:
    frames = read_frames(clip30, [-0.5, 1.99, 2.0, 7.5])
    assert frame_index(frames) == [0, 59, 59, 59]


def test_unusual_rate_12_5_fps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "r12_5.mp4", indexed_frames(25), 12.5)  # 0.08 s per frame
    info = probe(path)
    assert info.fps == pytest.approx(12.5) and info.duration == pytest.approx(2.0)
    assert frame_index(read_frames(path, [0.0, 0.079, 0.08, 1.0, 1.95])) == [0, 0, 1, 12, 24]


def test_variable_frame_rate_uses_timestamps(tmp_path: Path) -> None:
    # Frame i at 0.1 * i for i < 10, then every 0.02 s: frame 10 at 1.0, frame 15 at 1.1.
    times = [0.1 * i for i in range(10)] + [1.0 + 0.02 * i for i in range(10)]
    path = write_video(tmp_path / "vfr.mp4", indexed_frames(20), 25, times=times)
    got = frame_index(read_frames(path, [0.05, 0.95, 0.99, 1.0, 1.105, 1.19]))
    assert got == [0, 9, 9, 10, 15, 19]


def test_rgb_order_red_stays_red(tmp_path: Path) -> None:
    red = np.zeros((4, H, W, 3), np.uint8)
    red[..., 0] = 255
    frame = read_frames(write_video(tmp_path / "red.mp4", red, 30), [0.0])[0]
    r, g, b = frame.reshape(-1, 3).mean(0)
    assert r > 240 and g < 15 and b < 15


def test_short_side_and_size_resize_early(clip30: Path) -> None:
    assert read_frames(clip30, [0.5], short_side=24).shape == (1, 24, 32, 3)
    assert read_frames(clip30, [0.5], short_side=100).shape == (1, 100, 133, 3)
    assert read_frames(clip30, [0.5], size=(30, 50)).shape == (1, 30, 50, 3)
    assert frame_index(read_frames(clip30, [0.5], short_side=24)) == [15]
    with pytest.raises(InputError, match="not both"):
        read_frames(clip30, [0.5], short_side=24, size=(30, 50))


def _write_with_pyav(path: Path, codec: str, pix_fmt: str, frames: np.ndarray, fmt: str) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format=fmt)))
        out.mux(stream.encode(None))
    return path


def test_grayscale_source_comes_back_as_three_channels(tmp_path: Path) -> None:
    gray = np.full((3, H, W), 200, np.uint8)
    path = _write_with_pyav(tmp_path / "gray.mkv", "ffv1", "gray", gray, "gray")
    info = probe(path)  # mkv has no frame count: probe demuxes the packets' timestamps
    assert (info.num_frames, info.fps) == (3, 10.0) and info.duration == pytest.approx(0.3)
    frames = read_frames(path, [0.0, 0.25])
    assert frames.shape == (2, H, W, 3)
    assert np.abs(frames.astype(int) - 200).max() <= 1


def test_alpha_source_drops_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((3, H, W, 4), np.uint8)
    rgba[..., 2] = 255  # opaque-blue pixels with alpha 128
    rgba[..., 3] = 128
    path = _write_with_pyav(tmp_path / "alpha.mov", "png", "rgba", rgba, "rgba")
    frames = read_frames(path, [0.1])
    assert frames.shape == (1, H, W, 3)
    assert frames[0, ..., 2].min() == 255 and frames[0, ..., :2].max() == 0


def test_non_ascii_path(tmp_path: Path) -> None:
    folder = tmp_path / "vidéos_été" / "動画"
    path = write_video(folder / "clip_ñ_視頻.mp4", indexed_frames(10), 30)
    assert probe(path).num_frames == 10
    assert frame_index(read_frames(path, [0.2])) == [6]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.mp4", b"", "empty file"),
        ("garbage.mp4", bytes(range(256)) * 20, "Invalid data"),
    ],
)
def test_broken_files_raise_with_the_path(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    for call in (lambda: probe(path), lambda: read_frames(path, [0.0])):
        with pytest.raises(VideoDecodeError, match=reason) as err:
            call()
        assert err.value.path == path and str(path) in str(err.value)
        assert isinstance(err.value, InputError)


def test_truncated_file_raises(clip30: Path, tmp_path: Path) -> None:
    data = clip30.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match=r"half\.mp4"):
        read_frames(half, [0.0, 1.0])


def test_truncated_faststart_file_raises_while_decoding(tmp_path: Path) -> None:
    # Index (moov) first, so the file opens and probes; the missing data fails in decoding.
    path = tmp_path / "faststart.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for image in indexed_frames(60):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert probe(path).num_frames == 60
    with pytest.raises(VideoDecodeError, match=r"faststart\.mp4"):
        read_frames(path, [1.9])


def test_file_without_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "audio.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoDecodeError, match="no video stream"):
        probe(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoDecodeError, match="no such file"):
        read_frames(tmp_path / "nope.mp4", [0.0])


def test_bad_times_are_rejected(clip30: Path) -> None:
    for times in ([], [float("nan")]):
        with pytest.raises(InputError, match="finite"):
            read_frames(clip30, times)


def test_write_video_is_deterministic_and_atomic(tmp_path: Path) -> None:
    frames = indexed_frames(12)
    a = write_video(tmp_path / "a.mp4", frames, 30)
    b = write_video(tmp_path / "b.mp4", frames, 30)
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4"]  # no temp files left


def test_write_video_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="even"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 47, 64, 3), np.uint8), 30)
    with pytest.raises(InputError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 48, 64, 3), np.float32), 30)
    with pytest.raises(InputError, match="increasing"):
        write_video(tmp_path / "t.mp4", indexed_frames(3), 30, times=[0.0, 0.2, 0.1])
    assert not any(tmp_path.iterdir())
