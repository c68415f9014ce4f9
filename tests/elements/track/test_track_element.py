"""The ``tracker`` element in pipelines: skipped frames, many streams, config files, embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import vistream
from vistream.core.buffer import Frame
from vistream.core.events import MessageType
from vistream.core.meta import Objects, TensorMeta
from vistream.elements.track.config import ALGORITHMS
from vistream.elements.track.element import PAST_FRAME_META, TrackerElement
from vistream.elements.track.matching import iou_matrix

FRAMES = 60


def _run(launch: str) -> list:
    pipeline = vistream.parse_launch(launch)
    pipeline.run(timeout=60)
    assert not pipeline.bus.errors
    return [frame for batch in pipeline["out"].batches for frame in batch.frames]


def _identity_map(frames: list) -> dict[int, set[int]]:
    """Ground-truth id -> the track ids its box got (boxes matched by IoU >= 0.5)."""
    mapping: dict[int, set[int]] = {}
    for frame in frames:
        truth = frame.meta.user_meta("ground-truth")[0]
        objects = frame.meta.objects
        iou = iou_matrix(truth.xyxy, objects.xyxy)
        if iou.size == 0:
            continue
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols, strict=True):
            if iou[r, c] >= 0.5:
                mapping.setdefault(int(truth.object_id[r]), set()).add(int(objects.object_id[c]))
    return mapping


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_skipped_frames_carry_objects_and_keep_ids(algorithm: str) -> None:
    source = f"testsrc pattern=scene num-objects=3 num-buffers={FRAMES} width=640 height=480 seed=4"
    tracker = f"tracker algorithm={algorithm} probation-age=2"
    every = _run(f"{source} ! oracle-detector jitter=0.01 seed=1 ! {tracker} ! appsink name=out")
    skipping = _run(f"{source} ! oracle-detector jitter=0.01 seed=1 interval=2 ! {tracker} ! appsink name=out")
    assert len(skipping) == FRAMES
    detected = [bool(f.meta.inferred) for f in skipping]
    assert detected == [n % 3 == 0 for n in range(FRAMES)]
    for frame in skipping[6:]:  # after the probation period (2 detection frames)
        visible = frame.meta.user_meta("ground-truth")[0].data["visibility"] >= 0.3
        assert len(frame.meta.objects) >= visible.sum() > 0, f"frame {frame.frame_num} lost objects"
        assert (frame.meta.objects.object_id > 0).all()
    every_map, skipping_map = _identity_map(every), _identity_map(skipping)
    assert all(len(ids) == 1 for ids in every_map.values()), every_map
    assert skipping_map == every_map
    # Predicted boxes follow the objects: every ground-truth box is covered on skipped frames too.
    assert len(skipping_map) == 3


def test_many_streams_in_one_batch_have_their_own_state() -> None:
    launch = ("testsrc pattern=scene num-objects=2 num-buffers=20 seed=1 ! mux.sink_0 "
              "testsrc pattern=scene num-objects=3 num-buffers=30 seed=2 ! mux.sink_1 "
              "streammux name=mux batch-size=2 ! oracle-detector jitter=0 ! tracker name=t probation-age=1 "
              "! appsink name=out")
    pipeline = vistream.parse_launch(launch)
    pipeline.run(timeout=60)
    frames = [frame for batch in pipeline["out"].batches for frame in batch.frames]
    assert any(len(batch.frames) == 2 for batch in pipeline["out"].batches)
    ids = {source: set() for source in (0, 1)}
    for frame in frames:
        ids[frame.source_id].update(frame.meta.objects.object_id.tolist())
    assert ids[0] == {1, 2} and ids[1] == {1, 2, 3}  # each stream counts its own ids
    assert len(pipeline["t"].tracker.tracks) == 0  # state dropped on each stream's EOS


def test_config_file_properties_override_and_unsupported_keys_warned(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yml"
    path.write_text("TargetManagement:\n  probationAge: 7\n  maxShadowTrackingAge: 12\n  enableBboxUnClipping: 1\n")
    launch = (f"testsrc pattern=scene num-objects=2 num-buffers=3 ! oracle-detector ! "
              f"tracker name=t config={path} probation-age=1 ! appsink name=out")
    pipeline = vistream.parse_launch(launch)
    pipeline.run(timeout=30)
    settings = pipeline["t"].settings
    assert (settings.probation_age, settings.max_shadow_tracking_age) == (1, 12)
    warnings = [m.text for m in pipeline.bus.messages(MessageType.WARNING)]
    assert any("TargetManagement.enableBboxUnClipping" in text for text in warnings)
    assert len(pipeline["out"].batches[-1].frames[0].meta.objects) == 2


def test_invalid_config_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yml"
    path.write_text("probationAge: -3\n")
    pipeline = vistream.parse_launch(f"testsrc num-buffers=2 ! tracker config={path} ! fakesink")
    with pytest.raises(Exception, match="probation"):
        pipeline.run(timeout=30)


def test_past_frame_user_meta() -> None:
    frames = _run("testsrc pattern=scene num-objects=2 num-buffers=4 ! oracle-detector jitter=0 "
                  "! tracker probation-age=3 ! appsink name=out")
    past = frames[2].meta.user_meta(PAST_FRAME_META)
    assert len(past) == 1 and len(past[0]) == 2
    assert sorted(len(entry["frames"]) for entry in past[0]) == [2, 2]
    assert [len(f.meta.objects) for f in frames] == [0, 0, 2, 2]


def test_embeddings_from_per_object_tensor_output() -> None:
    tracker = TrackerElement(algorithm="deepsort", probation_age=1)
    looks = np.eye(8)

    def frame_with(frame_num: int, xs: tuple[float, ...]) -> Frame:
        frame = Frame.from_image(np.zeros((100, 300, 3), np.uint8), frame_num=frame_num)
        frame.meta.objects = Objects.from_arrays([[x, 0, x + 40, 80] for x in xs], confidence=[0.9] * len(xs))
        frame.meta.tensors = [TensorMeta(component_id=2, names=["reid"], tensors=[looks[i]], object_index=i)
                              for i in range(len(xs))]
        frame.meta.inferred[1] = True
        tracker.track_frames([frame])
        return frame

    first = frame_with(0, (0, 200)).meta.objects
    assert first.data["embedding"].shape == (2, 8)
    for n in range(1, 20):  # both hidden, then back at each other's place
        frame_with(n, ())
    swapped = frame_with(20, (200, 0)).meta.objects
    assert swapped.object_id.tolist() == first.object_id.tolist()


def test_operate_on_gie_id_and_detection_frames() -> None:
    tracker = TrackerElement(operate_on_gie_id=1, probation_age=1)
    frame = Frame.from_image(np.zeros((100, 300, 3), np.uint8), frame_num=0)
    frame.meta.objects = Objects.from_arrays([[0, 0, 40, 80], [100, 0, 140, 80]], component_id=[1, 2])
    frame.meta.inferred = {1: True, 2: True}
    tracker.track_frames([frame])
    by_component = dict(zip(frame.meta.objects.component_id.tolist(), frame.meta.objects.object_id.tolist(), strict=True))
    assert by_component == {2: -1, 1: 1}
    # Component 2 ran, component 1 did not: for this tracker the frame is a skipped one.
    skipped = Frame.from_image(np.zeros((100, 300, 3), np.uint8), frame_num=1)
    skipped.meta.inferred = {2: True}
    assert not tracker.is_detection_frame(skipped)
    tracker.track_frames([skipped])
    assert skipped.meta.objects.object_id.tolist() == [1]


def test_rounds_keep_each_stream_in_order() -> None:
    frames = [Frame.from_image(np.zeros((4, 4, 3), np.uint8), source_id=s, frame_num=n)
              for s, n in ((0, 0), (1, 0), (0, 1), (2, 0), (0, 2), (1, 1))]
    rounds = TrackerElement.rounds(frames)
    assert [[(f.source_id, f.frame_num) for f in r] for r in rounds] == [
        [(0, 0), (1, 0), (2, 0)], [(0, 1), (1, 1)], [(0, 2)]]
