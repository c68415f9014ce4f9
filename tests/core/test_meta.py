from __future__ import annotations

import json

import numpy as np
import pytest

from vistream.core.meta import BatchMeta, ClassifierMeta, DisplayMeta, FrameMeta, Objects, TensorMeta


def make_objects(n: int = 3) -> Objects:
    boxes = np.arange(n * 4, dtype=np.float32).reshape(n, 4)
    boxes[:, 2:] += 10
    return Objects.from_arrays(boxes, confidence=np.linspace(0.5, 0.9, n), class_id=np.arange(n),
                               labels=[f"c{i}" for i in range(n)])


def test_defaults_fill_missing_columns():
    objects = Objects.from_arrays([[0, 0, 10, 10], [5, 5, 6, 6]])
    assert objects.object_id.tolist() == [-1, -1]
    assert objects.parent.tolist() == [-1, -1]
    assert objects.confidence.dtype == np.float32
    assert objects.class_id.dtype == np.int32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"confidence": [0.1]}, "confidence"),
        ({"labels": ["a"]}, "labels"),
        ({"data": {"speed": np.zeros(3)}}, "speed"),
    ],
)
def test_validation_names_the_bad_column(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Objects.from_arrays(np.zeros((2, 4)), **kwargs)


def test_select_keeps_columns_aligned():
    objects = make_objects(4)
    objects.set_column("speed", np.array([1.0, 2.0, 3.0, 4.0]))
    objects.set_column("classifiers", [[ClassifierMeta(2, i, f"k{i}", 0.5)] for i in range(4)])
    chosen = objects.select(np.array([False, True, False, True]))
    assert chosen.labels == ["c1", "c3"]
    assert chosen.data["speed"].tolist() == [2.0, 4.0]
    assert [o.classifiers[0].label for o in chosen] == ["k1", "k3"]
    assert chosen.xyxy.tolist() == objects.xyxy[[1, 3]].tolist()


def test_append_fills_columns_missing_on_one_side():
    left = make_objects(2)
    left.set_column("speed", np.array([1.0, 2.0]))
    right = make_objects(1)
    joined = left.append(right)
    assert len(joined) == 3
    assert np.isnan(joined.data["speed"][2])
    assert joined.labels == ["c0", "c1", "c0"]


def test_object_view_writes_through():
    objects = make_objects(2)
    view = objects[1]
    view.object_id = 42
    assert objects.object_id[1] == 42
    assert view.width == pytest.approx(12.0)  # [4, 5, 16, 17]
    with pytest.raises(IndexError):
        objects[5]


def test_frame_meta_json_roundtrip_has_everything():
    meta = FrameMeta(source_id=3, frame_num=9, pts=123, width=64, height=48)
    meta.objects = make_objects(2)
    meta.objects.set_column("classifiers", [[ClassifierMeta(2, 1, "red", 0.8)], None])
    meta.tensors.append(TensorMeta(1, ["out"], [np.zeros((1, 5))]))
    meta.display.append(DisplayMeta(lines=[((0, 0), (5, 5), (255, 0, 0), 2)]))
    meta.add_user_meta("note", {"k": np.int64(3)})
    meta.analytics["count"] = np.int32(2)
    decoded = json.loads(meta.to_json())
    assert decoded["source_id"] == 3 and decoded["frame_num"] == 9
    assert decoded["objects"][0]["classifiers"][0]["label"] == "red"
    assert "classifiers" not in decoded["objects"][1]
    assert decoded["tensors"][0]["tensors"] == {"out": [1, 5]}
    assert decoded["user"][0]["data"] == {"k": 3}
    assert decoded["analytics"] == {"count": 2}
    batch = BatchMeta([meta, FrameMeta(source_id=4)])
    assert json.loads(json.dumps(batch.to_dict()))["num_frames_in_batch"] == 2
