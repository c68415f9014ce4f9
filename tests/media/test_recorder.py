"""recorder: an event at a known frame gives a clip covering exactly the requested window."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

import vistream
from vistream.core.buffer import Batch
from vistream.core.element import Element
from vistream.core.errors import PipelineError
from vistream.core.events import CustomEvent, MessageType
from vistream.core.meta import Objects

FPS = 25
FRAME_NS = 1_000_000_000 // FPS


def decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    return [f.to_ndarray(format="rgb24") for f in frames], [float(f.time) for f in frames]


def source_frames(bikes: Path) -> list[np.ndarray]:
    with av.open(str(bikes)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def done_messages(pipeline: vistream.Pipeline) -> list:
    return [m for m in pipeline.bus.messages(MessageType.ELEMENT) if m.text == "recording-done"]


def build(bikes: Path, folder: Path, recorder: str, encode: str = "encode gop=25") -> vistream.Pipeline:
    return vistream.parse_launch(f"urisrc uri={bikes} ! {encode} ! recorder name=rec directory={folder} {recorder} "
                                 "! fakesink")


def mark_class(pipeline: vistream.Pipeline, frame_nums: set[int], class_id: int = 2) -> None:
    """A probe before the recorder puts an object of ``class_id`` on the chosen frames."""
    def probe(batch: Batch) -> None:
        for frame in batch.frames:
            if frame.frame_num in frame_nums:
                frame.meta.objects = Objects.from_arrays([[10, 10, 50, 50]], class_id=[class_id])

    pipeline["rec"].sink.peer.element.src.add_probe(probe)


@pytest.mark.parametrize(("event_frame", "first_frame"), [(100, 50), (110, 50), (130, 75)])
def test_metadata_event_clip_covers_the_window(bikes, tmp_path, event_frame: int, first_frame: int) -> None:
    pipeline = build(bikes, tmp_path, "trigger-classes=2 before=2 after=3")
    mark_class(pipeline, {event_frame})
    keyframes = []
    pipeline["rec"].sink.peer.element.src.add_probe(lambda batch: keyframes.extend(
        round(p.pts / 90_000 * FPS) for f in batch.frames for p in f.extra["packets"] if p.is_keyframe))
    pipeline.run(timeout=60)
    assert keyframes == list(range(0, 250, 25))  # encode: gop=25 exactly
    assert first_frame == max(k for k in keyframes if k <= event_frame - 2 * FPS)
    (message,) = done_messages(pipeline)
    images, times = decode(Path(message.data["path"]))
    # from the last keyframe at or before event - 2 s, to event + 3 s inclusive
    last_frame = event_frame + 3 * FPS
    assert len(images) == last_frame - first_frame + 1 == message.data["frames"]
    assert times[0] == 0.0 and times[-1] == pytest.approx((last_frame - first_frame) / FPS, abs=1e-3)
    assert message.data["first_pts_ns"] == pytest.approx(first_frame * FRAME_NS, abs=20_000)  # 90 kHz ticks
    assert message.data["last_pts_ns"] == pytest.approx(last_frame * FRAME_NS, abs=20_000)
    originals = source_frames(bikes)
    for clip_index, source_index in ((0, first_frame), (-1, last_frame)):
        errors = [np.abs(images[clip_index].astype(int) - originals[source_index + d]).mean() for d in (-1, 0, 1)]
        assert errors[1] < min(errors[0], errors[2]), "clip frame is not the source frame of that time"


class RecordAt(Element):
    """Sends CustomEvent('record') in-band after frame ``at``."""

    at = 0

    def process(self, batch: Batch) -> None:
        self.push(batch)
        if batch.frames[0].frame_num == self.at:
            self.push_event(CustomEvent("record", {"source_id": 0, "before": 1.0, "after": 1.0}))
        return None


def test_in_band_record_event_and_raw_frames(bikes, tmp_path) -> None:
    pipeline = vistream.parse_launch(f"urisrc uri={bikes} name=src ! recorder name=rec directory={tmp_path} "
                                     "prefix=cam gop=10 ! fakesink")
    marker = RecordAt(name="marker")
    marker.at = 60
    pipeline.add(marker)
    src, rec = pipeline["src"], pipeline["rec"]
    src.src.peer = None
    rec.sink.peer = None
    pipeline.link(src, marker)
    pipeline.link(marker, rec)
    pipeline.run(timeout=60)
    (message,) = done_messages(pipeline)
    path = Path(message.data["path"])
    assert path.parent == tmp_path and path.name.startswith("cam_0_") and path.suffix == ".mp4"
    images, times = decode(path)
    # event after frame 60, 1 s each side: frames 35 .. 85; own encoder has a keyframe every 10: from 30
    assert len(images) == 85 - 30 + 1
    assert times[-1] == pytest.approx((85 - 30) / FPS, abs=1e-3)


def test_api_trigger_max_duration_and_stream_end(bikes, tmp_path) -> None:
    pipeline = build(bikes, tmp_path, "max-duration=2 before=0 after=30 container=mkv")

    def probe(batch: Batch) -> None:
        if batch.frames[0].frame_num in (50, 220):
            pipeline["rec"].trigger(0, before=0)

    pipeline["rec"].src.add_probe(probe)
    pipeline.run(timeout=60)
    first, second = done_messages(pipeline)
    assert first.data["complete"] and first.data["frames"] == 2 * FPS + 1
    assert Path(first.data["path"]).suffix == ".mkv"
    assert not second.data["complete"] and second.data["reason"] == "stream ended"
    assert len(decode(Path(second.data["path"]))[0]) == 250 - 200  # from keyframe 200 to the last frame


def test_analytics_events_and_cooldown(bikes, tmp_path) -> None:
    pipeline = build(bikes, tmp_path, "trigger-events=crossed before=0 after=1 cooldown=2")

    def probe(batch: Batch) -> None:
        for frame in batch.frames:
            if frame.frame_num % 10 == 0:
                frame.meta.analytics["events"] = [{"type": "crossed" if frame.frame_num < 200 else "entered"}]

    pipeline["rec"].sink.peer.element.src.add_probe(probe)
    pipeline.run(timeout=60)
    starts = [round(m.data["first_pts_ns"] / FRAME_NS) for m in done_messages(pipeline)]
    # events every 10 frames; each clip lasts 1 s then 2 s of quiet: triggers at 0, 80, 160
    assert starts == [0, 75, 150]


def test_before_beyond_cache_is_a_start_error(bikes, tmp_path) -> None:
    with pytest.raises(PipelineError, match="pre-roll cache"):
        build(bikes, tmp_path, "before=30 cache=10").run(timeout=10)


def test_streams_are_recorded_separately(tmp_path) -> None:
    pipeline = vistream.parse_launch(
        "testsrc pattern=white num-buffers=40 width=64 height=48 framerate=10 ! mux.sink_0 "
        "testsrc pattern=black num-buffers=40 width=64 height=48 framerate=10 ! mux.sink_1 "
        f"streammux name=mux ! encode gop=10 ! recorder name=rec directory={tmp_path} before=1 after=1 ! fakesink")

    def probe(batch: Batch) -> None:
        for frame in batch.frames:
            if frame.source_id == 1 and frame.frame_num == 20:
                pipeline["rec"].trigger(1)

    pipeline["rec"].src.add_probe(probe)
    pipeline.run(timeout=30)
    (message,) = done_messages(pipeline)
    assert message.source_id == 1 and Path(message.data["path"]).name.startswith("clip_1_")
    images, _ = decode(Path(message.data["path"]))
    assert len(images) == 21 and max(i.mean() for i in images) < 40  # frames 10 .. 30 of the black source
