"""CPU pre-processing for inference with nvinfer's semantics (NumPy / OpenCV).

``y = net_scale_factor * (x - offsets)`` per channel, in the model's colour order, after an
optional crop (``rois``, secondary inference) and a resize that may keep the aspect ratio
(``maintain_aspect_ratio``; the padding goes right / bottom, or both sides with
``symmetric_padding``). Each image gets a :class:`Transform` that maps boxes from network-input
pixels back to source-frame pixels exactly.

``vistream.accel.cuda_preprocess.preprocess_batch`` has the same signature for frames on the GPU.

Example:
    >>> import numpy as np
    >>> image = np.full((100, 200, 3), 255, np.uint8)
    >>> tensor, transforms = preprocess_batch([image], 64, 64, net_scale_factor=1 / 255,
    ...                                       maintain_aspect_ratio=True, symmetric_padding=True)
    >>> tensor.shape, float(tensor[0, 0, 0, 0]), float(tensor[0, 0, 32, 32])
    ((1, 3, 64, 64), 0.0, 1.0)
    >>> transforms[0].to_source(np.array([[0, 16, 64, 48]], np.float32)).tolist()
    [[0.0, 0.0, 200.0, 100.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: scaling filters by nvinfer's ``scaling-filter`` numbers and by name
INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}
COLOR_FORMATS = ("RGB", "BGR", "GRAY")


@dataclass(frozen=True)
class Transform:
    """How one image went into the network: ``net = (src - roi_origin) * scale + pad``."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    roi_x: float = 0.0
    roi_y: float = 0.0
    source_width: int = 0
    source_height: int = 0

    def to_source(self, boxes: np.ndarray, clip: bool = True) -> np.ndarray:
        """Map ``[N, 4]`` xyxy boxes from network pixels to source-frame pixels."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        out = np.empty_like(boxes)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x + self.roi_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y + self.roi_y
        if clip and self.source_width and self.source_height:
            np.clip(out[:, 0::2], 0, self.source_width, out=out[:, 0::2])
            np.clip(out[:, 1::2], 0, self.source_height, out=out[:, 1::2])
        return out

    def to_network(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``[N, 4]`` xyxy boxes from source-frame pixels to network pixels (inverse of :meth:`to_source`)."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        out = np.empty_like(boxes)
        out[:, 0::2] = (boxes[:, 0::2] - self.roi_x) * self.scale_x + self.pad_x
        out[:, 1::2] = (boxes[:, 1::2] - self.roi_y) * self.scale_y + self.pad_y
        return out


def fit(width: int, height: int, net_width: int, net_height: int, maintain_aspect_ratio: bool,
        symmetric_padding: bool) -> tuple[int, int, int, int]:
    """Size of the resized image and its offset in the network input: ``(new_w, new_h, pad_x, pad_y)``.

    Example:
        >>> fit(640, 272, 416, 416, True, True)
        (416, 177, 0, 119)
    """
    if not maintain_aspect_ratio:
        return net_width, net_height, 0, 0
    scale = min(net_width / width, net_height / height)
    new_w = min(net_width, max(1, round(width * scale)))
    new_h = min(net_height, max(1, round(height * scale)))
    if not symmetric_padding:
        return new_w, new_h, 0, 0
    return new_w, new_h, (net_width - new_w) // 2, (net_height - new_h) // 2


def preprocess_batch(
    images: Sequence[np.ndarray],
    width: int,
    height: int,
    *,
    net_scale_factor: float = 1.0,
    offsets: Sequence[float] = (0.0, 0.0, 0.0),
    color_format: str = "RGB",
    maintain_aspect_ratio: bool = False,
    symmetric_padding: bool = False,
    interpolation: str = "bilinear",
    rois: Sequence[Sequence[float] | None] | None = None,
    dtype: str = "float32",
) -> tuple[np.ndarray, list[Transform]]:
    """Turn RGB HxWx3 uint8 images into one NCHW network batch and per-image transforms.

    Args:
        images: RGB uint8 frames (``HxWx3``); the same frame may appear several times with
            different ``rois``.
        width / height: network input size.
        net_scale_factor / offsets: ``y = net_scale_factor * (x - offsets[c])``.
        color_format: ``RGB``, ``BGR`` or ``GRAY`` (the model's channel order).
        maintain_aspect_ratio / symmetric_padding: letterbox (black padding), centred or not.
        interpolation: one of :data:`INTERPOLATION`.
        rois: per image an ``(x1, y1, x2, y2)`` crop in frame pixels, or None for the whole frame.
        dtype: ``float32`` or ``float16``.

    Returns:
        ``(batch [N, C, height, width], transforms)``.
    """
    color_format = color_format.upper()
    if color_format not in COLOR_FORMATS:
        raise ValueError(f"color_format {color_format!r}; valid: {', '.join(COLOR_FORMATS)}")
    if interpolation not in INTERPOLATION:
        raise ValueError(f"interpolation {interpolation!r}; valid: {', '.join(INTERPOLATION)}")
    channels = 1 if color_format == "GRAY" else 3
    count = len(images)
    resized = np.zeros((count, height, width, channels), dtype=np.uint8)
    transforms: list[Transform] = []
    flag = INTERPOLATION[interpolation]
    for index, image in enumerate(images):
        frame_h, frame_w = image.shape[:2]
        roi = rois[index] if rois is not None else None
        x0, y0, crop = 0, 0, image
        if roi is not None:
            x0, y0 = max(0, int(np.floor(roi[0]))), max(0, int(np.floor(roi[1])))
            x1, y1 = min(frame_w, int(np.ceil(roi[2]))), min(frame_h, int(np.ceil(roi[3])))
            x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
            crop = image[y0:y1, x0:x1]
        crop_h, crop_w = crop.shape[:2]
        new_w, new_h, pad_x, pad_y = fit(crop_w, crop_h, width, height, maintain_aspect_ratio, symmetric_padding)
        if color_format == "GRAY":
            crop = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        if (new_w, new_h) != (crop_w, crop_h):
            crop = cv2.resize(crop, (new_w, new_h), interpolation=flag)
        resized[index, pad_y:pad_y + new_h, pad_x:pad_x + new_w] = crop.reshape(new_h, new_w, channels)
        # The exact scale of the pixels actually written, so borders map back exactly.
        transforms.append(Transform(new_w / crop_w, new_h / crop_h, float(pad_x), float(pad_y), float(x0),
                                    float(y0), frame_w, frame_h))
    # Padding is black before normalisation, as in nvinfer. One fused pass: uint8 NHWC -> float NCHW.
    planes = resized.transpose(0, 3, 1, 2)
    if color_format == "BGR":
        planes = planes[:, ::-1]
    batch = np.empty((count, channels, height, width), dtype=np.float32)
    offsets_array = np.asarray(list(offsets)[:channels] or [0.0], dtype=np.float32)
    if np.any(offsets_array):
        np.subtract(planes, offsets_array.reshape(1, -1, 1, 1), out=batch, dtype=np.float32)
        batch *= np.float32(net_scale_factor)
    else:
        np.multiply(planes, np.float32(net_scale_factor), out=batch, dtype=np.float32)
    return (batch.astype(np.float16) if dtype == "float16" else batch), transforms
