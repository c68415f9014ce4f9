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


def _suppression(boxes: Any, classes: Any, valid: Any, iou_threshold: float) -> Any:
    """``[B, K, K]`` "i suppresses j": an earlier (better) box of the same class overlapping more
    than ``iou_threshold``; as floats for the matrix products of the iteration."""
    import torch

    iou = box_iou(boxes.float(), boxes.float())
    k = boxes.shape[1]
    upper = torch.ones(k, k, dtype=torch.bool, device=boxes.device).triu(1)
    suppresses = (iou > iou_threshold) & upper & (classes[:, :, None] == classes[:, None, :])
    suppresses &= valid[:, :, None] & valid[:, None, :]
    return suppresses.to(torch.float32 if boxes.device.type == "cpu" else torch.float16)


def _nms_step(keep: Any, valid: Any, suppresses: Any) -> Any:
    """One step of the iteration: j is suppressed when some kept i (i before j) overlaps it."""
    import torch

    hit = torch.bmm(keep.to(suppresses.dtype)[:, None, :], suppresses)[:, 0] > 0
    return valid & ~hit


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
    suppresses = _suppression(boxes, classes, valid, iou_threshold)
    keep = valid.clone()
    for step in range(max_iterations):
        new_keep = _nms_step(keep, valid, suppresses)
        if step % 4 == 3 and torch.equal(new_keep, keep):  # a host sync only every 4 steps
            break
        keep = new_keep
    return keep


def nms_fixed_steps(boxes: Any, classes: Any, valid: Any, iou_threshold: float, steps: int) -> tuple[Any, Any]:
    """:func:`nms_padded` in exactly ``steps`` steps and no host sync (so a CUDA graph can hold it).

    Returns ``(keep [B, K], converged)``; ``converged`` is a 0-dim bool tensor, True when ``keep``
    is the fixed point, i.e. the exact greedy result (suppression chains are rarely long; when
    one is longer than ``steps`` the caller redoes the batch with :func:`nms_padded`).
    """
    import torch

    suppresses = _suppression(boxes, classes, valid, iou_threshold)
    keep = valid.clone()
    for _ in range(steps):
        keep = _nms_step(keep, valid, suppresses)
    return keep, torch.all(_nms_step(keep, valid, suppresses) == keep)


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


@dataclass(frozen=True)
class Postprocess:
    """YOLO decoding, thresholds, box rules, class-aware NMS and top-k of whole batches on their device.

    Args:
        layout: ``yolo`` (``[B, A, 5 + nc]``) or ``yolov8`` (``[B, 4 + nc, A]``): the names of the
            CPU parsers with the same semantics.
        score_threshold: drop candidates below this score before NMS.
        iou_threshold: class-aware NMS threshold.
        max_candidates: best candidates per image entering NMS.
        max_detections: most boxes per image after NMS.
        cluster: run NMS (False: thresholding and top-k only, nvinfer's ``cluster-mode=none``).
        rules: size / ROI limits, top-k per class, post-cluster threshold, excluded classes.

    Example:
        >>> import torch
        >>> rows = torch.zeros(1, 3, 7)  # one image, three anchors, two classes
        >>> rows[0, :, :4] = torch.tensor([[50, 50, 20, 20], [51, 50, 20, 20], [150, 150, 30, 30.]])
        >>> rows[0, :, 4], rows[0, :, 5] = torch.tensor([0.9, 0.8, 0.7]), 1.0
        >>> found = Postprocess("yolo", 0.5, 0.45).run(rows)
        >>> found.boxes[0].tolist()
        [[40.0, 40.0, 60.0, 60.0], [135.0, 135.0, 165.0, 165.0]]
    """

    layout: str
    score_threshold: float
    iou_threshold: float
    max_candidates: int = 1000
    max_detections: int = 300
    cluster: bool = True
    rules: BoxRules = BoxRules()

    def run(self, output: Any, transforms: Any = None, sizes: Any = None) -> BatchDetections:
        """Detections per image of a batched output, copied to the host once.

        Args:
            output: the model's batched output tensor (``layout``).
            transforms: optional ``[B, 6]`` ``(scale_x, scale_y, pad_x, pad_y, roi_x, roi_y)`` per image
                (:class:`~vistream.accel.preprocess.Transform`): boxes come back in source pixels.
            sizes: ``[B, 2]`` source ``(width, height)`` for clipping and ``roi_bottom`` (with ``transforms``).
        """
        scored = self._scores(output, self._excluded(output.device))
        # Only as many candidates as the fullest image has (one small host sync): NMS is O(K^2).
        k = max(1, min(self.max_candidates, int((scored[0] >= 0).sum(dim=1).max())))
        boxes, top_scores, classes, valid = self._shortlist(scored, k, _mapping(transforms, sizes, output.device))
        keep = nms_padded(boxes, top_scores, classes, valid, self.iou_threshold) if self.cluster else valid
        return unpack(self._pack(boxes, top_scores, classes, keep).cpu().numpy())

    def fixed(self, transforms: Any, sizes: Any, device: Any, candidates: int = 256, steps: int = 32) -> FixedPostprocess:
        """This post-processing with fixed sizes and no host sync, for a CUDA graph (see :class:`FixedPostprocess`).

        32 NMS steps: a YOLOv8n-shaped model's candidates needed 23 on the H100 (8 sent every batch
        down the eager path); a step is one small batched matrix-vector product inside the graph.
        """
        return FixedPostprocess(self, _mapping(transforms, sizes, device),
                                self._excluded(device), min(candidates, self.max_candidates), steps)

    # ---- pieces (no host sync in any of them) -------------------------------------------------
    def _excluded(self, device: Any) -> Any:
        import torch

        return torch.tensor(self.rules.exclude_classes, device=device) if self.rules.exclude_classes else None

    def _scores(self, output: Any, excluded: Any) -> tuple[Any, Any, Any]:
        """Per anchor: best-class score (-1 below the threshold or of an excluded class), centres, class."""
        import torch

        centres, scores, class_ids = _candidates(output, self.layout)
        scores = scores.float()
        keep = scores >= self.score_threshold
        if excluded is not None:
            keep &= ~torch.isin(class_ids, excluded)
        return torch.where(keep, scores, torch.full_like(scores, -1.0)), centres, class_ids

    def _shortlist(self, scored: tuple[Any, Any, Any], k: int, mapping: Any) -> tuple[Any, Any, Any, Any]:
        """The ``k`` best of :meth:`_scores`' candidates per image, boxes mapped to source pixels,
        with the box rules applied."""
        import torch

        scores, centres, class_ids = scored
        top_scores, top_index = scores.topk(k, dim=1, sorted=True)
        cxcywh = torch.gather(centres.float(), 1, top_index[..., None].expand(-1, -1, 4))
        boxes = torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], dim=-1)
        classes = torch.gather(class_ids, 1, top_index)
        valid = top_scores >= self.score_threshold
        if mapping is not None:
            rules = self.rules
            transforms, sizes = mapping
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
        return boxes, top_scores, classes, valid

    def _pack(self, boxes: Any, scores: Any, classes: Any, keep: Any) -> Any:
        """Top-k per class and the post-cluster threshold, then ``[B, D, 7]`` rows
        ``(x1, y1, x2, y2, score, class, kept)``, kept boxes first (still by score)."""
        import torch

        rules, k = self.rules, boxes.shape[1]
        if rules.topk >= 0:  # rank among the kept boxes of the same class (rows are sorted by score)
            same = (classes[:, :, None] == classes[:, None, :]) & keep[:, :, None]
            before = torch.ones(k, k, dtype=torch.bool, device=boxes.device).triu(1)
            rank = (same & before).sum(dim=1)
            keep = keep & (rank < rules.topk)
        if rules.post_threshold > 0:
            keep = keep & (scores >= rules.post_threshold)
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)[:, :self.max_detections]
        return torch.cat([torch.gather(boxes, 1, order[..., None].expand(-1, -1, 4)),
                          torch.gather(scores, 1, order)[..., None],
                          torch.gather(classes, 1, order)[..., None].float(),
                          torch.gather(keep, 1, order)[..., None].float()], dim=-1)


class FixedPostprocess:
    """:class:`Postprocess` with fixed sizes and no host sync, so that a CUDA graph can hold it.

    ``K = candidates`` best candidates per image enter NMS, which runs ``steps`` steps. Calling it
    returns one flat tensor: the packed rows and two flags; :meth:`read` (on the host copy) turns it
    into detections, or None when the result may differ from :meth:`Postprocess.run` (an image had
    more than ``K`` candidates, or NMS had not converged): the caller then runs that.
    Transforms and frame sizes are fixed too (the graph's frames all have one size).

    Example:
        >>> import torch
        >>> rows = torch.zeros(2, 3, 6); rows[..., :4] = torch.tensor([40., 40, 20, 20]); rows[..., 4:] = 0.9
        >>> post = Postprocess("yolo", 0.5, 0.45).fixed(None, None, "cpu", candidates=4)
        >>> [boxes.tolist() for boxes in post.read(post(rows).numpy()).boxes]
        [[[30.0, 30.0, 50.0, 50.0]], [[30.0, 30.0, 50.0, 50.0]]]
        >>> too_few = Postprocess("yolo", 0.5, 0.45).fixed(None, None, "cpu", candidates=2)
        >>> too_few.read(too_few(rows).numpy()) is None  # 3 candidates per image: the exact path must run
        True
    """

    def __init__(self, spec: Postprocess, mapping: Any, excluded: Any, candidates: int, steps: int) -> None:
        self.spec, self.mapping, self.excluded = spec, mapping, excluded
        self.candidates, self.steps = candidates, steps
        self.rows = 0  # rows per image in the result (set by the first call)

    def __call__(self, output: Any) -> Any:
        import torch

        spec = self.spec
        scored = spec._scores(output, self.excluded)
        k = min(self.candidates, scored[0].shape[1])
        self.rows = min(k, spec.max_detections)
        boxes, scores, classes, valid = spec._shortlist(scored, k, self.mapping)
        overflow = (scored[0] >= 0).sum(dim=1).max() > k
        if k >= spec.max_candidates:
            overflow = torch.zeros_like(overflow)  # the eager path cuts at max_candidates as well
        if spec.cluster:
            keep, converged = nms_fixed_steps(boxes, classes, valid, spec.iou_threshold, self.steps)
        else:
            keep, converged = valid, torch.ones_like(overflow)
        flags = torch.stack([overflow, ~converged]).float()
        return torch.cat([spec._pack(boxes, scores, classes, keep).flatten(), flags])

    def read(self, flat: Any) -> BatchDetections | None:
        """Detections from the host copy of a call's result, or None when the exact path must redo the batch."""
        if flat[-2] or flat[-1]:
            return None
        return unpack(flat[:-2].reshape(-1, self.rows, 7))


def _mapping(transforms: Any, sizes: Any, device: Any) -> tuple[Any, Any] | None:
    """``(transforms [B, 6], sizes [B, 2])`` as float32 tensors on ``device``, or None without transforms."""
    import torch

    if transforms is None:
        return None
    sizes = sizes if sizes is not None else [[0, 0]] * len(transforms)
    return (torch.as_tensor(transforms, dtype=torch.float32, device=device),
            torch.as_tensor(sizes, dtype=torch.float32, device=device))


def unpack(packed: Any) -> BatchDetections:
    """Host rows ``[B, D, 7]`` from :meth:`Postprocess._pack` -> per-image arrays of the kept boxes."""
    result = BatchDetections([], [], [])
    for rows in packed:
        rows = rows[rows[:, 6] > 0]
        result.boxes.append(rows[:, :4].copy())
        result.scores.append(rows[:, 4].copy())
        result.class_ids.append(rows[:, 5].astype("int32"))
    return result


def detect_postprocess(output: Any, layout: str, score_threshold: float, iou_threshold: float,
                       max_candidates: int = 1000, max_detections: int = 300, cluster: bool = True,
                       transforms: Any = None, sizes: Any = None, rules: BoxRules | None = None) -> BatchDetections:
    """``Postprocess(...).run(output, transforms, sizes)`` in one call (see :class:`Postprocess`)."""
    spec = Postprocess(layout, score_threshold, iou_threshold, max_candidates, max_detections, cluster,
                       rules or BoxRules())
    return spec.run(output, transforms, sizes)
