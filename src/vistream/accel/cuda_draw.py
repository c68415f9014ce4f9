"""GPU drawing for ``osd`` on frames that stay in GPU memory (torch): NV12 ``[H*3/2, W]`` or RGB ``[3, H, W]``.

Box outlines and privacy masks are slice writes on the frame's planes (for NV12: luma at full
resolution, chroma at half), so no frame crosses the bus. Label texts are rendered on the host
into small patches (OpenCV's fonts) that are uploaded and pasted: a few kilobytes per label.
Display meta and trails, rare and free-form, are drawn on a host copy of the frame that is
copied back. The same :class:`~vistream.accel.draw.DrawStyle` drives the CPU and GPU drawing.

Example:
    >>> import torch
    >>> from vistream.core.meta import Objects
    >>> frame = torch.zeros(3, 40, 60, dtype=torch.uint8)
    >>> objects = Objects.from_arrays([[10, 10, 30, 30]], [0.9], [0])
    >>> _ = draw_frame(frame, objects, [], DrawStyle(show_labels=False, show_confidence=False, show_track_id=False))
    >>> int(frame[:, 10, 20].sum() > 0), int(frame[:, 20, 20].sum())
    (1, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from vistream.accel.draw import DrawStyle, box_corners, draw_display, draw_trails, object_label_texts
from vistream.core.meta import DisplayMeta, Objects

__all__ = ["DrawStyle", "draw_frame", "draw_boxes", "pixelate"]


def rgb_to_yuv(color: Sequence[int]) -> tuple[int, int, int]:
    """BT.601 limited-range Y, U, V of an RGB colour (what NVDEC frames hold)."""
    r, g, b = (float(c) for c in color[:3])
    y = 16 + 0.256788 * r + 0.504129 * g + 0.097906 * b
    u = 128 - 0.148223 * r - 0.290993 * g + 0.439216 * b
    v = 128 + 0.439216 * r - 0.367788 * g - 0.071427 * b
    return round(y), round(u), round(v)


def _planes(image: Any) -> list[tuple[Any, int, int]]:
    """(plane [h, w] view, subsampling, colour channel) of an NV12 or RGB CHW tensor; channel 0..2 of RGB or YUV."""
    if image.ndim == 3:
        return [(image[c], 1, c) for c in range(3)]
    height = image.shape[0] * 2 // 3
    uv = image[height:].view(height // 2, image.shape[1] // 2, 2)
    return [(image[:height], 1, 0), (uv[..., 0], 2, 1), (uv[..., 1], 2, 2)]


def _color_values(image: Any, color: Sequence[int]) -> tuple[int, int, int]:
    return tuple(int(c) for c in color[:3]) if image.ndim == 3 else rgb_to_yuv(color)


def _fill(image: Any, x0: int, y0: int, x1: int, y1: int, color: Sequence[int]) -> None:
    values = _color_values(image, color)
    for plane, sub, channel in _planes(image):
        a, b = x0 // sub, y0 // sub
        c, d = max(a + 1, -(-x1 // sub)), max(b + 1, -(-y1 // sub))
        plane[b:d, a:c] = values[channel]


def draw_boxes(image: Any, xyxy: np.ndarray, colors: np.ndarray, thickness: int = 2) -> Any:
    """Rectangle outlines (the CPU path's corners and thickness) written into the planes."""
    height, width = _size(image)
    half = max(thickness, 1) // 2
    for corners, color in zip(box_corners(xyxy, width, height), colors, strict=True):
        (x0, y0), (x1, _), (_, y1) = corners[0], corners[1], corners[2]
        lo_x, hi_x = max(x0 - half, 0), min(x1 + thickness - half, width)
        lo_y, hi_y = max(y0 - half, 0), min(y1 + thickness - half, height)
        _fill(image, lo_x, lo_y, hi_x, min(y0 + thickness - half, height), color)  # top
        _fill(image, lo_x, max(y1 - half, 0), hi_x, hi_y, color)  # bottom
        _fill(image, lo_x, lo_y, min(x0 + thickness - half, width), hi_y, color)  # left
        _fill(image, max(x1 - half, 0), lo_y, hi_x, hi_y, color)  # right
    return image


def pixelate(image: Any, xyxy: np.ndarray, strength: int = 16, fill: bool = False) -> Any:
    """Hide regions: coarse blocks of ``strength`` pixels (or a black fill)."""
    import torch.nn.functional as F

    height, width = _size(image)
    for x0, y0, x1, y1 in np.rint(np.asarray(xyxy, np.float32).reshape(-1, 4)).astype(int).tolist():
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        if fill:
            _fill(image, x0, y0, x1, y1, (0, 0, 0))
            continue
        for plane, sub, _ in _planes(image):
            region = plane[y0 // sub:-(-y1 // sub), x0 // sub:-(-x1 // sub)]
            h, w = region.shape
            small = F.interpolate(region[None, None].float(), size=(max(1, h // strength), max(1, w // strength)),
                                  mode="area")
            region.copy_(F.interpolate(small, size=(h, w), mode="nearest")[0, 0].round().to(region.dtype))
    return image


def _size(image: Any) -> tuple[int, int]:
    from vistream.accel.cuda_preprocess import frame_size

    return frame_size(image)


def _paste_label(image: Any, x: int, y: int, text: str, color: Sequence[int], style: DrawStyle) -> None:
    """Render one label on the host (a small patch) and paste it; NV12 patches are converted first."""
    import torch

    from vistream.accel.cuda_preprocess import rgb_to_nv12

    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, round(style.font_scale * 2))
    (tw, th), base = cv2.getTextSize(text, font, style.font_scale, thickness)
    ph, pw = th + base + 2, tw + 2
    ph, pw = ph + ph % 2, pw + pw % 2  # even, for NV12
    height, width = _size(image)
    x = min(max(x, 0), max(width - pw, 0)) // 2 * 2
    top = y - ph if y - ph >= 0 else max(min(y, height - ph), 0)
    top = top // 2 * 2
    ph, pw = min(ph, height - top), min(pw, width - x)
    if ph <= 0 or pw <= 0:
        return
    background = tuple(int(c) for c in color[:3]) if style.text_background else (0, 0, 0)
    patch = np.empty((ph, pw, 3), np.uint8)
    patch[:] = background
    light = (0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]) > 160
    ink = (0, 0, 0) if light and style.text_background else style.text_color
    cv2.putText(patch, text, (1, th + 1), font, style.font_scale, ink, thickness, cv2.LINE_AA)
    if image.ndim == 3:
        image[:, top:top + ph, x:x + pw] = torch.from_numpy(patch).permute(2, 0, 1).to(image.device)
        return
    nv12 = rgb_to_nv12(patch[: ph // 2 * 2, : pw // 2 * 2]).to(image.device)
    ph, pw = ph // 2 * 2, pw // 2 * 2
    frame_h = image.shape[0] * 2 // 3
    image[top:top + ph, x:x + pw] = nv12[:ph]
    image[frame_h + top // 2:frame_h + top // 2 + ph // 2, x:x + pw] = nv12[ph:]


def _host_round_trip(image: Any, displays: Sequence[DisplayMeta], trails: Sequence[tuple[int, np.ndarray]],
                     style: DrawStyle) -> None:
    import torch

    from vistream.accel.cuda_preprocess import rgb_to_nv12
    from vistream.elements.videoconvert import to_host_rgb

    host = to_host_rgb(image)
    if displays:
        draw_display(host, displays, style.font_scale)
    if trails:
        draw_trails(host, trails, style.trail_thickness)
    if image.ndim == 3:
        image.copy_(torch.from_numpy(host).permute(2, 0, 1))
    else:
        image.copy_(rgb_to_nv12(host))


def draw_frame(image: Any, objects: Objects, displays: Sequence[DisplayMeta], style: DrawStyle,
               trails: Sequence[tuple[int, np.ndarray]] = ()) -> Any:
    """Draw what ``osd`` draws on a GPU frame, in place (same order as the CPU :func:`draw_frame`)."""
    private = np.zeros(len(objects), dtype=bool)
    if len(objects) and len(style.privacy_classes):
        private = np.isin(objects.class_id, np.asarray(style.privacy_classes, dtype=np.int32))
        pixelate(image, objects.xyxy[private], style.privacy_strength, fill=style.privacy_mode == "fill")
    if displays or trails:
        _host_round_trip(image, displays, trails, style)
    shown = objects.select(~private) if private.any() else objects
    if len(shown) == 0:
        return image
    colors = style.colors_for(shown.class_id)
    if style.show_boxes:
        draw_boxes(image, shown.xyxy, colors, style.border_width)
    if style.show_labels or style.show_confidence or style.show_track_id:
        for (x, y), text, color in zip(np.rint(shown.xyxy[:, :2]).astype(int).tolist(),
                                       object_label_texts(shown, style), colors, strict=True):
            if text:
                _paste_label(image, x, y, text, color, style)
    return image
