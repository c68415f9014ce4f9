"""encode: H.264 / H.265 through PyAV, with bitrate, preset, GOP and zero-latency settings honoured."""

from __future__ import annotations

import av
import numpy as np
import pytest

import vistream
from vistream.core.errors import ConfigError, PropertyError
from vistream.media.encode import VideoEncoder, available_encoder


def bikes_frames(path, count: int = 30) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == count:
                return frames
    return frames


def decode_packets(packets: list[av.Packet], codec: str) -> list[np.ndarray]:
    decoder = av.CodecContext.create("h264" if codec == "h264" else "hevc", "r")
    images = []
    for packet in packets:
        images += [f.to_ndarray(format="rgb24") for f in decoder.decode(av.Packet(bytes(packet)))]
    images += [f.to_ndarray(format="rgb24") for f in decoder.decode(None)]
    return images


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_encoded_packets_decode_back_to_the_frames(bikes, codec: str) -> None:
    frames = bikes_frames(bikes, 20)
    encoder = VideoEncoder(640, 272, fps=25, codec=codec, crf=18)
    packets = [p for image in frames for p in encoder.encode(image)] + encoder.flush()
    assert encoder.name == {"h264": "libx264", "h265": "libx265"}[codec]
    assert len(packets) == 20 and packets[0].is_keyframe
    decoded = decode_packets(packets, codec)
    assert len(decoded) == 20
    for original, image in zip(frames, decoded, strict=True):
        assert np.abs(original.astype(int) - image).mean() < 4


def test_bitrate_controls_the_size(bikes) -> None:
    frames = bikes_frames(bikes, 50)
    sizes = {}
    for bitrate in (100_000, 2_000_000):
        encoder = VideoEncoder(640, 272, fps=25, bitrate=bitrate)
        packets = [p for image in frames for p in encoder.encode(image)] + encoder.flush()
        sizes[bitrate] = sum(p.size for p in packets) * 8 / 2.0  # bits per second over 2 s
    assert sizes[100_000] < 0.2e6 < 1e6 < sizes[2_000_000] < 3e6, sizes


@pytest.mark.parametrize("gop", [5, 12])
def test_gop_sets_keyframe_spacing(bikes, gop: int) -> None:
    frames = bikes_frames(bikes, 30)
    encoder = VideoEncoder(640, 272, fps=25, gop=gop)
    packets = [p for image in frames for p in encoder.encode(image)] + encoder.flush()
    keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert keyframes == list(range(0, 30, gop))


def test_zerolatency_gives_a_packet_per_frame_at_once(bikes) -> None:
    frames = bikes_frames(bikes, 10)
    lagging = VideoEncoder(640, 272, fps=25, preset="medium")
    immediate = VideoEncoder(640, 272, fps=25, zerolatency=True)
    assert sum(len(lagging.encode(f)) for f in frames) < 5  # look-ahead holds frames back
    assert [len(immediate.encode(f)) for f in frames] == [1] * 10


def test_preset_changes_speed_quality_tradeoff(bikes) -> None:
    frames = bikes_frames(bikes, 20)
    sizes = {}
    for preset in ("ultrafast", "medium"):
        encoder = VideoEncoder(640, 272, fps=25, preset=preset, crf=23)
        sizes[preset] = sum(p.size for image in frames for p in encoder.encode(image)) + \
            sum(p.size for p in encoder.flush())
    assert sizes["medium"] < sizes["ultrafast"]


def test_encode_element_in_a_pipeline_attaches_packets(tmp_path) -> None:
    pipeline = vistream.parse_launch("testsrc num-buffers=12 width=65 height=49 ! encode gop=4 zerolatency=true "
                                     "! appsink name=out")
    pipeline.run(timeout=30)
    frames = list(pipeline["out"].frames())
    packets = [p for f in frames for p in f.extra["packets"]]
    assert len(packets) == 12 and [i for i, p in enumerate(packets) if p.is_keyframe] == [0, 4, 8]
    assert frames[0].extra["encoder"].width == 64 and frames[0].extra["encoder"].height == 48


def test_bad_settings_are_named() -> None:
    with pytest.raises(PropertyError, match="veryfast"):
        vistream.parse_launch("testsrc ! encode preset=fastest ! fakesink")
    with pytest.raises(PropertyError, match="h265"):
        vistream.parse_launch("testsrc ! encode codec=vp9 ! fakesink")
    with pytest.raises(ConfigError, match="valid: h264, h265"):
        available_encoder("mpeg2")


def test_nvenc_is_used_only_where_it_opens() -> None:
    chosen = available_encoder("h264", "auto")
    assert chosen in ("libx264", "h264_nvenc")
    if chosen == "libx264":
        with pytest.raises(ConfigError, match="NVENC"):
            available_encoder("h264", "nvenc")
