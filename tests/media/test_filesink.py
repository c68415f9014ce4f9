"""filesink: MP4 / MKV / MPEG-TS files that decode back, and a killed pipeline leaves a playable file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import av
import pytest

import vistream
from vistream.core.errors import PipelineError


def decoded_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize(("suffix", "codec"), [("mp4", "h264"), ("mkv", "h264"), ("ts", "h264"), ("mp4", "h265"),
                                               ("mkv", "h265")])
def test_containers_decode_back(bikes, tmp_path, suffix: str, codec: str) -> None:
    path = tmp_path / f"out.{suffix}"
    pipeline = vistream.parse_launch(f"urisrc uri={bikes} num-buffers=40 ! encode codec={codec} ! "
                                     f"filesink location={path}")
    pipeline.run(timeout=60)
    assert not pipeline.bus.errors
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (640, 272)
        assert stream.codec_context.name == ("h264" if codec == "h264" else "hevc")
    assert decoded_frames(path) == 40


def test_one_file_per_source(tmp_path) -> None:
    pipeline = vistream.parse_launch(
        "testsrc num-buffers=10 width=64 height=48 ! mux.sink_0  testsrc num-buffers=15 width=64 height=48 ! mux.sink_1 "
        f"streammux name=mux ! encode ! filesink location={tmp_path}/cam{{source_id}}.mkv")
    pipeline.run(timeout=30)
    assert decoded_frames(tmp_path / "cam0.mkv") == 10
    assert decoded_frames(tmp_path / "cam1.mkv") == 15


def test_raw_frames_are_encoded_by_the_sink(tmp_path) -> None:
    path = tmp_path / "raw.ts"
    vistream.parse_launch(f"testsrc num-buffers=7 width=64 height=48 ! filesink location={path}").run(timeout=30)
    assert decoded_frames(path) == 7


def test_bad_location_is_an_error_at_start(tmp_path) -> None:
    with pytest.raises(PipelineError, match="valid extensions: .mp4"):
        vistream.parse_launch(f"testsrc num-buffers=1 ! filesink location={tmp_path}/out.avi").run(timeout=10)
    with pytest.raises(PipelineError, match="'location' is not set"):
        vistream.parse_launch("testsrc num-buffers=1 ! filesink").run(timeout=10)


KILLED_PIPELINE = """
import sys, vistream
p = vistream.parse_launch(f"urisrc uri={sys.argv[1]} loop=true ! encode gop=25 preset=ultrafast "
                          f"! filesink location={sys.argv[2]} fragmented={sys.argv[3]}")
p.start()
p.wait(120)
"""


@pytest.mark.parametrize("fragmented", [True, False])
def test_killed_pipeline_leaves_a_playable_file_only_when_fragmented(bikes, tmp_path, fragmented: bool) -> None:
    path = tmp_path / "killed.mp4"
    process = subprocess.Popen([sys.executable, "-c", KILLED_PIPELINE, str(bikes), str(path), str(fragmented)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 400_000):
            assert process.poll() is None, "pipeline process ended early"
            time.sleep(0.2)
        assert path.exists() and path.stat().st_size >= 400_000, "pipeline wrote too little"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    if fragmented:  # every complete fragment plays; the one cut by the kill ends playback
        assert frames_until_damage(path) >= 50
    else:  # the moov index is written only at a clean end: nothing to play
        with pytest.raises(av.error.InvalidDataError):
            frames_until_damage(path)


def frames_until_damage(path) -> int:
    """Frames a player shows before it reaches the damaged tail of a file."""
    count = 0
    with av.open(str(path)) as container:
        try:
            for packet in container.demux(video=0):
                count += len(packet.decode())
        except av.error.InvalidDataError:
            pass
    return count
