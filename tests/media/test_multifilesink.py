"""multifilesink: JPEG snapshots every N frames, on chosen classes, and on in-band events."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import vistream
from vistream.core.buffer import Batch
from vistream.core.element import Element
from vistream.core.errors import PipelineError
from vistream.core.events import CustomEvent, MessageType
from vistream.core.meta import Objects


def read_rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_every_n_frames_saves_the_right_frames(bikes, tmp_path) -> None:
    pipeline = vistream.parse_launch(f"urisrc uri={bikes} num-buffers=50 ! multifilesink every=20 quality=95 "
                                     f"location={tmp_path}/cam{{source_id}}_{{frame_num:04d}}.jpg")
    pipeline.run(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam0_0000.jpg", "cam0_0020.jpg", "cam0_0040.jpg"]
    with av.open(str(bikes)) as container:
        originals = [f.to_ndarray(format="rgb24") for _, f in zip(range(41), container.decode(video=0))]
    snap = read_rgb(tmp_path / "cam0_0020.jpg").astype(int)
    errors = [np.abs(snap - originals[i]).mean() for i in (19, 20, 21)]
    assert errors[1] < 3 and errors[1] < min(errors[0], errors[2])
    messages = [m for m in pipeline.bus.messages(MessageType.ELEMENT) if m.text == "snapshot"]
    assert [m.data["frame_num"] for m in messages] == [0, 20, 40] and messages[0].data["reason"] == "interval"


def test_class_triggered_snapshots_respect_min_interval(tmp_path) -> None:
    pipeline = vistream.parse_launch(f"testsrc num-buffers=60 width=64 height=48 ! identity name=mark "
                                     f"! multifilesink classes=3 min-interval=10 location={tmp_path}/{{frame_num}}.jpg")

    def probe(batch: Batch) -> None:
        for frame in batch.frames:
            if 20 <= frame.frame_num < 45:
                frame.meta.objects = Objects.from_arrays([[1, 1, 9, 9]], class_id=[3])
            elif frame.frame_num == 50:
                frame.meta.objects = Objects.from_arrays([[1, 1, 9, 9]], class_id=[4])

    pipeline["mark"].src.add_probe(probe)
    pipeline.run(timeout=30)
    assert sorted(int(p.stem) for p in tmp_path.iterdir()) == [20, 30, 40]


class SnapshotAt(Element):
    """Sends CustomEvent('snapshot') in-band after frame ``at``."""

    at = 0

    def process(self, batch: Batch) -> None:
        self.push(batch)
        if batch.frames[0].frame_num == self.at:
            self.push_event(CustomEvent("snapshot", {"source_id": 0}))
        return None


def test_in_band_event_saves_the_next_frame(tmp_path) -> None:
    pipeline = vistream.Pipeline()
    source = pipeline.make("testsrc", "src", num_buffers=30, width=64, height=48)
    marker = SnapshotAt(name="marker")
    marker.at = 12
    sink = pipeline.make("multifilesink", "snap", location=f"{tmp_path}/{{frame_num}}.jpg", max_files=5)
    pipeline.add(marker)
    pipeline.link_many(source, marker, sink)
    pipeline.run(timeout=30)
    assert [p.name for p in tmp_path.iterdir()] == ["13.jpg"]


def test_max_files_keeps_the_newest(tmp_path) -> None:
    vistream.parse_launch(f"testsrc num-buffers=20 width=32 height=32 ! multifilesink every=2 max-files=3 "
                          f"location={tmp_path}/{{index}}.jpg").run(timeout=30)
    assert sorted(int(p.stem) for p in tmp_path.iterdir()) == [7, 8, 9]


@pytest.mark.parametrize(("location", "message"), [("{nope}.jpg", "placeholders"), ("x.png", ".jpg")])
def test_bad_location_is_a_start_error(tmp_path, location: str, message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        vistream.parse_launch(f"testsrc num-buffers=1 ! multifilesink location={tmp_path}/{location}").run(timeout=10)
