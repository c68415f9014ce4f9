"""Pipeline.start(require_source=False): a service starts empty and gets its sources later."""

from __future__ import annotations

import pytest

import vistream
from vistream.core.errors import PipelineError


def test_start_without_source_only_when_asked() -> None:
    pipeline = vistream.parse_launch("streammux name=mux drop-pipeline-eos=true ! appsink name=out")
    with pytest.raises(PipelineError, match="has no source element"):
        pipeline.start()
    pipeline.start(require_source=False)
    try:
        source = pipeline.registry.make("testsrc", "late", num_buffers=3, width=32, height=32)
        pipeline.add_source(source, "mux")
        deadline = 50
        while sum(len(b) for b in pipeline["out"].batches) < 3 and deadline:
            pipeline.wait(0.1)
            deadline -= 1
        assert [f.frame_num for f in pipeline["out"].frames()] == [0, 1, 2]
        assert not pipeline.is_eos  # drop-pipeline-eos: still alive with zero sources
    finally:
        pipeline.stop()
