"""PyTorch inference backend (``backend: torch``): ONNX models through onnx2torch, or native modules.

On CUDA the model runs in fp16 and channels-last as CUDA graphs: at start-up one graph is captured
for single frames and one for the full batch size; a partial batch is padded to the smallest
captured size (before :meth:`TorchBackend.prepare`, to the next power of two, up to ``max-graphs``
sizes; others run eagerly), so a batch costs one graph launch plus the copy of its input into the
graph's static buffer.
onnx2torch's generic modules compute shapes at run time (host round trips that a CUDA graph
cannot hold), so for each size the ONNX graph is first made static: the batch axis is fixed,
ONNX Runtime's basic optimiser folds every shape computation into constants, and the converted
module is traced (``torch.jit.trace``), which leaves only tensor operations on the device. Inputs may be NumPy arrays or torch tensors
on any device; outputs are torch tensors on the model's device when it is CUDA, NumPy arrays on
the CPU (the :class:`~vistream.elements.infer.backends.base.Backend` contract).

onnx2torch imports torchvision for two rare operators (NonMaxSuppression, RoiAlign). Where
torchvision does not import (the CPU test set-up), those two raise a clear error if a model uses
them; every other operator converts normally.

Example:
    >>> backend = create_backend("torch", "yolov3-tiny.onnx", device="cuda")  # doctest: +SKIP
    >>> [o.name for o in backend.outputs]  # doctest: +SKIP
    ['detections']
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

from vistream.core.errors import ConfigError
from vistream.elements.infer.backends.base import Backend, TensorInfo, register_backend

log = logging.getLogger("vistream.infer.torch")

_ONNX_DTYPES = {1: "float32", 10: "float16", 11: "float64", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool"}


def import_onnx2torch() -> Any:
    """Import onnx2torch, standing in for torchvision (used by 2 operators only) when it is missing."""
    if importlib.util.find_spec("onnx2torch") is None:
        raise ConfigError("the torch backend converts ONNX models with onnx2torch: pip install 'vistream[torch]'")
    try:
        importlib.import_module("torchvision")
        return importlib.import_module("onnx2torch")
    except Exception:  # missing, or a build that does not match torch (raises RuntimeError on import)
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ConfigError("this ONNX model uses NonMaxSuppression or RoiAlign, which onnx2torch runs through "
                          "torchvision; install torchvision")

    stub, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.nms = ops.roi_align = ops.box_convert = unavailable  # type: ignore[attr-defined]
    stub.ops = ops  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("torchvision", "torchvision.ops")}
    sys.modules.update({"torchvision": stub, "torchvision.ops": ops})
    try:
        for name in [n for n in sys.modules if n.startswith("onnx2torch")]:
            del sys.modules[name]
        return importlib.import_module("onnx2torch")
    finally:  # the stub only lives inside onnx2torch's modules, never in sys.modules
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def onnx_tensor_infos(model: Any) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """Graph inputs (minus initialisers) and outputs of an ONNX model as :class:`TensorInfo`."""
    initializers = {init.name for init in model.graph.initializer}

    def info(value: Any) -> TensorInfo:
        tensor = value.type.tensor_type
        shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tensor.shape.dim)
        return TensorInfo(value.name, shape, _ONNX_DTYPES.get(tensor.elem_type, str(tensor.elem_type)))

    inputs = [info(v) for v in model.graph.input if v.name not in initializers]
    return inputs, [info(v) for v in model.graph.output]


def static_onnx(model: Any, batch: int, work: Path) -> Any:
    """The model with its batch axis fixed to ``batch`` and shape arithmetic folded into constants.

    ONNX Runtime's *basic* graph optimisations (constant folding, redundant-node removal, fusions
    into standard ONNX operators) do the folding; the result is plain ONNX.
    """
    import onnx
    import onnxruntime

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    dim = fixed.graph.input[0].type.tensor_type.shape.dim[0]
    dim.ClearField("dim_param")
    dim.dim_value = batch
    for output in fixed.graph.output:  # stale symbolic output shapes would clash with the fixed batch
        output.type.tensor_type.ClearField("shape")
    source, target = work / f"fixed-{batch}.onnx", work / f"folded-{batch}.onnx"
    onnx.save(fixed, str(source))
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(target)
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return onnx.load(str(target))


def to_channels_last(module: Any) -> Any:
    """NHWC layout for the 4-D weights (convolutions); ``Module.to(memory_format=...)`` fails on the
    5-D buffers some converted models hold."""
    import torch

    for parameter in module.parameters():
        if parameter.dim() == 4:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)
    return module


def bucket(size: int) -> int:
    """The power of two a batch of ``size`` is padded to (1, 2, 4, 8, ...)."""
    return 1 << max(0, size - 1).bit_length()


@register_backend("torch")
class TorchBackend(Backend):
    """Run a model with PyTorch: fp16, channels-last and CUDA graphs on the GPU.

    Args:
        model_path: ``.onnx`` file (converted with onnx2torch) or a TorchScript file (``.pt`` / ``.ts``).
        device: ``cuda``, ``cpu`` or ``auto`` (CUDA when available).
        gpu_id: CUDA device index.
        fp16: run in half precision (default: on CUDA only).
        channels_last: NHWC memory layout for convolutions (default: on CUDA only).
        cuda_graphs: capture one CUDA graph per padded batch size (powers of two).
        max_graphs: most captured batch sizes.
        module: a ``torch.nn.Module`` to run instead of loading ``model_path`` (needs ``input_shape``).
        input_shape: ``(C, H, W)`` of a native module's input.
        output_names: names of a native module's outputs.
    """

    def __init__(self, model_path: str = "", device: str = "auto", gpu_id: int = 0, fp16: bool | None = None,
                 channels_last: bool | None = None, cuda_graphs: bool = True, max_graphs: int = 8,
                 module: Any = None, input_shape: tuple[int, int, int] | None = None,
                 output_names: tuple[str, ...] = ("output",), **ignored: Any) -> None:
        import torch

        if ignored:
            log.debug("torch backend ignores options %s", sorted(ignored))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device not in ("cuda", "cpu"):
            raise ConfigError(f"torch backend: device {device!r}; valid: cuda, cpu, auto")
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("torch backend: device=cuda but torch sees no CUDA device; use device=cpu")
        self.device = device
        self.torch_device = torch.device("cuda", gpu_id) if device == "cuda" else torch.device("cpu")
        self.fp16 = (device == "cuda") if fp16 is None else bool(fp16)
        self.channels_last = (device == "cuda") if channels_last is None else bool(channels_last)
        self.use_graphs = cuda_graphs and device == "cuda"
        self.max_graphs = max_graphs
        self.model_path = model_path
        if module is None:
            module = self._load(model_path)
        elif input_shape is None:
            raise ConfigError("torch backend: a native module needs input_shape=(C, H, W)")
        else:
            self.inputs = [TensorInfo("input", (None, *input_shape), "float32")]
            self.outputs = [TensorInfo(name, (), "float32") for name in output_names]
        module = module.eval().to(self.torch_device)
        if self.fp16:
            module = module.half()
        if self.channels_last:
            to_channels_last(module)
        self.module = module
        self.dtype = torch.float16 if self.fp16 else torch.float32
        if self.fp16:  # ask the pre-processing for fp16 directly
            first = self.inputs[0]
            self.inputs = [TensorInfo(first.name, first.shape, "float16"), *self.inputs[1:]]
        self._graphs: dict[int, tuple[Any, Any, list[Any]]] = {}
        self._failed: set[int] = set()
        self._pool = None
        self.graph_replays = 0

    _onnx: Any = None
    #: traced static modules by (file, mtime, batch, device, fp16, channels-last): converting one
    #: takes seconds and pipelines restart with the same model; read-only once built
    _static_modules: ClassVar[dict[tuple, Any]] = {}

    def _load(self, model_path: str) -> Any:
        import torch

        path = Path(model_path)
        if not path.is_file():
            raise ConfigError(f"torch backend: model file not found: '{model_path}'")
        if path.suffix.lower() in (".pt", ".ts", ".pth", ".torchscript"):
            try:
                module = torch.jit.load(str(path), map_location="cpu")
            except Exception as exc:
                raise ConfigError(f"torch backend: '{model_path}' is not a TorchScript file ({exc}); "
                                  "export with torch.jit.script / trace, or give an .onnx model") from None
            declared = getattr(module, "input_shape", None)
            shape = tuple(declared) if declared else (None, None, None)
            self.inputs = [TensorInfo("input", (None, *shape), "float32")]
            self.outputs = [TensorInfo("output", (), "float32")]
            return module
        import onnx

        try:
            model = onnx.load(str(path))
        except Exception as exc:
            raise ConfigError(f"torch backend: cannot read ONNX model '{model_path}': {exc}") from None
        self.inputs, self.outputs = onnx_tensor_infos(model)
        self._onnx = model
        if len(self.inputs) != 1:
            raise ConfigError(f"torch backend: '{model_path}' has {len(self.inputs)} inputs; one image input is supported")
        onnx2torch = import_onnx2torch()
        try:
            return onnx2torch.convert(model)
        except Exception as exc:
            raise ConfigError(f"torch backend: onnx2torch cannot convert '{model_path}': {exc}") from None

    # ---- running -------------------------------------------------------------------------------------
    def _prepare(self, batch: Any) -> Any:
        import numpy as np
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
        tensor = tensor.to(self.torch_device, self.dtype, non_blocking=True)
        if self.channels_last and tensor.ndim == 4:
            tensor = tensor.contiguous(memory_format=torch.channels_last)
        return tensor

    def _run(self, tensor: Any, module: Any = None) -> list[Any]:
        outputs = (module or self.module)(tensor)
        if isinstance(outputs, dict):
            outputs = list(outputs.values())
        elif not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return list(outputs)

    def _static_module(self, size: int, example: Any) -> Any:
        """A traced module for batches of exactly ``size`` (ONNX models), else the module itself."""
        import tempfile

        import torch

        if self._onnx is None:
            return self.module
        key = (str(Path(self.model_path).resolve()), Path(self.model_path).stat().st_mtime_ns, size,
               str(self.torch_device), self.fp16, self.channels_last)
        cached = TorchBackend._static_modules.get(key)
        if cached is not None:
            return cached
        with tempfile.TemporaryDirectory(prefix="vistream-torch-") as tmp:
            folded = static_onnx(self._onnx, size, Path(tmp))
        module = import_onnx2torch().convert(folded).eval().to(self.torch_device)
        if self.fp16:
            module = module.half()
        if self.channels_last:
            to_channels_last(module)
        with torch.no_grad():
            # freezing inlines the constant shape tensors, so no host round trip is left in the graph
            traced = torch.jit.freeze(torch.jit.trace(module, example, check_trace=False).eval())
        while len(TorchBackend._static_modules) >= 16:
            TorchBackend._static_modules.pop(next(iter(TorchBackend._static_modules)))
        TorchBackend._static_modules[key] = traced
        return traced

    def _capture(self, size: int, like: Any) -> tuple[Any, Any, list[Any]] | None:
        import torch

        static_input = torch.zeros((size, *like.shape[1:]), dtype=like.dtype, device=like.device)
        if self.channels_last and static_input.ndim == 4:
            static_input = static_input.contiguous(memory_format=torch.channels_last)
        static_input[: like.shape[0]].copy_(like)  # a real input for warm-up; no RNG (its state is global)
        try:
            module = self._static_module(size, static_input)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph, static_outputs = self._record(lambda: self._run(static_input, module), pool=self._pool)
        except Exception as exc:  # some models cannot be made static or captured: run them eagerly
            log.warning("torch backend: no CUDA graph for batch %d (%s: %s); running eagerly",
                        size, type(exc).__name__, exc)
            self._failed.add(size)
            return None
        return graph, static_input, static_outputs

    def capture_with(self, size: int, prologue: Any, epilogue: Any = None) -> Any:
        """Capture ``prologue()`` (which makes a batch of ``size`` model inputs from buffers the
        caller owns and refills, e.g. pre-processing of frames), the model and ``epilogue(outputs)``
        (e.g. post-processing; it must not sync with the host) as one CUDA graph.

        Returns a function that replays the graph and returns the model's outputs, or what the
        epilogue made of them (static tensors, overwritten by the next replay), or None when the
        capture failed. Make it before decoders run: another thread's CUDA work spoils a capture.
        """
        import torch

        if not self.use_graphs:
            return None
        try:
            with torch.no_grad():
                module = self._static_module(size, self._prepare(prologue()))
            # a memory pool of its own: it is replayed in any order with the backend's graphs
            finish = epilogue or (lambda outputs: outputs)
            graph, outputs = self._record(lambda: finish(self._run(self._prepare(prologue()), module)), pool=None)
        except Exception as exc:
            log.warning("torch backend: pre-processing and model not captured together for batch %d (%s: %s)",
                        size, type(exc).__name__, str(exc).splitlines()[0])
            return None

        def replay() -> Any:
            graph.replay()
            self.graph_replays += 1
            return outputs

        return replay

    def _record(self, step: Any, pool: Any) -> tuple[Any, Any]:
        """Warm ``step`` up on a side stream, then capture it as a CUDA graph; ``(graph, outputs)``."""
        import torch

        device = self.torch_device
        stream = torch.cuda.Stream(device=device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):  # warm-up outside the graph (cuDNN autotuning, lazy allocations)
                step()
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: decoders and copies in other threads (NVDEC, uploads) may run meanwhile
        with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"), torch.no_grad():
            outputs = step()
        return graph, outputs

    def prepare(self, max_batch: int) -> None:
        """Capture the graphs for batches of 1 and of up to ``max_batch`` now, at start-up.

        Afterwards no graph is captured mid-stream (a capture fails when another thread touches the
        legacy default stream, as some decoders do); batches are padded to the smallest captured size.
        """
        import torch

        shape = tuple(self.inputs[0].shape[1:]) if self.inputs else ()
        if not self.use_graphs or not shape or any(not isinstance(d, int) for d in shape):
            return
        like = torch.zeros((1, *shape), dtype=self.dtype, device=self.torch_device)
        # the full batch exactly (a pipeline of 20 streams runs batches of 20, not 32), and single frames
        for size in sorted({1, max(1, max_batch)}):
            if size not in self._graphs and size not in self._failed:
                entry = self._capture(size, like)
                if entry is not None:
                    self._graphs[size] = entry
        self._prepared = True

    _prepared = False

    def _graph_size(self, size: int) -> int | None:
        """The captured (or, before :meth:`prepare`, to be captured) batch size a batch runs as."""
        if self._prepared:
            return min((s for s in self._graphs if s >= size), default=None)
        padded = bucket(size)
        if padded in self._failed or (padded not in self._graphs and len(self._graphs) >= self.max_graphs):
            return None
        return padded

    def infer(self, batch: Any) -> list[Any]:
        """Run the model on an NCHW batch; outputs in ``output_names`` order."""
        import torch

        tensor = self._prepare(batch)
        size = int(tensor.shape[0])
        padded = self._graph_size(size) if self.use_graphs else None
        if padded is not None:
            entry = self._graphs.get(padded) or self._capture(padded, tensor)
            if entry is not None:
                self._graphs[padded] = entry
                graph, static_input, static_outputs = entry
                static_input[:size].copy_(tensor)
                graph.replay()
                self.graph_replays += 1
                return [out[:size].clone() for out in static_outputs]  # the next replay overwrites them
        with torch.inference_mode():
            outputs = self._run(tensor)
        if self.device == "cpu":
            return [out.float().numpy() for out in outputs]
        return outputs

    def close(self) -> None:
        self._graphs.clear()
        self.module = None
