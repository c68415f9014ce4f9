"""Sharding sources over GPUs: placement, validation, and the multi-device pre-processing it relies on."""

from __future__ import annotations

import pytest

import vistream
from vistream.accel.sharding import assign_round_robin, check_gpu_ids, shard_sources
from vistream.core.errors import ConfigError

torch = pytest.importorskip("torch")


def _pipeline(bikes, count=3):
    text = " ".join(f"urisrc name=s{i} uri={bikes} ! mux.sink_{i}" for i in range(count))
    return vistream.parse_launch(f"{text} streammux name=mux ! fakesink")


def test_round_robin_placement(bikes):
    assert assign_round_robin(4, [2, 0]) == [2, 0, 2, 0]
    pipeline = _pipeline(bikes)
    assert shard_sources(pipeline, [0, 1], check=False) == {"s0": 0, "s1": 1, "s2": 0}
    assert [pipeline[f"s{i}"].gpu_id for i in range(3)] == [0, 1, 0]


def test_bad_gpu_lists_fail_clearly():
    with pytest.raises(ConfigError, match="at least one GPU"):
        check_gpu_ids([])
    with pytest.raises(ConfigError, match="distinct"):
        check_gpu_ids([0, 0])
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ConfigError, match=f"GPU {count} does not exist"):
        check_gpu_ids(list(range(count + 1)))


def test_preprocessing_frames_from_several_devices_keeps_order():
    """Frames on different devices (meta and CPU stand in for two GPUs) are processed per device."""
    from vistream.accel.cuda_preprocess import preprocess_batch

    frames = [torch.randint(0, 256, (48, 32), dtype=torch.uint8) for _ in range(3)]
    ref, _ = preprocess_batch(frames, 16, 16, net_scale_factor=1 / 255)
    assert ref.shape == (3, 3, 16, 16)
    if torch.cuda.is_available():
        mixed, _ = preprocess_batch([frames[0].cuda(), frames[1], frames[2].cuda()], 16, 16, net_scale_factor=1 / 255)
        assert mixed.device.type == "cuda" and float((mixed.cpu() - ref).abs().max()) < 1e-3
