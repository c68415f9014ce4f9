"""ONNX Runtime backend (the default): CPU, or CUDA / TensorRT execution providers when the
installed onnxruntime has them.

Example:
    >>> from vistream.elements.infer.backends.base import create_backend
    >>> create_backend("onnxruntime", "/nonexistent/model.onnx")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vistream.core.errors.ConfigError: model file '/nonexistent/model.onnx' does not exist...
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.errors import ConfigError
from vistream.elements.infer.backends.base import Backend, TensorInfo, register_backend

_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
           "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8"}
DEVICES = ("auto", "cpu", "cuda", "tensorrt")


def default_threads() -> int:
    """Intra-op threads: every core the process may use (ONNX Runtime spins them; more only oversubscribes)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def choose_providers(device: str, available: list[str]) -> list[str]:
    """Execution providers for ``device`` among the ``available`` ones (CPU always last).

    Example:
        >>> choose_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"])
        ['CUDAExecutionProvider', 'CPUExecutionProvider']
    """
    if device not in DEVICES:
        raise ConfigError(f"onnxruntime device '{device}'; valid: {', '.join(DEVICES)}")
    wanted = {"cpu": [], "cuda": ["CUDAExecutionProvider"],
              "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
              "auto": ["TensorrtExecutionProvider", "CUDAExecutionProvider"]}[device]
    if device == "auto":
        wanted = [p for p in wanted if p in available and p != "TensorrtExecutionProvider"]
    missing = [p for p in wanted if p not in available]
    if missing:
        raise ConfigError(f"onnxruntime device '{device}' needs {', '.join(missing)}; this onnxruntime has "
                          f"{', '.join(available)}")
    return [*wanted, "CPUExecutionProvider"]


class OnnxRuntimeBackend(Backend):
    """One ``InferenceSession``; NumPy in, NumPy out (``device`` is ``cpu``: host buffers)."""

    def __init__(self, model_path: str, device: str = "auto", threads: int | None = None, spin: bool = False,
                 **_: Any) -> None:
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise ConfigError(f"model file '{model_path}' does not exist (set 'onnx-file' / 'model' in the config, "
                              "or run 'vistream models fetch')")
        providers = choose_providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads must not spin: in a pipeline the decoders and other elements need
        # those cores between inferences (on 2 cores spinning costs more than it saves).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for corrupt / invalid models
            raise ConfigError(f"model file '{model_path}' cannot be loaded by onnxruntime: {exc}") from exc
        self.providers = self.session.get_providers()
        self.inputs = [_info(i) for i in self.session.get_inputs()]
        self.outputs = [_info(o) for o in self.session.get_outputs()]
        self._input_dtype = np.float16 if self.inputs[0].dtype == "float16" else np.float32

    def infer(self, batch: Any) -> list[Any]:
        if not isinstance(batch, np.ndarray):  # a torch tensor from GPU pre-processing
            batch = batch.detach().cpu().numpy()
        if batch.dtype != self._input_dtype:
            batch = batch.astype(self._input_dtype)
        return self.session.run(None, {self.inputs[0].name: batch})

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


def _info(node: Any) -> TensorInfo:
    shape = tuple(d if isinstance(d, int) and d >= 0 else None for d in node.shape)
    return TensorInfo(node.name, shape, _DTYPES.get(node.type, node.type))


@register_backend("onnxruntime")
def create(model_path: str, **options: Any) -> Backend:
    """Factory registered as ``onnxruntime``."""
    return OnnxRuntimeBackend(model_path, **options)
