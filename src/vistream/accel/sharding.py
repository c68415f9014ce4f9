"""Spread a pipeline's sources over the GPUs of one host (``vistream run --gpus 0,1``).

Each source with a ``gpu-id`` property (``urisrc``) is given a GPU round-robin, so decoding uses
the NVDEC engines of every listed GPU; the other elements keep their device, and the GPU
pre-processing of ``infer`` brings frames from another GPU over as small network-size tensors.
Inference itself scales across GPUs by running one pipeline per GPU (one process each, which
also sidesteps the GIL): ``benchmarks/stream_density.py --processes`` does that for measuring.

Example:
    >>> assign_round_robin(5, [0, 1])
    [0, 1, 0, 1, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vistream.core.errors import ConfigError


def assign_round_robin(count: int, gpu_ids: Sequence[int]) -> list[int]:
    """The GPU of each of ``count`` sources, taking ``gpu_ids`` in turn."""
    return [gpu_ids[index % len(gpu_ids)] for index in range(count)]


def check_gpu_ids(gpu_ids: Sequence[int]) -> list[int]:
    """Validate a ``--gpus`` list: not empty, no repeats, ids that exist on this machine."""
    ids = list(gpu_ids)
    if not ids:
        raise ConfigError("--gpus needs at least one GPU id (e.g. --gpus 0,1)")
    if len(set(ids)) != len(ids) or any(i < 0 for i in ids):
        raise ConfigError(f"--gpus {','.join(map(str, ids))}: ids must be distinct and >= 0")
    try:
        import torch
    except ImportError:
        raise ConfigError("--gpus needs torch with CUDA (pip install 'vistream[cuda]')") from None
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    missing = [i for i in ids if i >= available]
    if missing:
        raise ConfigError(f"--gpus {','.join(map(str, ids))}: GPU {missing[0]} does not exist "
                          f"(this machine has {available} CUDA device{'s' if available != 1 else ''})")
    return ids


def shard_sources(pipeline: Any, gpu_ids: Sequence[int], check: bool = True) -> dict[str, int]:
    """Give every source that has a ``gpu-id`` property a GPU, round-robin; returns name -> GPU."""
    ids = check_gpu_ids(gpu_ids) if check else list(gpu_ids)
    sources = sorted((s for s in pipeline.sources() if "gpu-id" in s.property_specs()), key=lambda s: s.name)
    placement = {}
    for source, gpu in zip(sources, assign_round_robin(len(sources), ids), strict=True):
        source.set_property("gpu-id", gpu)
        placement[source.name] = gpu
    return placement
