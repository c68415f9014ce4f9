"""urisrc's pause hook: a paused file stream holds its place and resumes without losing frames."""

from __future__ import annotations

import time

import vistream


def test_paused_file_holds_and_resumes_exactly() -> None:
    pipeline = vistream.parse_launch(
        "urisrc name=src uri=lavfi:testsrc2=size=64x48:rate=50 num-buffers=60 sync=true ! appsink name=out")
    pipeline.start()
    try:
        source = pipeline["src"]
        deadline = time.monotonic() + 10
        while source.frames_out < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        source.paused.set()
        time.sleep(0.2)
        held = source.frames_out
        time.sleep(0.5)  # 25 frames' worth at 50 fps
        assert source.frames_out == held
        assert held < 60
        started = time.monotonic()
        source.paused.clear()
        assert pipeline.wait(10)
        # paced from where it stopped: the remaining frames take their time, no burst
        assert time.monotonic() - started >= (60 - held) / 50 * 0.7
        assert [f.frame_num for f in pipeline["out"].frames()] == list(range(60))
    finally:
        pipeline.stop()
