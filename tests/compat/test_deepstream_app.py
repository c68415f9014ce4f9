"""deepstream-app config files run as vistream pipelines."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import pytest

from vistream.commands.run import load_any
from vistream.compat.deepstream.app import load_app_config
from vistream.core.errors import ConfigError


def short_clip(source: Path, target: Path, frames: int, start: int = 0) -> Path:
    """Re-encode ``frames`` frames of ``source`` from frame ``start`` (a short clip keeps the test fast)."""
    with av.open(str(source)) as reader, av.open(str(target), "w") as writer:
        stream = writer.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 272, "yuv420p"
        for number, frame in enumerate(reader.decode(video=0)):
            index = number - start
            if index < 0:
                continue
            if index == frames:
                break
            frame.pts = index
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                writer.mux(packet)
        for packet in stream.encode(None):
            writer.mux(packet)
    return target


APP = """\
[application]
enable-perf-measurement=1
perf-measurement-interval-sec=5

[tiled-display]
enable=1
rows=1
columns=2
width=640
height=272
gpu-id=0

[source0]
enable=1
type=3
uri=file://clip.mp4
num-sources=2
gpu-id=0
cudadec-memtype=0

[streammux]
batch-size=2
batched-push-timeout=40000
width=640
height=272
live-source=0

[primary-gie]
enable=1
config-file={detector}
batch-size=2
interval=0
gie-unique-id=1

[tracker]
enable=1
ll-lib-file=/opt/nvidia/deepstream/deepstream/lib/libnvds_nvmultiobjecttracker.so
ll-config-file=tracker.yml

[osd]
enable=1
border-width=2
text-size=15

[sink0]
enable=1
type=3
container=1
codec=1
bitrate=2000000
output-file=out.mp4

[sink1]
enable=1
type=1
sync=0
frobnicate=3
"""


@pytest.fixture
def app_folder(tmp_path: Path, bikes: Path) -> Path:
    from vistream.models.zoo import fetch

    short_clip(bikes, tmp_path / "clip.mp4", 20, start=30)  # cars and cyclists in view
    (tmp_path / "tracker.yml").write_text("BaseConfig:\n  minDetectorConfidence: 0.3\nTargetManagement:\n  probationAge: 2\n")
    config = fetch("yolov3-tiny").config
    (tmp_path / "app.txt").write_text(APP.format(detector=config))
    return tmp_path


def test_app_config_runs_detect_track_tile_and_write(app_folder: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="vistream.deepstream"):
        pipeline = load_any(str(app_folder / "app.txt"))
    assert "[sink1] frobnicate" in caplog.text  # unknown keys are reported by name
    names = set(pipeline.elements)
    assert {"source0_0", "source0_1", "mux", "primary_gie", "tracker", "tiler", "osd", "sink0", "sink1"} <= names
    tracked = []
    pipeline["tracker"].src.add_probe(lambda b: tracked.extend(int((f.meta.objects.object_id >= 0).sum()) for f in b.frames))
    pipeline.run(timeout=240)
    assert not pipeline.bus.errors, [str(m) for m in pipeline.bus.errors]
    assert sum(tracked) > 0
    with av.open(str(app_folder / "out.mp4")) as container:
        frames = [f for f in container.decode(video=0)]
    assert len(frames) == 20 and (frames[0].width, frames[0].height) == (640, 272)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("type=3\nuri", "type=9\nuri"), r"\[source0\] type=9; valid: 1 \(v4l2 camera\)"),
        (("batch-size=2\nbatched", "batch-size=two\nbatched"), r"\[streammux\] batch-size='two': expected int"),
        (("codec=1", "codec=7"), r"\[sink0\] codec must be 1 \(H.264\) or 2 \(H.265\)"),
        (("[source0]\nenable=1", "[source0]\nenable=0"), "no enabled \\[source<N>\\] group"),
    ],
)
def test_invalid_values_name_file_group_and_key(app_folder: Path, change, message):
    path = app_folder / "app.txt"
    path.write_text(path.read_text().replace(*change))
    with pytest.raises(ConfigError, match=message):
        load_app_config(path)
