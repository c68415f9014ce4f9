"""Torch batched NMS and YOLO decoding against NumPy references (CPU in CI, CUDA on the device)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vistream.accel.cuda_nms import batched_nms, detect_postprocess  # noqa: E402
from vistream.elements.infer.parsers import ParseInfo  # noqa: E402
from vistream.elements.infer.parsers.detectors import parse_yolo, parse_yolov8  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, groups: np.ndarray, threshold: float) -> list[int]:
    """Textbook greedy NMS, one box at a time (the reference)."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for i in order:
        ok = True
        for j in kept:
            if groups[i] != groups[j]:
                continue
            x1, y1 = max(boxes[i, 0], boxes[j, 0]), max(boxes[i, 1], boxes[j, 1])
            x2, y2 = min(boxes[i, 2], boxes[j, 2]), min(boxes[i, 3], boxes[j, 3])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            union = np.prod(boxes[i, 2:] - boxes[i, :2]) + np.prod(boxes[j, 2:] - boxes[j, :2]) - inter
            if inter / union > threshold:
                ok = False
                break
        if ok:
            kept.append(int(i))
    return kept


def random_boxes(rng: np.random.Generator, count: int, extent: float = 200.0) -> np.ndarray:
    centres = rng.uniform(0, extent, (count, 2))
    sizes = rng.uniform(5, 60, (count, 2))
    return np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed,count,classes,threshold", [(0, 300, 1, 0.5), (1, 500, 4, 0.45), (2, 50, 3, 0.1),
                                                           (3, 1, 1, 0.5), (4, 800, 2, 0.7)])
def test_batched_nms_equals_greedy_reference(device, seed, count, classes, threshold):
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, count), rng.uniform(0, 1, count).astype(np.float32)
    groups = rng.integers(0, classes, count)
    kept = batched_nms(torch.from_numpy(boxes).to(device), torch.from_numpy(scores).to(device),
                       torch.from_numpy(groups).to(device), threshold)
    assert kept.cpu().tolist() == greedy_nms(boxes, scores, groups, threshold)


def test_batched_nms_empty():
    kept = batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert kept.numel() == 0


def _yolo_rows(rng, anchors, classes):
    rows = np.zeros((anchors, 5 + classes), np.float32)
    rows[:, :2] = rng.uniform(20, 400, (anchors, 2))
    rows[:, 2:4] = rng.uniform(10, 80, (anchors, 2))
    rows[:, 4] = rng.uniform(0, 1, anchors) ** 3
    rows[:, 5:] = rng.uniform(0, 1, (anchors, classes))
    return rows


def _canonical(boxes, scores, classes):
    """Order by score, then box (equal scores may come in either order)."""
    order = np.lexsort((boxes[:, 1], boxes[:, 0], -scores))
    return boxes[order], scores[order], classes[order]


def _reference(dets, threshold):
    kept = greedy_nms(dets.boxes, dets.scores, dets.class_ids, threshold)
    return dets.boxes[kept], dets.scores[kept], dets.class_ids[kept]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", ["yolo", "yolov8"])
def test_detect_postprocess_matches_cpu_parser_and_nms(device, layout):
    rng = np.random.default_rng(7)
    batch = np.stack([_yolo_rows(rng, 600, 5) for _ in range(3)])
    info = ParseInfo(416, 416, num_classes=5, score_threshold=0.3)
    if layout == "yolov8":
        batch = np.delete(batch, 4, axis=2).transpose(0, 2, 1).copy()  # [B, 4 + nc, A]
    out = detect_postprocess(torch.from_numpy(batch).to(device), layout, 0.3, 0.45, max_candidates=600, max_detections=600)
    parser = parse_yolo if layout == "yolo" else parse_yolov8
    for index in range(len(batch)):
        boxes, scores, classes = _canonical(*_reference(parser([batch[index]], info), 0.45))
        got_boxes, got_scores, got_classes = _canonical(out.boxes[index], out.scores[index], out.class_ids[index])
        assert got_classes.tolist() == classes.tolist()
        np.testing.assert_allclose(got_boxes, boxes, atol=1e-3)
        np.testing.assert_allclose(got_scores, scores, atol=1e-6)
        assert len(got_boxes) > 5 and np.all(np.diff(out.scores[index]) <= 0)


def test_detect_postprocess_limits():
    rng = np.random.default_rng(3)
    batch = torch.from_numpy(np.stack([_yolo_rows(rng, 400, 2)]))
    out = detect_postprocess(batch, "yolo", 0.0, 1.0, max_candidates=50, max_detections=10)
    assert len(out.boxes[0]) == 10
    assert np.all(np.diff(out.scores[0]) <= 0)
    with pytest.raises(ValueError, match="layout"):
        detect_postprocess(batch, "ssd", 0.1, 0.5)


@pytest.mark.parametrize("device", DEVICES)
def test_rules_and_source_mapping_match_cpu_postprocess(device):
    """Size / ROI limits, top-k per class, post-cluster threshold, excluded classes, source mapping."""
    from vistream.accel.cuda_nms import BoxRules
    from vistream.accel.preprocess import Transform
    from vistream.elements.infer.parsers import Detections
    from vistream.elements.infer.postprocess import ClassAttrs, ClassAttrTable, postprocess

    rng = np.random.default_rng(11)
    batch = np.stack([_yolo_rows(rng, 700, 3) for _ in range(2)])
    transforms = [Transform(0.4, 0.5, 3.0, 20.0, 0.0, 0.0, 1040, 832), Transform(0.3, 0.3, 0.0, 0.0, 0.0, 0.0, 1387, 1387)]
    attrs = ClassAttrs(pre_cluster_threshold=0.2, post_cluster_threshold=0.35, nms_iou_threshold=0.5, topk=7,
                       detected_min_w=40, detected_min_h=30, detected_max_w=260, roi_top_offset=50, roi_bottom_offset=40)
    rules = BoxRules(40, 30, 260, 0, 50, 40, 7, 0.35, (2,))
    out = detect_postprocess(torch.from_numpy(batch).to(device), "yolo", 0.2, 0.5, max_candidates=700,
                             transforms=[(t.scale_x, t.scale_y, t.pad_x, t.pad_y, t.roi_x, t.roi_y) for t in transforms],
                             sizes=[(t.source_width, t.source_height) for t in transforms], rules=rules)
    info = ParseInfo(416, 416, num_classes=3, score_threshold=0.2)
    for index, transform in enumerate(transforms):
        parsed = parse_yolo([batch[index]], info)
        parsed = parsed.select(parsed.class_ids != 2)
        ref = postprocess(Detections(transform.to_source(parsed.boxes), parsed.scores, parsed.class_ids),
                          ClassAttrTable(attrs), "nms", float(transform.source_height))
        got = _canonical(out.boxes[index], out.scores[index], out.class_ids[index])
        want = _canonical(ref.boxes, ref.scores, ref.class_ids)
        assert 3 <= len(want[0]) == len(got[0]) and 2 not in got[2].tolist()
        np.testing.assert_allclose(got[0], want[0], atol=1e-2)
        assert got[2].tolist() == want[2].tolist()



@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", ["yolo", "yolov8"])
def test_fixed_size_postprocess_equals_exact_path(device, layout):
    """The graph-friendly post-processing (fixed K, fixed NMS steps) gives the exact path's result
    whenever it says it did; with rules, source mapping and an excluded class."""
    from vistream.accel.cuda_nms import BoxRules, Postprocess

    rng = np.random.default_rng(5)
    batch = np.stack([_yolo_rows(rng, 700, 3) for _ in range(4)])
    if layout == "yolov8":
        batch = np.delete(batch, 4, axis=2).transpose(0, 2, 1).copy()
    output = torch.from_numpy(batch).to(device)
    transforms = [(0.4, 0.5, 3.0, 20.0, 0.0, 0.0)] * 4
    sizes = [(1040, 832)] * 4
    spec = Postprocess(layout, 0.2, 0.5, max_candidates=700, rules=BoxRules(40, 30, 260, 0, 50, 40, 7, 0.35, (2,)))
    exact = spec.run(output, transforms, sizes)
    fixed = spec.fixed(transforms, sizes, device, candidates=700, steps=8)
    found = fixed.read(fixed(output).cpu().numpy())
    assert found is not None and sum(len(b) for b in found.boxes) >= 8
    for got, want, got_scores, want_scores in zip(found.boxes, exact.boxes, found.scores, exact.scores, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)
    few = spec.fixed(transforms, sizes, device, candidates=16)  # images hold more candidates than 16
    assert few.read(few(output).cpu().numpy()) is None


def test_fixed_size_nms_reports_a_chain_longer_than_its_steps():
    """A > B > C where A suppresses B and B overlaps C: greedy keeps A and C, which takes two steps."""
    from vistream.accel.cuda_nms import Postprocess

    rows = torch.zeros(1, 3, 6)
    rows[0, :, :4] = torch.tensor([[50.0, 50, 20, 20], [58, 50, 20, 20], [66, 50, 20, 20]])
    rows[0, :, 4], rows[0, :, 5] = torch.tensor([0.9, 0.8, 0.7]), 1.0
    spec = Postprocess("yolo", 0.5, 0.4)
    assert [round(float(x)) for x in spec.run(rows).boxes[0][:, 0]] == [40, 56]
    assert spec.fixed(None, None, "cpu", steps=1).read(spec.fixed(None, None, "cpu", steps=1)(rows).numpy()) is None
    two = spec.fixed(None, None, "cpu", steps=2)
    assert [round(float(x)) for x in two.read(two(rows).numpy()).boxes[0][:, 0]] == [40, 56]


def test_the_default_steps_hold_chains_as_long_as_a_yolov8n_shaped_model_gives():
    """24 boxes in a row, each overlapping the next only: greedy keeps every other one, and the
    iteration needs about as many steps as the chain is long. On the H100 a YOLOv8n-shaped model's
    candidates needed 23 steps, so with 8 every batch was redone eagerly."""
    from vistream.accel.cuda_nms import Postprocess, nms_fixed_steps

    rows = torch.zeros(1, 24, 6)
    rows[0, :, 0] = 100 + 20 * torch.arange(24.0)  # width 100, 20 apart: IoU 0.67 with the next, 0.43 one further
    rows[0, :, 1], rows[0, :, 2], rows[0, :, 3] = 100.0, 100.0, 100.0
    rows[0, :, 4], rows[0, :, 5] = torch.linspace(0.95, 0.6, 24), 1.0
    spec = Postprocess("yolo", 0.5, 0.45)
    exact = spec.run(rows).boxes[0]
    assert len(exact) == 12
    default = spec.fixed(None, None, "cpu")
    np.testing.assert_allclose(default.read(default(rows).numpy()).boxes[0], exact)
    assert spec.fixed(None, None, "cpu", steps=8).read(spec.fixed(None, None, "cpu", steps=8)(rows).numpy()) is None
    scored = spec._scores(rows, None)
    boxes, _, classes, valid = spec._shortlist(scored, 24, None)
    needed = next(s for s in range(1, 40) if bool(nms_fixed_steps(boxes, classes, valid, 0.45, s)[1]))
    assert 8 < needed <= default.steps
