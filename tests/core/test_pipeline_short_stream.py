"""A stream that ends before Pipeline.start() returns still reaches EOS (a race seen with 1-frame sources)."""

from __future__ import annotations

import vistream


def test_one_frame_pipelines_always_reach_eos() -> None:
    # Before the fix, about one run in 25 never signalled EOS: the sink finished while the state
    # was not yet "playing", and that finish was ignored.
    for _ in range(150):
        pipeline = vistream.parse_launch("testsrc pattern=black width=16 height=16 num-buffers=1 ! appsink name=out")
        pipeline.run(timeout=10)
        assert len(pipeline["out"].batches) == 1
