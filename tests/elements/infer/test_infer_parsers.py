"""Every built-in parser against hand-built tensors with known answers; user parsers; post-processing."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from vistream.core.errors import ConfigError
from vistream.elements.infer.parsers import PARSERS, Classification, Detections, ParseInfo, resolve_parser
from vistream.elements.infer.postprocess import ClassAttrs, ClassAttrTable, postprocess, top_k_per_class

INFO = ParseInfo(416, 416, num_classes=3, labels=["person", "car", "dog"], score_threshold=0.1)


def _parse(name, outputs, info=INFO):
    return PARSERS[name].parse(outputs, info)


def test_yolo_v5_layout():
    rows = np.zeros((4, 8), np.float32)
    rows[0] = [100, 50, 20, 10, 0.9, 0.1, 0.8, 0.1]  # car, 0.72
    rows[1] = [200, 200, 40, 40, 0.5, 0.9, 0.0, 0.0]  # person, 0.45
    rows[2] = [10, 10, 4, 4, 0.05, 1.0, 0.0, 0.0]  # objectness below threshold
    rows[3] = [10, 10, 4, 4, 0.9, 0.0, 0.0, 0.1]  # dog, 0.09: score below threshold
    dets = _parse("yolo", [rows])
    np.testing.assert_allclose(dets.boxes, [[90, 45, 110, 55], [180, 180, 220, 220]])
    np.testing.assert_allclose(dets.scores, [0.72, 0.45], rtol=1e-6)
    assert dets.class_ids.tolist() == [1, 0]


def test_yolov8_layout_is_transposed_and_has_no_objectness():
    rows = np.zeros((7, 3), np.float32)  # 4 + 3 classes, 3 anchors
    rows[:, 0] = [50, 50, 20, 20, 0.0, 0.0, 0.95]  # dog
    rows[:, 1] = [300, 100, 60, 30, 0.0, 0.6, 0.1]  # car
    rows[:, 2] = [0, 0, 1, 1, 0.05, 0.0, 0.0]  # too weak
    dets = _parse("yolov8", [rows])
    np.testing.assert_allclose(dets.boxes, [[40, 40, 60, 60], [270, 85, 330, 115]])
    assert dets.class_ids.tolist() == [2, 1]
    np.testing.assert_allclose(dets.scores, [0.95, 0.6], rtol=1e-6)


def test_end_to_end_rows():
    rows = np.array([[1, 2, 30, 40, 0.8, 2], [0, 0, 0, 0, 0.0, 0], [5, 5, 9, 9, 0.3, 1]], np.float32)
    dets = _parse("end-to-end", [rows])
    np.testing.assert_allclose(dets.boxes, [[1, 2, 30, 40], [5, 5, 9, 9]])
    assert dets.class_ids.tolist() == [2, 1]


def test_ssd_normalised_boxes_and_background_class():
    boxes = np.array([[0.1, 0.2, 0.5, 0.6], [0, 0, 1, 1]], np.float32)
    scores = np.array([[0.05, 0.1, 0.7, 0.2, 0], [0.9, 0.05, 0.03, 0.02, 0]], np.float32)  # col 0: background
    info = ParseInfo(300, 200, num_classes=4, score_threshold=0.1, options={"background-class": 0})
    dets = _parse("ssd", [scores, boxes], info)  # either output order works
    np.testing.assert_allclose(dets.boxes, [[30, 40, 150, 120]], rtol=1e-6)
    assert dets.class_ids.tolist() == [2]  # column index (background stays column 0)
    raw = _parse("ssd", [boxes * 100, scores], ParseInfo(300, 200, score_threshold=0.5, options={"normalized": False}))
    np.testing.assert_allclose(raw.boxes, [[10, 20, 50, 60], [0, 0, 100, 100]])
    # four classes and four box columns: the output names decide
    named = ParseInfo(300, 200, score_threshold=0.5, output_names=["scores", "boxes"])
    np.testing.assert_allclose(_parse("ssd", [scores[:, :4], boxes], named).boxes, [[30, 40, 150, 120], [0, 0, 300, 200]])


def test_darknet_raw_grids_with_anchors_and_masks():
    classes, height, width = 3, 2, 2
    grid = np.full((2, 5 + classes, height, width), -20.0, np.float32)  # 2 anchors, all off
    # anchor 1 (mask index 1 -> anchors[3]), cell (y=1, x=0): centred, exp(0) = anchor size
    grid[1, 0:2, 1, 0] = 0.0  # sigmoid 0.5 -> centre of the cell
    grid[1, 2:4, 1, 0] = 0.0
    grid[1, 4, 1, 0] = 20.0  # objectness ~1
    grid[1, 5 + 1, 1, 0] = 20.0  # class 1
    info = ParseInfo(64, 64, num_classes=classes, anchors=[1, 1, 2, 2, 3, 3, 10, 20], anchor_masks=[[2, 3]],
                     score_threshold=0.5)
    dets = _parse("darknet", [grid.reshape(-1, height, width)], info)
    assert len(dets) == 1 and dets.class_ids.tolist() == [1]
    # centre (0.5 + 0) / 2 * 64 = 16, (0.5 + 1) / 2 * 64 = 48; size 10 x 20
    np.testing.assert_allclose(dets.boxes, [[11, 38, 21, 58]], atol=1e-4)


def test_classifier_softmax_threshold_and_labels():
    info = ParseInfo(224, 224, labels=["a", "b", "c"], classifier_threshold=0.5, classifier_activation="softmax")
    (verdict,) = PARSERS["classifier"].parse([np.array([1.0, 3.0, 0.0], np.float32)], info)
    expected = np.exp(3.0) / np.exp([1.0, 3.0, 0.0]).sum()
    assert (verdict.class_id, verdict.label) == (1, "b") and verdict.confidence == pytest.approx(expected, rel=1e-6)
    assert PARSERS["classifier"].parse([np.array([1.0, 1.1, 1.0])], info) == []  # ~0.35 < 0.5
    raw = ParseInfo(224, 224, labels=["a", "b"], classifier_threshold=0.1)
    assert PARSERS["classifier"].parse([np.array([0.3, 0.7], np.float32)], raw) == [Classification(1, np.float32(0.7), "b")]


@pytest.mark.parametrize("name,shapes,message", [
    ("yolo", [(2535, 85)], "80 classes"),
    ("yolov8", [(84, 8400)], "80 classes"),
    ("end-to-end", [(100, 7)], r"\[K, 6\]"),
    ("ssd", [(100, 4)], "two outputs"),
    ("darknet", [(255, 13, 13)], "anchors"),
])
def test_parser_checks_reject_outputs_that_disagree(name, shapes, message):
    with pytest.raises(ValueError, match=message):
        PARSERS[name].check(shapes, INFO)


def test_user_parser_from_a_module(tmp_path, monkeypatch):
    (tmp_path / "myparsers.py").write_text(textwrap.dedent("""
        import numpy as np
        def best_box(outputs, info):
            scores = outputs[0][:, 4]
            best = int(scores.argmax())
            return outputs[0][best:best + 1, :4], scores[best:best + 1], [7]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    parser = resolve_parser("myparsers:best_box", "detector")
    result = parser.parse([np.array([[0, 0, 1, 1, 0.2], [5, 5, 9, 9, 0.9]], np.float32)], INFO)
    assert result[2] == [7]
    sys.modules.pop("myparsers", None)


def test_unknown_parsers_are_config_errors():
    with pytest.raises(ConfigError, match="unknown parser 'yolo99'.*yolov8"):
        resolve_parser("yolo99", "detector")
    with pytest.raises(ConfigError, match="cannot import module"):
        resolve_parser("no_such_module_xyz:parse", "detector")
    with pytest.raises(ConfigError, match="has no function 'nothing'"):
        resolve_parser("numpy:nothing", "detector")
    with pytest.raises(ConfigError, match="classifier parser but the network type is detector"):
        resolve_parser("classifier", "detector")


def _dets(boxes, scores, classes):
    return Detections.from_arrays(boxes, scores, classes)


def test_class_aware_nms_keeps_overlapping_boxes_of_other_classes():
    dets = _dets([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8, 0.7, 0.6], [0, 0, 1, 0])
    out = postprocess(dets, ClassAttrTable(ClassAttrs(pre_cluster_threshold=0.1, nms_iou_threshold=0.5)))
    np.testing.assert_allclose(out.scores, [0.9, 0.7, 0.6], rtol=1e-6)
    assert out.class_ids.tolist() == [0, 1, 0]
    none = postprocess(dets, ClassAttrTable(ClassAttrs(pre_cluster_threshold=0.1)), cluster_mode="none")
    assert len(none) == 4


def test_per_class_thresholds_sizes_topk_and_roi_offsets():
    boxes = [[0, 0, 10, 10], [20, 20, 60, 60], [100, 100, 104, 104], [0, 90, 10, 100], [30, 0, 40, 10]]
    dets = _dets(boxes, [0.5, 0.5, 0.9, 0.9, 0.35], [0, 1, 1, 2, 2])
    table = ClassAttrTable(ClassAttrs(pre_cluster_threshold=0.3), {
        0: ClassAttrs(pre_cluster_threshold=0.6),  # drops the class-0 box
        1: ClassAttrs(pre_cluster_threshold=0.3, detected_min_w=5, detected_max_h=50),  # drops the 4 px box
        2: ClassAttrs(pre_cluster_threshold=0.3, roi_bottom_offset=5, topk=1),  # drops the box at the bottom
    })
    out = postprocess(dets, table, frame_height=100)
    assert sorted(map(tuple, out.boxes.astype(int).tolist())) == [(20, 20, 60, 60), (30, 0, 40, 10)]
    assert top_k_per_class(np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 1, 0]), np.array([2, 2, 2, 2])).tolist() \
        == [True, True, True, False]
