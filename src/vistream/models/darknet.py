"""Darknet (cfg + weights) -> PyTorch -> ONNX converter for YOLO v3 / v4 (tiny included).

The exported graph takes ``images`` ``[N, 3, H, W]`` (RGB, 0..1) and returns ``detections``
``[N, boxes, 5 + classes]``: ``cx, cy, w, h`` in network pixels, objectness and per-class
probabilities (sigmoid, not multiplied by objectness), i.e. the ``yolo`` parser's layout.
Supported layers: ``convolutional`` (batch norm; leaky / linear / mish / logistic / relu / swish),
``maxpool``, ``upsample``, ``route`` (with ``groups`` / ``group_id``), ``shortcut``, ``yolo``.

Example:
    >>> cfg = parse_cfg_text("[net]\\nwidth=32\\nheight=32\\n[maxpool]\\nsize=2\\nstride=2\\n")
    >>> cfg[0]["type"], cfg[1]["size"]
    ('net', '2')
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from vistream.core.errors import ConfigError


def parse_cfg_text(text: str) -> list[dict[str, str]]:
    """Sections of a Darknet cfg as dicts with a ``type`` key, in order."""
    sections: list[dict[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            sections.append({"type": line.strip("[]").strip()})
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][key.strip()] = value.strip()
    if not sections or sections[0]["type"] not in ("net", "network"):
        raise ConfigError("darknet cfg must start with a [net] section")
    return sections


def build_model(cfg_path: str | Path, weights_path: str | Path | None = None, decode: bool = True) -> Any:
    """A ``torch.nn.Module`` for the cfg, with the Darknet weights loaded when given (``decode=False``:
    outputs are the raw ``[yolo]`` grids)."""
    cfg_path = Path(cfg_path)
    if not cfg_path.is_file():
        raise ConfigError(f"darknet cfg '{cfg_path}' does not exist")
    from vistream.models._darknet_torch import DarknetModel

    model = DarknetModel(parse_cfg_text(cfg_path.read_text()), decode=decode)
    if weights_path is not None:
        load_weights(model, weights_path)
    return model.eval()


def load_weights(model: Any, weights_path: str | Path) -> None:
    """Read a ``.weights`` file into the model's convolutions (BN: beta, gamma, mean, var; then kernels)."""
    import torch

    path = Path(weights_path)
    if not path.is_file():
        raise ConfigError(f"darknet weights '{path}' does not exist")
    with path.open("rb") as handle:
        major, minor, _revision = np.fromfile(handle, dtype=np.int32, count=3)
        seen_dtype = np.int64 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else np.int32
        np.fromfile(handle, dtype=seen_dtype, count=1)
        data = np.fromfile(handle, dtype=np.float32)
    offset = 0

    def take(tensor: Any) -> None:
        nonlocal offset
        count = tensor.numel()
        if offset + count > len(data):
            raise ConfigError(f"darknet weights '{path}' are too short for the cfg ({len(data)} floats)")
        tensor.data.copy_(torch.from_numpy(data[offset:offset + count].copy()).view_as(tensor))
        offset += count

    for conv, batch_norm in model.convolutions():
        if batch_norm is not None:
            for tensor in (batch_norm.bias, batch_norm.weight, batch_norm.running_mean, batch_norm.running_var):
                take(tensor)
        else:
            take(conv.bias)
        take(conv.weight)
    if offset != len(data):
        raise ConfigError(f"darknet weights '{path}' do not match the cfg: {len(data) - offset} floats left over")


def export_onnx(cfg_path: str | Path, weights_path: str | Path, onnx_path: str | Path, opset: int = 17,
                decode: bool = True) -> Path:
    """Convert cfg + weights to an ONNX file with a dynamic batch axis; returns its path.

    ``decode=True``: one output ``detections`` ``[N, boxes, 5 + classes]`` (``parser: yolo``).
    ``decode=False``: the raw grids ``grid_0``, ``grid_1``, ... ``[N, A * (5 + classes), H, W]``
    (``parser: darknet`` with the cfg's anchors and masks, see :func:`darknet_parser_config`).
    """
    import torch

    model = build_model(cfg_path, weights_path, decode=decode)
    onnx_path = Path(onnx_path)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, model.channels, model.height, model.width)
    partial = onnx_path.with_name(onnx_path.name + ".part")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant shapes, which are constant here
        result = model(dummy)
        shapes = [tuple(result.shape)] if decode else [tuple(grid.shape) for grid in result]
        names = ["detections"] if decode else [f"grid_{i}" for i in range(len(shapes))]
        torch.onnx.export(model, (dummy,), str(partial), input_names=["images"], output_names=names,
                          dynamic_axes={name: {0: "batch"} for name in ["images", *names]}, opset_version=opset,
                          dynamo=False)
    fix_output_shape(partial, [[None, *shape[1:]] for shape in shapes])
    partial.replace(onnx_path)
    return onnx_path


def darknet_parser_config(cfg_path: str | Path) -> dict[str, object]:
    """``anchors``, ``anchor-masks`` and ``parser-options`` for ``parser: darknet`` from a cfg.

    Example:
        >>> import pathlib, tempfile
        >>> cfg = pathlib.Path(tempfile.mkdtemp()) / "t.cfg"
        >>> _ = cfg.write_text("[net]\\n[yolo]\\nmask=1,2\\nanchors=1,2, 3,4, 5,6\\nscale_x_y=1.05\\n")
        >>> darknet_parser_config(cfg)
        {'parser': 'darknet', 'anchors': [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 'anchor-masks': [[1, 2]], 'parser-options': {'scale-x-y': [1.05]}}
    """
    layers = [block for block in parse_cfg_text(Path(cfg_path).read_text()) if block["type"] == "yolo"]
    if not layers:
        raise ConfigError(f"darknet cfg '{cfg_path}' has no [yolo] layers")
    return {"parser": "darknet", "anchors": [float(v) for v in layers[0]["anchors"].split(",")],
            "anchor-masks": [[int(v) for v in block["mask"].split(",")] for block in layers],
            "parser-options": {"scale-x-y": [float(block.get("scale_x_y", 1.0)) for block in layers]}}


def fix_output_shape(onnx_path: Path, dims: list[list[int | None]]) -> None:
    """Write static sizes into the outputs' declared shapes so shape checks can run at start-up."""
    import onnx

    model = onnx.load(str(onnx_path))
    for output, output_dims in zip(model.graph.output, dims, strict=True):
        for dim, value in zip(output.type.tensor_type.shape.dim, output_dims, strict=False):
            if value is not None:
                dim.ClearField("dim_param")
                dim.dim_value = value
    onnx.save(model, str(onnx_path))
