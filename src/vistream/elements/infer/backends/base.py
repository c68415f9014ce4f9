"""The small interface every inference backend implements (ONNX Runtime, PyTorch, ...).

The ``infer`` element only talks to :class:`Backend`: it hands over a batched input tensor
(NumPy on the CPU, ``torch.Tensor`` on CUDA) and gets the raw outputs back, in the order of
``output_names``. Backends register by name with :func:`register_backend`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vistream.core.errors import ConfigError


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (``-1`` / None for dynamic axes) and dtype name (``float32``, ``float16``) of a tensor."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


class Backend(ABC):
    """Runs a model on batches. Subclasses set ``inputs`` / ``outputs`` and ``device``."""

    #: "cpu" or "cuda": where :meth:`infer` wants its input and returns its outputs
    device: str = "cpu"
    inputs: Sequence[TensorInfo] = ()
    outputs: Sequence[TensorInfo] = ()

    @property
    def input(self) -> TensorInfo:
        """The (single) image input."""
        return self.inputs[0]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    @property
    def max_batch_size(self) -> int | None:
        """Fixed batch size of the model, or None when the batch axis is dynamic."""
        first = self.input.shape[0] if self.input.shape else None
        return first if isinstance(first, int) and first > 0 else None

    @abstractmethod
    def infer(self, batch: Any) -> list[Any]:
        """Run the model on an NCHW batch; returns the outputs in ``output_names`` order."""

    def close(self) -> None:  # noqa: B027 - optional hook: most backends have nothing to release
        """Release sessions / device memory."""


_BACKENDS: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str) -> Callable[[Callable[..., Backend]], Callable[..., Backend]]:
    """Register a backend factory ``factory(model_path, **options) -> Backend`` under ``name``."""

    def decorator(factory: Callable[..., Backend]) -> Callable[..., Backend]:
        _BACKENDS[name] = factory
        return factory

    return decorator


def create_backend(name: str, model_path: str, **options: Any) -> Backend:
    """Instantiate a registered backend; errors list the valid names."""
    if name not in _BACKENDS:
        # Built-in backends register on import; import lazily to keep heavy deps optional.
        import importlib

        try:
            importlib.import_module(f"vistream.elements.infer.backends.{name}")
        except ModuleNotFoundError:
            pass
    if name not in _BACKENDS:
        raise ConfigError(f"unknown inference backend '{name}'; available: {', '.join(sorted(_BACKENDS)) or '(none)'}")
    return _BACKENDS[name](model_path, **options)
