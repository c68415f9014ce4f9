"""ONNX Runtime backend: execution-provider choice, tensor info, NumPy and torch inputs, errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vistream.core.errors import ConfigError
from vistream.elements.infer.backends.base import create_backend
from vistream.elements.infer.backends.onnxruntime import choose_providers, default_threads


@pytest.mark.parametrize("device,available,expected", [
    ("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
    ("auto", ["CPUExecutionProvider"], ["CPUExecutionProvider"]),
    ("auto", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
     ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    ("tensorrt", ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
     ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]),
])
def test_provider_choice(device, available, expected):
    assert choose_providers(device, available) == expected


def test_missing_providers_and_bad_devices_are_config_errors():
    with pytest.raises(ConfigError, match="needs CUDAExecutionProvider; this onnxruntime has CPUExecutionProvider"):
        choose_providers("cuda", ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match="valid: auto, cpu, cuda, tensorrt"):
        choose_providers("tpu", ["CPUExecutionProvider"])
    with pytest.raises(ConfigError, match="unknown inference backend 'tensorflow'; available: .*onnxruntime"):
        create_backend("tensorflow", "model.onnx")


def test_backend_runs_numpy_and_torch_batches(colour_model):
    import torch

    backend = create_backend("onnxruntime", str(colour_model), device="cpu", threads=1)
    assert backend.device == "cpu" and backend.providers == ["CPUExecutionProvider"]
    assert backend.input.shape == (None, 3, 16, 16) and backend.output_names == ["means"]
    assert backend.max_batch_size is None
    batch = np.random.default_rng(1).random((2, 3, 16, 16), dtype=np.float32)
    (means,) = backend.infer(batch)
    np.testing.assert_allclose(means, batch.mean(axis=(2, 3)), rtol=1e-5)
    (from_torch,) = backend.infer(torch.from_numpy(batch.astype(np.float64)))  # cast and copied to NumPy
    np.testing.assert_allclose(from_torch, means, rtol=1e-5)
    backend.close()


def test_default_threads_follow_the_usable_cores():
    assert default_threads() == len(os.sched_getaffinity(0))
