"""Batched, class-aware non-maximum suppression and YOLO decoding in plain torch (no torchvision).

Greedy NMS is computed exactly, without a Python loop over boxes, by the fixed-point iteration
of Cluster-NMS (Zheng et al., 2020): with ``S`` the upper-triangular "i suppresses j" IoU matrix of
the score-sorted boxes, ``keep = not any(S[i, j] for kept i)`` is iterated until it stops changing;
the fixed point is the greedy result. Each image is one block of a padded ``[B, K, K]`` problem,
so a whole batch needs a handful of kernels and one small device->host copy at the end.

Example:
    >>> import torch
    >>> boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]])
    >>> batched_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 0]), 0.5).tolist()
    [0, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: output layouts decoded on the GPU (names of the ``infer`` parsers they replace)
LAYOUTS = ("yolo", "yolov8")


def box_iou(a: Any, b: Any) -> Any:
    """IoU of xyxy boxes ``[..., N, 4]`` x ``[..., M, 4]`` -> ``[..., N, M]``."""
    import torch

    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    top_left = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    bottom_right = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[..., :, None] + area_b[..., None, :] - inter).clamp(min=1e-9)


def nms_padded(boxes: Any, scores: Any, classes: Any, valid: Any, iou_threshold: float,
               max_iterations: int = 200) -> Any:
    """Greedy class-aware NMS of each row of a padded batch.

    Args:
        boxes: ``[B, K, 4]`` xyxy, each row sorted by descending score.
        scores: ``[B, K]`` (only used for ties: rows must already be sorted).
        classes: ``[B, K]`` integer class ids (boxes of different classes never suppress each other).
        valid: ``[B, K]`` bool, False for padding.
        iou_threshold: suppress when IoU > this.

    Returns:
        ``[B, K]`` bool: kept.
    """
    import torch

    if boxes.shape[1] == 0:
        return valid.clone()
    iou = box_iou(boxes.float(), boxes.float())
    k = boxes.shape[1]
    upper = torch.ones(k, k, dtype=torch.bool, device=boxes.device).triu(1)
    suppresses = (iou > iou_threshold) & upper & (classes[:, :, None] == classes[:, None, :])
    suppresses &= valid[:, :, None] & valid[:, None, :]
    keep = valid.clone()
    suppresses_f = suppresses.to(torch.float32 if boxes.device.type == "cpu" else torch.float16)
    for step in range(max_iterations):
        # j is suppressed when some kept i (i before j) overlaps it
        hit = torch.bmm(keep.to(suppresses_f.dtype)[:, None, :], suppresses_f)[:, 0] > 0
        new_keep = valid & ~hit
        if step % 4 == 3 and torch.equal(new_keep, keep):  # a host sync only every 4 steps
            break
        keep = new_keep
    return keep


def batched_nms(boxes: Any, scores: Any, groups: Any, iou_threshold: float) -> Any:
    """Indices kept by greedy NMS within each group (class, or image x class), best score first."""
    import torch

    order = torch.argsort(scores, descending=True, stable=True)
    keep = nms_padded(boxes[order][None], scores[order][None], groups[order][None],
                      torch.ones(1, len(order), dtype=torch.bool, device=boxes.device), iou_threshold)[0]
    return order[keep]


@dataclass
class BatchDetections:
    """Per image ``(boxes [N, 4] xyxy network pixels, scores [N], class_ids [N])`` NumPy arrays."""

    boxes: list[Any]
    scores: list[Any]
    class_ids: list[Any]

    def __len__(self) -> int:
        return len(self.boxes)


def _candidates(output: Any, layout: str) -> tuple[Any, Any, Any]:
    """Raw batched output -> (cxcywh [B, A, 4], best score [B, A], class [B, A])."""
    if layout == "yolo":  # [B, A, 5 + nc]: cx, cy, w, h, objectness, class scores
        rows = output.reshape(output.shape[0], -1, output.shape[-1])
        class_scores, class_ids = rows[..., 5:].max(dim=-1)
        return rows[..., :4], rows[..., 4] * class_scores, class_ids
    if layout == "yolov8":  # [B, 4 + nc, A]
        rows = output.reshape(output.shape[0], output.shape[-2], output.shape[-1])
        class_scores, class_ids = rows[:, 4:].max(dim=1)
        return rows[:, :4].transpose(1, 2), class_scores, class_ids
    raise ValueError(f"GPU decoding of layout {layout!r}; valid: {', '.join(LAYOUTS)}")


@dataclass(frozen=True)
class BoxRules:
    """nvinfer's per-box rules applied on the GPU (source-frame pixels; 0 = no limit).

    The order is the CPU path's: pre-cluster threshold, size / ROI limits, NMS, top-k per class,
    post-cluster threshold; ``exclude_classes`` is ``filter-out-class-ids``.
    """

    min_w: float = 0.0
    min_h: float = 0.0
    max_w: float = 0.0
    max_h: float = 0.0
    roi_top: float = 0.0
    roi_bottom: float = 0.0
    topk: int = -1
    post_threshold: float = 0.0
    exclude_classes: tuple[int, ...] = ()


def _to_source(boxes: Any, transforms: Any, sizes: Any) -> Any:
    """Network-pixel boxes [B, K, 4] -> source pixels with per-image ``(sx, sy, px, py, rx, ry)``, clipped."""
    import torch

    sx, sy, px, py, rx, ry = (transforms[:, i, None] for i in range(6))
    out = torch.stack([(boxes[..., 0] - px) / sx + rx, (boxes[..., 1] - py) / sy + ry,
                       (boxes[..., 2] - px) / sx + rx, (boxes[..., 3] - py) / sy + ry], dim=-1)
    limit = torch.stack([sizes[:, 0], sizes[:, 1], sizes[:, 0], sizes[:, 1]], dim=-1)[:, None, :]
    clipped = torch.minimum(out.clamp(min=0), limit)
    return torch.where(limit > 0, clipped, out)


def detect_postprocess(output: Any, layout: str, score_threshold: float, iou_threshold: float,
                       max_candidates: int = 1000, max_detections: int = 300, cluster: bool = True,
                       transforms: Any = None, sizes: Any = None, rules: BoxRules | None = None) -> BatchDetections:
    """Decode a batched YOLO output on its device, threshold, NMS, and copy the survivors to the host once.

    Args:
        output: ``[B, A, 5 + nc]`` (``yolo``) or ``[B, 4 + nc, A]`` (``yolov8``) tensor.
        layout: ``yolo`` or ``yolov8`` (the names of the CPU parsers with the same semantics).
        score_threshold: drop candidates below this score before NMS.
        iou_threshold: class-aware NMS threshold.
        max_candidates: best candidates per image entering NMS.
        max_detections: most boxes per image after NMS.
        cluster: run NMS (False: thresholding and top-k only, nvinfer's ``cluster-mode=none``).
        transforms: optional ``[B, 6]`` ``(scale_x, scale_y, pad_x, pad_y, roi_x, roi_y)`` per image
            (:class:`~vistream.accel.preprocess.Transform`): boxes come back in source pixels.
        sizes: ``[B, 2]`` source ``(width, height)`` for clipping and ``roi_bottom`` (with ``transforms``).
        rules: size / ROI limits, top-k per class, post-cluster threshold, excluded classes.
    """
    import torch

    rules = rules or BoxRules()
    centres, scores, class_ids = _candidates(output, layout)
    scores = scores.float()
    keep = scores >= score_threshold
    if rules.exclude_classes:
        keep &= ~torch.isin(class_ids, torch.tensor(rules.exclude_classes, device=class_ids.device))
    scores = torch.where(keep, scores, torch.full_like(scores, -1.0))
    # Only as many candidates as the fullest image has (one small host sync): NMS is O(K^2).
    k = max(1, min(max_candidates, int(keep.sum(dim=1).max())))
    top_scores, top_index = scores.topk(k, dim=1, sorted=True)
    cxcywh = torch.gather(centres.float(), 1, top_index[..., None].expand(-1, -1, 4))
    boxes = torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], dim=-1)
    classes = torch.gather(class_ids, 1, top_index)
    valid = top_scores >= score_threshold
    if transforms is not None:
        transforms = torch.as_tensor(transforms, dtype=torch.float32, device=boxes.device)
        sizes = torch.as_tensor(sizes if sizes is not None else [[0, 0]] * len(boxes), dtype=torch.float32,
                                device=boxes.device)
        boxes = _to_source(boxes, transforms, sizes)
        width, height = boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]
        valid &= (width > 0) & (height > 0) & (width >= rules.min_w) & (height >= rules.min_h)
        if rules.max_w > 0:
            valid &= width <= rules.max_w
        if rules.max_h > 0:
            valid &= height <= rules.max_h
        valid &= boxes[..., 1] >= rules.roi_top
        frame_h = sizes[:, 1, None]
        valid &= (frame_h <= 0) | (boxes[..., 3] <= frame_h - rules.roi_bottom)
    keep = nms_padded(boxes, top_scores, classes, valid, iou_threshold) if cluster else valid
    if rules.topk >= 0:  # rank among the kept boxes of the same class (rows are sorted by score)
        same = (classes[:, :, None] == classes[:, None, :]) & keep[:, :, None]
        before = torch.ones(k, k, dtype=torch.bool, device=boxes.device).triu(1)
        rank = (same & before).sum(dim=1)
        keep &= rank < rules.topk
    if rules.post_threshold > 0:
        keep &= top_scores >= rules.post_threshold
    # Kept boxes first (stable: still by score), then cut to max_detections; one copy to the host.
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :max_detections]
    packed = torch.cat([torch.gather(boxes, 1, order[..., None].expand(-1, -1, 4)),
                        torch.gather(top_scores, 1, order)[..., None],
                        torch.gather(classes, 1, order)[..., None].float(),
                        torch.gather(keep, 1, order)[..., None].float()], dim=-1).cpu().numpy()
    result = BatchDetections([], [], [])
    for rows in packed:
        rows = rows[rows[:, 6] > 0]
        result.boxes.append(rows[:, :4].copy())
        result.scores.append(rows[:, 4].copy())
        result.class_ids.append(rows[:, 5].astype("int32"))
    return result
