"""Fixtures of the inference tests: the zoo's real models (fetched once, cached) and a tiny real
ONNX "colour" classifier built with onnx.helper (mean of each channel: red / green / blue)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory) -> Path:
    """ONNX classifier: input [N, 3, 16, 16] -> output ``means`` [N, 3] (per-channel mean)."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["means"], axis=1)]
    graph = helper.make_graph(nodes, "colour",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])],
                              [helper.make_tensor_value_info("means", TensorProto.FLOAT, ["batch", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path_factory.mktemp("models") / "colour.onnx"
    onnx.save(model, str(path))
    return path
