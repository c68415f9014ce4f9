from __future__ import annotations

import vistream
from vistream.core.events import StreamEOS


def test_demux_routes_frames_by_source_and_ends_each_branch():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=12 width=32 height=32 ! mux.sink_0 testsrc num-buffers=7 width=32 height=32 ! mux.sink_1 "
        "streammux name=mux ! streamdemux name=d d.src_0 ! appsink name=a  d.src_1 ! appsink name=b")
    pipeline.run(timeout=20)
    assert [f.frame_num for f in pipeline["a"].frames()] == list(range(12))
    assert [f.frame_num for f in pipeline["b"].frames()] == list(range(7))
    assert {f.source_id for f in pipeline["b"].frames()} == {1}


def test_tee_shares_batches_and_queue_decouples_branches():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=20 width=32 height=32 ! tee name=t "
        "t. ! queue max-size-buffers=2 ! identity sleep-time=2000 ! appsink name=slow "
        "t. ! appsink name=fast")
    pipeline.run(timeout=20)
    assert len(pipeline["slow"].batches) == len(pipeline["fast"].batches) == 20
    assert pipeline["slow"].batches[5] is pipeline["fast"].batches[5]


def test_leaky_queue_never_blocks_its_producer():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=200 width=32 height=32 ! tee name=t "
        "t. ! queue name=q leaky=true max-size-buffers=2 ! identity sleep-time=5000 ! appsink name=slow "
        "t. ! appsink name=fast")
    pipeline.start()
    assert pipeline.wait(30)
    dropped = pipeline.stats()["elements"]["q"]["dropped"]
    pipeline.stop()
    assert len(pipeline["fast"].batches) == 200
    assert dropped > 0 and len(pipeline["slow"].batches) + dropped == 200


def test_appsink_iterates_until_eos_and_sees_stream_events():
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=5 width=32 height=32 ! mux.sink_0 streammux name=mux ! appsink name=out")
    pipeline.start()
    numbers = [f.frame_num for batch in pipeline["out"] for f in batch.frames]
    pipeline.stop()
    assert numbers == [0, 1, 2, 3, 4]
    assert any(isinstance(e, StreamEOS) and e.source_id == 0 for e in pipeline["out"].events)
