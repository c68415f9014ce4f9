"""Secondary mode with a real (tiny) ONNX classifier of the dominant colour: the right crops,
class / size / component filters, and the per-object cache (20 % growth, reinfer interval)."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.core.buffer import Batch, Frame
from vistream.core.meta import Objects
from vistream.elements.infer.element import Infer

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def _config(tmp_path, colour_model, **extra) -> str:
    lines = {"onnx-file": str(colour_model), "network-type": "classifier", "process-mode": "secondary",
             "parser": "classifier", "labels": "red;green;blue", "gie-unique-id": 2, "operate-on-gie-id": 1,
             "net-scale-factor": 1.0, "classifier-threshold": 0.0, "batch-size": 4, **extra}
    path = tmp_path / "colour.yml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in lines.items()))
    return str(path)


def _frame(blocks, frame_num=0, size=(200, 300)) -> Frame:
    image = np.zeros((*size, 3), np.uint8)
    for (x1, y1, x2, y2), colour in blocks:
        image[y1:y2, x1:x2] = colour
    return Frame.from_image(image, source_id=0, frame_num=frame_num)


def _verdict(frame: Frame, index: int):
    (meta,) = [m for m in frame.meta.objects[index].classifiers if m.component_id == 2]
    return meta


def _start(tmp_path, colour_model, **extra) -> Infer:
    infer = Infer(config=_config(tmp_path, colour_model, **extra), output_tensor_meta=True)
    infer.start()
    return infer


def test_classifies_the_right_crops_and_applies_filters(tmp_path, colour_model):
    infer = _start(tmp_path, colour_model, **{"operate-on-class-ids": "0;2", "input-object-min-width": 10,
                                              "input-object-max-height": 100})
    blocks = [((10, 10, 60, 50), RED), ((100, 20, 180, 90), BLUE), ((200, 100, 290, 190), GREEN),
              ((5, 150, 12, 190), RED), ((120, 100, 170, 199), BLUE)]
    frame = _frame(blocks)
    frame.meta.objects = Objects.from_arrays(
        [b for b, _ in blocks] + [[100, 20, 180, 90]],
        class_id=[0, 2, 1, 0, 0, 0],  # object 2 has class 1: not operated on
        component_id=[1, 1, 1, 1, 1, 9],  # the last one comes from another detector (gie 9)
        object_id=[-1] * 6)
    infer.process(Batch([frame]))
    assert _verdict(frame, 0).label == "red" and _verdict(frame, 1).label == "blue"
    assert _verdict(frame, 0).confidence == pytest.approx(255.0)  # mean of the crop's red channel
    assert _verdict(frame, 4).label == "blue"  # 50 x 99: inside the limits
    for skipped in (2, 3, 5):  # class 1; 7 px wide (< 10); made by gie 9
        assert not [m for m in frame.meta.objects[skipped].classifiers if m.component_id == 2]
    # the tensors are the exact per-channel means of the crops (bilinear resize of a flat block)
    tensors = {t.object_index: t.tensors[0] for t in frame.meta.tensors}
    assert sorted(tensors) == [0, 1, 4]
    np.testing.assert_allclose(tensors[1], [0, 0, 255], atol=1e-3)


def test_crop_at_the_frame_border_is_clipped(tmp_path, colour_model):
    infer = _start(tmp_path, colour_model)
    frame = _frame([((250, 150, 300, 200), GREEN)])
    frame.meta.objects = Objects.from_arrays([[250, 150, 330, 240]], component_id=1)  # leaves the frame
    infer.process(Batch([frame]))
    assert _verdict(frame, 0).label == "green"
    np.testing.assert_allclose(frame.meta.tensors[0].tensors[0], [0, 255, 0], atol=1e-3)


def _tracked(frame_num: int, box, colour=RED) -> Frame:
    x1, y1, x2, y2 = box
    frame = _frame([((int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2))), colour)], frame_num)
    frame.meta.objects = Objects.from_arrays([box], component_id=1, object_id=[5])
    return frame


def test_cache_reinfers_on_growth_of_20_percent_or_after_the_interval(tmp_path, colour_model):
    infer = _start(tmp_path, colour_model, **{"secondary-reinfer-interval": 10})
    side = lambda factor: 40 * np.sqrt(factor)  # noqa: E731 - box side for an area factor
    steps = [  # (frame, box, expected to infer)
        (0, (10, 10, 50, 50), True),  # new object
        (1, (10, 10, 50, 50), False),  # cached
        (2, (10, 10, 10 + side(1.19), 10 + side(1.19)), False),  # grew 19 %
        (3, (10, 10, 10 + side(1.21), 10 + side(1.21)), True),  # grew 21 %: re-infer, new reference
        (4, (10, 10, 10 + side(1.21 * 1.1), 10 + side(1.21 * 1.1)), False),
        (12, (10, 10, 10 + side(1.21), 10 + side(1.21)), False),  # 9 frames since frame 3
        (13, (10, 10, 10 + side(1.21), 10 + side(1.21)), True),  # 10 frames: interval reached
        (14, (10, 10, 30, 30), False),  # shrinking never re-infers
    ]
    for frame_num, box, expected in steps:
        frame = _tracked(frame_num, box, BLUE if frame_num == 14 else RED)
        before = infer.cache.inferences
        infer.process(Batch([frame]))
        inferred = infer.cache.inferences - before == 1
        assert inferred is expected, f"frame {frame_num}"
        assert bool(frame.meta.tensors) is expected
        # the cached verdict is attached on every frame (frame 14 is blue but still says red)
        assert _verdict(frame, 0).label == "red"
    assert len(infer.cache) == 1


def test_untracked_objects_are_always_inferred_and_streams_are_separate(tmp_path, colour_model):
    infer = _start(tmp_path, colour_model)
    for frame_num in range(3):
        frame = _frame([((0, 0, 40, 40), GREEN)], frame_num)
        frame.meta.objects = Objects.from_arrays([[0, 0, 40, 40]], component_id=1)  # object_id -1
        infer.process(Batch([frame]))
    assert infer.cache.inferences == 3 and len(infer.cache) == 0
    a, b = _tracked(0, (10, 10, 50, 50)), _tracked(0, (10, 10, 50, 50), BLUE)
    b.meta.source_id = 1  # same object id, another stream: its own verdict
    infer.process(Batch([a, b]))
    assert (_verdict(a, 0).label, _verdict(b, 0).label) == ("red", "blue")
    from vistream.core.events import StreamEOS

    infer.handle_event(StreamEOS(1), infer.sink)
    assert infer.cache.get(1, 5) is None and infer.cache.get(0, 5) is not None


def test_secondary_detector_adds_children_in_frame_coordinates(tmp_path, yolo_files, vtest):
    import av

    with av.open(str(vtest)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    infer = Infer(config=str(yolo_files.config), process_mode="secondary", unique_id=3, operate_on_gie_id=1)
    infer.start()
    frame = Frame.from_image(image)
    height, width = image.shape[:2]
    frame.meta.objects = Objects.from_arrays([[0, 0, width / 2, height], [width / 2, 0, width, height]],
                                             component_id=1, object_id=[11, 12])
    infer.process(Batch([frame]))
    objects = frame.meta.objects
    children = objects.select(objects.component_id == 3)
    assert len(children) > 0 and "person" in children.labels
    for box, parent in zip(children.xyxy, children.parent, strict=False):
        left, right = (0, width / 2) if parent == 11 else (width / 2, width)
        assert parent in (11, 12) and left - 1e-3 <= box[0] and box[2] <= right + 1e-3


def test_interval_defers_reinference_but_keeps_the_last_verdict(tmp_path, colour_model):
    infer = _start(tmp_path, colour_model, interval=1)
    grown = (10, 10, 60, 60)  # 56 % larger than 40 x 40
    for frame_num, box, colour, expected_inference in [(0, (10, 10, 50, 50), RED, True),
                                                        (1, grown, BLUE, False),  # skipped frame: stays red
                                                        (2, grown, BLUE, True)]:  # next inferred frame: blue
        frame = _tracked(frame_num, box, colour)
        before = infer.cache.inferences
        infer.process(Batch([frame]))
        assert (infer.cache.inferences - before == 1) is expected_inference
        assert frame.meta.inferred[2] is (frame_num % 2 == 0)
        assert _verdict(frame, 0).label == ("red" if frame_num < 2 else "blue")
