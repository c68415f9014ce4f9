"""The converted yolov3-tiny against an independent reference: OpenCV's own Darknet reader
(``opencv-python-headless<5``) on real frames, through vistream's infer engine end to end."""

from __future__ import annotations

import numpy as np
import pytest

from vistream.core.errors import ConfigError
from vistream.elements.infer.config import load_config
from vistream.elements.infer.engine import InferEngine
from vistream.models.darknet import build_model, parse_cfg_text

cv2 = pytest.importorskip("cv2")
THRESHOLD, NMS_IOU, NET = 0.25, 0.45, 416


def _opencv_reference(net, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV's detections on a letterboxed frame (OpenCV resize + border), mapped back to the frame."""
    height, width = image.shape[:2]
    scale = min(NET / width, NET / height)
    new_w, new_h = round(width * scale), round(height * scale)
    pad_x, pad_y = (NET - new_w) // 2, (NET - new_h) // 2
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    boxed = cv2.copyMakeBorder(resized, pad_y, NET - new_h - pad_y, pad_x, NET - new_w - pad_x,
                               cv2.BORDER_CONSTANT, value=(0, 0, 0))
    net.setInput(cv2.dnn.blobFromImage(boxed, 1 / 255.0, (NET, NET), swapRB=False, crop=False))
    rows = np.concatenate(net.forward(net.getUnconnectedOutLayersNames()))
    classes = rows[:, 5:].argmax(axis=1)
    scores = rows[np.arange(len(rows)), 5 + classes]  # OpenCV: objectness x class probability
    keep = scores >= THRESHOLD
    rows, classes, scores = rows[keep], classes[keep], scores[keep]
    cx, cy, w, h = (rows[:, i] * NET for i in range(4))
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    boxes[:, 0::2] = np.clip((boxes[:, 0::2] - pad_x) / (new_w / width), 0, width)
    boxes[:, 1::2] = np.clip((boxes[:, 1::2] - pad_y) / (new_h / height), 0, height)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    kept = np.asarray(cv2.dnn.NMSBoxesBatched(xywh.tolist(), scores.tolist(), classes.tolist(), THRESHOLD,
                                              NMS_IOU), dtype=np.int64).reshape(-1)
    return boxes[kept], scores[kept], classes[kept]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x2, y2 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda box: (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _matched(boxes, scores, classes, others, margin: float) -> int:
    """Check every confident detection of one side has its twin on the other; returns how many were checked."""
    other_boxes, other_scores, other_classes = others
    checked = 0
    for box, score, class_id in zip(boxes, scores, classes, strict=False):
        if score < THRESHOLD + margin:
            continue  # borderline scores may fall either side of the threshold
        checked += 1
        same = np.flatnonzero(other_classes == class_id)
        assert len(same), f"class {class_id} (score {score:.3f}) missing on the other side"
        ious = _iou(box[None], other_boxes[same])[0]
        best = same[ious.argmax()]
        assert ious.max() >= 0.9, f"class {class_id}: best IoU {ious.max():.3f}"
        assert abs(other_scores[best] - score) <= 0.02, f"class {class_id}: {score:.3f} vs {other_scores[best]:.3f}"
    return checked


def test_converted_yolov3_tiny_matches_opencv_darknet_reader(yolo_files, sample_frames):
    assert hasattr(cv2.dnn, "readNetFromDarknet"), "opencv-python-headless<5 (dev extra) has the Darknet reader"
    folder = yolo_files.onnx.parent
    net = cv2.dnn.readNetFromDarknet(str(folder / "yolov3-tiny.cfg"), str(folder / "yolov3-tiny.weights"))
    config = load_config(yolo_files.config)
    config.class_attrs.default = config.class_attrs.default.updated(
        {"pre-cluster-threshold": THRESHOLD, "nms-iou-threshold": NMS_IOU, "topk": -1})
    engine = InferEngine(config)
    ours = engine.detect(sample_frames)
    checked, classes_seen = 0, set()
    for image, mine in zip(sample_frames, ours, strict=False):
        reference = _opencv_reference(net, image)
        assert set(mine.class_ids[mine.scores >= THRESHOLD + 0.03].tolist()) <= set(reference[2].tolist())
        assert set(reference[2][reference[1] >= THRESHOLD + 0.03].tolist()) <= set(mine.class_ids.tolist())
        checked += _matched(*reference, (mine.boxes, mine.scores, mine.class_ids), margin=0.03)
        checked += _matched(mine.boxes, mine.scores, mine.class_ids, reference, margin=0.03)
        classes_seen |= set(reference[2].tolist())
    assert checked >= 20 and {0, 2} <= classes_seen  # people and cars were really compared


def test_cfg_parsing_and_weight_size_errors(tmp_path, yolo_files):
    with pytest.raises(ConfigError, match=r"\[net\]"):
        parse_cfg_text("[convolutional]\nfilters=1\n")
    truncated = tmp_path / "short.weights"
    truncated.write_bytes((yolo_files.onnx.parent / "yolov3-tiny.weights").read_bytes()[:100_000])
    with pytest.raises(ConfigError, match="too short"):
        build_model(yolo_files.onnx.parent / "yolov3-tiny.cfg", truncated)
    cfg = tmp_path / "odd.cfg"
    cfg.write_text("[net]\nwidth=32\nheight=32\n[reorg]\nstride=2\n")
    with pytest.raises(ConfigError, match=r"\[reorg\].*not supported"):
        build_model(cfg)


V4_STYLE_CFG = """\
[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=mish

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky

[route]
layers=-1
groups=2
group_id=1

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=1

[convolutional]
size=1
stride=1
pad=1
filters=21
activation=linear

[yolo]
mask=1,2,3
anchors=4,6, 8,10, 12,20, 24,16
classes=2
num=4
scale_x_y=1.05

[route]
layers=-4

[upsample]
stride=2

[route]
layers=-1,0

[convolutional]
size=1
stride=1
pad=1
filters=14
activation=linear

[yolo]
mask=0,1
anchors=4,6, 8,10, 12,20, 24,16
classes=2
num=4
"""


def test_v4_layers_match_opencv_with_random_weights(tmp_path):
    """route groups, shortcut, mish, stride-1 max-pool, upsample, scale_x_y: same rows as OpenCV."""
    import onnxruntime as ort

    from vistream.models.darknet import export_onnx

    cfg = tmp_path / "v4ish.cfg"
    cfg.write_text(V4_STYLE_CFG)
    model = build_model(cfg)
    count = sum(c.weight.numel() + (4 * n.weight.numel() if n is not None else c.bias.numel())
                for c, n in model.convolutions())
    rng = np.random.default_rng(0)
    values = rng.normal(0, 0.3, count).astype(np.float32)
    weights = tmp_path / "v4ish.weights"
    with weights.open("wb") as handle:
        np.array([0, 2, 0], np.int32).tofile(handle)
        np.array([0], np.int64).tofile(handle)
        offset = 0
        for conv, norm in model.convolutions():  # variances must be positive
            if norm is not None:
                n = norm.weight.numel()
                block = values[offset:offset + 4 * n].copy()
                block[3 * n:] = np.abs(block[3 * n:]) + 0.5
                block.tofile(handle)
                offset += 4 * n
            else:
                values[offset:offset + conv.bias.numel()].tofile(handle)
                offset += conv.bias.numel()
            values[offset:offset + conv.weight.numel()].tofile(handle)
            offset += conv.weight.numel()
    onnx_path = export_onnx(cfg, weights, tmp_path / "v4ish.onnx")
    image = rng.random((1, 3, 64, 64), dtype=np.float32)
    ours = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"images": image})[0][0]
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setInput(image)
    outputs = net.forward(net.getUnconnectedOutLayersNames())
    # OpenCV: rows (y, x, anchor) per layer, boxes normalised, class scores x objectness (thresholded);
    # ours: rows (anchor, y, x), boxes in pixels, raw class probabilities
    start = 0
    for reference, (anchors, size) in zip(outputs, [(3, 32), (2, 64)], strict=True):
        rows = ours[start:start + anchors * size * size].reshape(anchors, size, size, -1)
        rows = rows.transpose(1, 2, 0, 3).reshape(-1, rows.shape[-1])
        start += anchors * size * size
        np.testing.assert_allclose(rows[:, :4] / 64, reference[:, :4], atol=2e-3)
        np.testing.assert_allclose(rows[:, 4], reference[:, 4], atol=2e-4)
        scores = rows[:, 4:5] * rows[:, 5:]
        confident = reference[:, 5:] > 0
        np.testing.assert_allclose(scores[confident], reference[:, 5:][confident], atol=2e-4)
    assert start == len(ours)


def test_raw_grid_export_with_the_darknet_parser_matches_the_decoded_export(yolo_files, sample_frames, tmp_path):
    """Two routes for one model: raw grids + ``parser: darknet`` (anchors from the cfg) == decoded + ``yolo``."""
    import yaml

    from vistream.models.darknet import darknet_parser_config, export_onnx

    folder = yolo_files.onnx.parent
    raw = export_onnx(folder / "yolov3-tiny.cfg", folder / "yolov3-tiny.weights", tmp_path / "raw.onnx", decode=False)
    config = yaml.safe_load(yolo_files.config.read_text())
    config.update({"model": str(raw), "labelfile-path": str(yolo_files.labels),
                   **darknet_parser_config(folder / "yolov3-tiny.cfg")})
    path = tmp_path / "raw.yaml"
    path.write_text(yaml.safe_dump(config))
    raw_engine = InferEngine(load_config(path))
    assert [o.shape for o in raw_engine.backend.outputs] == [(None, 255, 13, 13), (None, 255, 26, 26)]
    decoded_engine = InferEngine(load_config(yolo_files.config))
    total = 0
    for raw_dets, decoded_dets in zip(raw_engine.detect(sample_frames), decoded_engine.detect(sample_frames),
                                      strict=True):
        assert raw_dets.class_ids.tolist() == decoded_dets.class_ids.tolist()
        np.testing.assert_allclose(raw_dets.boxes, decoded_dets.boxes, atol=0.05)
        np.testing.assert_allclose(raw_dets.scores, decoded_dets.scores, atol=1e-4)
        total += len(raw_dets)
    assert total >= 20
