"""Pipeline.start names the element that failed to start (not the last one started before it)."""

from __future__ import annotations

import pytest

from vistream.core.element import Element
from vistream.core.errors import ConfigError, PipelineError
from vistream.core.pipeline import Pipeline
from vistream.elements.sinks import FakeSink
from vistream.media.testsrc import TestSource as SyntheticSource


class _Broken(Element):
    def start(self) -> None:
        raise ConfigError("bad model file 'x.onnx'")


def test_the_failing_element_is_named():
    pipeline = Pipeline()
    source, broken, sink = SyntheticSource(name="camera", num_buffers=1), _Broken(name="detector"), FakeSink(name="sink")
    pipeline.add(source, broken, sink)
    pipeline.link(source, broken)
    pipeline.link(broken, sink)
    with pytest.raises(PipelineError, match=r"element 'detector' failed to start: bad model file 'x.onnx'"):
        pipeline.start()
    pipeline.stop()
