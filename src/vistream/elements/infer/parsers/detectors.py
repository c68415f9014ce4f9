"""Built-in detector output parsers (one frame's outputs, no batch axis).

* ``yolo``: YOLOv5 / v7 and vistream's Darknet converter: ``[anchors, 5 + nc]`` rows of
  ``cx, cy, w, h, objectness, class scores`` in network pixels; score = objectness x class score.
* ``yolov8``: YOLOv8 / YOLO11: ``[4 + nc, anchors]`` (``cx, cy, w, h, class scores``).
* ``end-to-end``: ``[K, 6]`` rows of ``x1, y1, x2, y2, score, class`` (YOLOv10, RT-DETR exports,
  NMS inside the model).
* ``ssd``: ``boxes [K, 4]`` (xyxy, normalised to 0..1 unless ``parser-options: {normalized: false}``)
  and ``scores [K, nc]``; ``parser-options: {background-class: 0}`` ignores a background column.
* ``darknet``: raw Darknet YOLO v3 / v4 grids ``[A * (5 + nc), H, W]`` per ``[yolo]`` layer with
  ``anchors`` and ``anchor-masks`` (``parser-options: {scale-x-y: [1.05, ...]}`` for v4).

Example:
    >>> import numpy as np
    >>> rows = np.array([[50, 40, 20, 10, 0.8, 0.1, 0.9]], np.float32)
    >>> d = parse_yolo([rows[None][0]], ParseInfo(416, 416, num_classes=2))
    >>> d.boxes.tolist(), d.class_ids.tolist(), round(float(d.scores[0]), 2)
    ([[40.0, 35.0, 60.0, 45.0]], [1], 0.72)
"""

from __future__ import annotations

import numpy as np

from vistream.elements.infer.parsers.base import Detections, ParseInfo, Parser, cxcywh_to_xyxy, sigmoid


def _best_class(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    class_ids = scores.argmax(axis=1)
    return class_ids, np.take_along_axis(scores, class_ids[:, None], axis=1)[:, 0]


def _keep(boxes: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, info: ParseInfo) -> Detections:
    mask = scores >= info.score_threshold
    return Detections.from_arrays(boxes[mask], scores[mask], class_ids[mask])


def parse_yolo(outputs: list[np.ndarray], info: ParseInfo) -> Detections:
    """``[anchors, 5 + nc]`` -> detections (best class per anchor)."""
    rows = np.asarray(outputs[0], dtype=np.float32).reshape(-1, outputs[0].shape[-1])
    objectness = rows[:, 4]
    rows = rows[objectness >= info.score_threshold]  # cheap early cut: score <= objectness
    class_ids, class_scores = _best_class(rows[:, 5:])
    return _keep(cxcywh_to_xyxy(rows[:, :4]), rows[:, 4] * class_scores, class_ids, info)


def parse_yolov8(outputs: list[np.ndarray], info: ParseInfo) -> Detections:
    """``[4 + nc, anchors]`` -> detections."""
    rows = np.asarray(outputs[0], dtype=np.float32)
    rows = rows.reshape(rows.shape[-2], rows.shape[-1]).T
    class_ids, scores = _best_class(rows[:, 4:])
    return _keep(cxcywh_to_xyxy(rows[:, :4]), scores, class_ids, info)


def parse_end_to_end(outputs: list[np.ndarray], info: ParseInfo) -> Detections:
    """``[K, 6]`` of ``x1, y1, x2, y2, score, class``."""
    rows = np.asarray(outputs[0], dtype=np.float32).reshape(-1, 6)
    return _keep(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int32), info)


def parse_ssd(outputs: list[np.ndarray], info: ParseInfo) -> Detections:
    """``boxes [K, 4]`` + ``scores [K, nc]`` (the output with 4 columns is the boxes)."""
    first, second = (np.asarray(o, dtype=np.float32) for o in outputs[:2])
    boxes, scores = (second, first) if _boxes_second(first.shape, second.shape, info) else (first, second)
    boxes, scores = boxes.reshape(-1, 4), scores.reshape(len(boxes.reshape(-1, 4)), -1)
    background = int(info.options.get("background-class", -1))
    if 0 <= background < scores.shape[1]:
        scores = scores.copy()
        scores[:, background] = -np.inf
    if info.options.get("normalized", True):
        boxes = boxes * np.array([info.network_width, info.network_height] * 2, dtype=np.float32)
    class_ids, best = _best_class(scores)
    return _keep(boxes, best, class_ids, info)


def _boxes_second(first: tuple, second: tuple, info: ParseInfo) -> bool:
    """Which SSD output holds the boxes: by name (``*box*``), else the one with 4 columns, else the first."""
    names = [n.lower() for n in info.output_names[:2]]
    if len(names) == 2 and ("box" in names[0]) != ("box" in names[1]):
        return "box" in names[1]
    return first[-1] != 4 and second[-1] == 4


def parse_darknet(outputs: list[np.ndarray], info: ParseInfo) -> Detections:
    """Raw ``[yolo]`` grids with anchors (network pixels) and one mask per output."""
    anchors = np.asarray(info.anchors, dtype=np.float32).reshape(-1, 2)
    scales = info.options.get("scale-x-y", [1.0] * len(outputs))
    all_rows = []
    for output, mask, scale in zip(outputs, info.anchor_masks, scales, strict=False):
        grid = np.asarray(output, dtype=np.float32)
        count = len(mask)
        height, width = grid.shape[-2:]
        grid = grid.reshape(count, -1, height, width).transpose(0, 2, 3, 1)  # A, H, W, 5+nc
        ys, xs = np.meshgrid(np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij")
        rows = np.empty_like(grid)
        offset = (float(scale) - 1) / 2
        rows[..., 0] = (sigmoid(grid[..., 0]) * scale - offset + xs) / width * info.network_width
        rows[..., 1] = (sigmoid(grid[..., 1]) * scale - offset + ys) / height * info.network_height
        chosen = anchors[list(mask)]
        rows[..., 2] = np.exp(grid[..., 2]) * chosen[:, 0, None, None]
        rows[..., 3] = np.exp(grid[..., 3]) * chosen[:, 1, None, None]
        rows[..., 4:] = sigmoid(grid[..., 4:])
        all_rows.append(rows.reshape(-1, rows.shape[-1]))
    return parse_yolo([np.concatenate(all_rows)], info)


def _check_classes(columns: int | None, extra: int, info: ParseInfo, layout: str) -> None:
    if columns is None:
        return
    if columns <= extra:
        raise ValueError(f"output has {columns} values per box; the {layout} layout needs more than {extra}")
    if info.num_classes and columns - extra != info.num_classes:
        raise ValueError(f"output has {columns - extra} classes ({layout} layout, {columns} values per box) "
                         f"but num-detected-classes / the label file say {info.num_classes}")


def _check_yolo(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    if len(shapes[0]) < 2:
        raise ValueError(f"yolo parser needs an output [anchors, 5 + classes], got {shapes[0]}")
    _check_classes(shapes[0][-1], 5, info, "yolo [anchors, 5 + classes]")


def _check_yolov8(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    if len(shapes[0]) < 2:
        raise ValueError(f"yolov8 parser needs an output [4 + classes, anchors], got {shapes[0]}")
    _check_classes(shapes[0][-2], 4, info, "yolov8 [4 + classes, anchors]")


def _check_end_to_end(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    if shapes[0][-1] not in (6, None):
        raise ValueError(f"end-to-end parser needs an output [K, 6], got {shapes[0]}")


def _check_ssd(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    if len(shapes) < 2:
        raise ValueError(f"ssd parser needs two outputs (boxes [K, 4], scores [K, classes]), got {len(shapes)}")
    scores = shapes[0] if _boxes_second(shapes[0], shapes[1], info) else shapes[1]
    background = 1 if int(info.options.get("background-class", -1)) >= 0 else 0
    if info.num_classes and scores[-1] is not None and scores[-1] - background != info.num_classes:
        raise ValueError(f"ssd scores have {scores[-1]} columns but the config says {info.num_classes} classes")


def _check_darknet(shapes: list[tuple[int | None, ...]], info: ParseInfo) -> None:
    if not info.anchors or not info.anchor_masks:
        raise ValueError("darknet parser needs 'anchors' and 'anchor-masks' in the config")
    if len(info.anchor_masks) != len(shapes):
        raise ValueError(f"{len(info.anchor_masks)} anchor masks for {len(shapes)} outputs")
    for shape, mask in zip(shapes, info.anchor_masks, strict=False):
        if shape[0] is not None:
            _check_classes(shape[0] // len(mask), 5, info, "darknet [A * (5 + classes), H, W]")


DETECTOR_PARSERS = {
    "yolo": Parser("yolo", "detector", parse_yolo, _check_yolo, "YOLOv5/v7 and converted Darknet [anchors, 5+nc]"),
    "yolov8": Parser("yolov8", "detector", parse_yolov8, _check_yolov8, "YOLOv8/YOLO11 [4+nc, anchors]"),
    "end-to-end": Parser("end-to-end", "detector", parse_end_to_end, _check_end_to_end,
                         "[K, 6] x1,y1,x2,y2,score,class (YOLOv10, RT-DETR)"),
    "ssd": Parser("ssd", "detector", parse_ssd, _check_ssd, "boxes [K,4] + scores [K,nc]"),
    "darknet": Parser("darknet", "detector", parse_darknet, _check_darknet, "raw Darknet [yolo] grids + anchors"),
}
