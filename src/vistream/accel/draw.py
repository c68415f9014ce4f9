"""CPU drawing for ``osd``: boxes, labels, track trails, display meta and privacy masking.

Everything draws in place on an HxWx3 uint8 RGB array with OpenCV; boxes, trails and shapes of
one colour go to OpenCV in one call. :func:`draw_frame` is the single entry point ``osd`` uses,
so a GPU version (same signature, torch tensors) can sit beside it.

Example:
    >>> import numpy as np
    >>> from vistream.accel.draw import DrawStyle, class_color, draw_frame
    >>> from vistream.core.meta import Objects
    >>> image = np.zeros((60, 80, 3), np.uint8)
    >>> objects = Objects.from_arrays([[10, 10, 40, 50]], class_id=[1], labels=["car"])
    >>> _ = draw_frame(image, objects, [], DrawStyle(show_labels=False, border_width=1))
    >>> tuple(image[10, 20]) == class_color(1), int(image[30, 25].sum())
    (True, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vistream.core.errors import ConfigError
from vistream.core.meta import DisplayMeta, Objects

Color = tuple[int, int, int]
PRIVACY_MODES = ("blur", "pixelate", "fill")

# Distinct, saturated RGB colours; class ids and track ids index into it.
PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255),
    (170, 110, 40), (255, 250, 200), (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180),
    (0, 0, 128), (128, 128, 128),
], dtype=np.uint8)


def class_color(class_id: int) -> Color:
    """The palette colour of a class (or track) id, as an RGB tuple."""
    r, g, b = PALETTE[int(class_id) % len(PALETTE)]
    return int(r), int(g), int(b)


@dataclass
class DrawStyle:
    """What ``osd`` draws and how.

    ``colors`` overrides the palette per class id; ``privacy_classes`` lists class ids whose boxes
    are blurred / pixelated / filled (``privacy_mode``) instead of drawn.
    """

    border_width: int = 2
    font_scale: float = 0.5
    show_boxes: bool = True
    show_labels: bool = True
    show_confidence: bool = True
    show_track_id: bool = True
    text_color: Color = (255, 255, 255)
    text_background: bool = True
    colors: dict[int, Color] = field(default_factory=dict)
    privacy_classes: Sequence[int] = ()
    privacy_mode: str = "blur"
    privacy_strength: int = 16
    trail_thickness: int = 2

    def __post_init__(self) -> None:
        if self.privacy_mode not in PRIVACY_MODES:
            raise ConfigError(f"privacy mode '{self.privacy_mode}' is not valid; valid: {', '.join(PRIVACY_MODES)}")
        if self.border_width < 1:
            raise ConfigError(f"border width must be >= 1, got {self.border_width}")

    def colors_for(self, class_ids: np.ndarray) -> np.ndarray:
        """[N, 3] uint8 colours for an array of class ids (palette, then overrides)."""
        colors = PALETTE[np.asarray(class_ids, dtype=np.int64) % len(PALETTE)].copy()
        for class_id, color in self.colors.items():
            colors[np.asarray(class_ids) == class_id] = color
        return colors


def _group_by_color(colors: np.ndarray) -> list[tuple[Color, np.ndarray]]:
    """(colour, row indices) for each distinct colour in an [N, 3] array."""
    if len(colors) == 0:
        return []
    packed = colors.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], np.int32)
    if (packed == packed[0]).all():  # common case: one colour
        return [(_rgb(colors[0].tolist()), np.arange(len(colors)))]
    order = np.argsort(packed, kind="stable")
    keys, starts = np.unique(packed[order], return_index=True)
    groups = np.split(order, starts[1:])
    return [((int(k) >> 16, (int(k) >> 8) & 255, int(k) & 255), rows) for k, rows in zip(keys, groups, strict=True)]


def box_corners(xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """[N, 4, 2] int32 rectangle corners, rounded and clipped to the image."""
    boxes = np.rint(np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)).clip(0, [width - 1, height - 1] * 2)
    return boxes[:, [0, 1, 2, 1, 2, 3, 0, 3]].astype(np.int32).reshape(-1, 4, 2)


def draw_boxes(image: np.ndarray, xyxy: np.ndarray, colors: np.ndarray, thickness: int = 2) -> np.ndarray:
    """Draw rectangle outlines; one OpenCV call per distinct colour."""
    corners = box_corners(xyxy, image.shape[1], image.shape[0])
    for color, rows in _group_by_color(colors):
        cv2.polylines(image, list(corners[rows]), True, color, thickness, cv2.LINE_8)
    return image


def object_label_texts(objects: Objects, style: DrawStyle) -> list[str]:
    """Label text per object: class name (or id), confidence, track id, as the style asks."""
    confidence = objects.confidence.tolist()
    object_id = objects.object_id.tolist()
    class_id = objects.class_id.tolist()
    texts = []
    for i, label in enumerate(objects.labels):
        parts = []
        if style.show_labels:
            parts.append(label or str(class_id[i]))
        if style.show_confidence:
            parts.append(f"{confidence[i]:.2f}")
        if style.show_track_id and object_id[i] >= 0:
            parts.append(f"#{object_id[i]}")
        texts.append(" ".join(parts))
    return texts


def draw_labels(image: np.ndarray, anchors: np.ndarray, texts: Sequence[str], colors: np.ndarray,
                style: DrawStyle) -> np.ndarray:
    """Text above each anchor (box top-left) on a filled background of the object's colour."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    text_thickness = max(1, round(style.font_scale * 2))
    height, width = image.shape[:2]
    origins = []
    backgrounds = []
    for (x, y), text in zip(np.rint(anchors).astype(np.int32).tolist(), texts, strict=True):
        if not text:
            origins.append(None)
            backgrounds.append(None)
            continue
        (tw, th), base = cv2.getTextSize(text, font, style.font_scale, text_thickness)
        x = min(max(x, 0), max(width - tw - 2, 0))
        top = y - th - base - 2
        if top < 0:  # no room above the box: put the label inside it
            top = max(y, 0)
        origins.append((x + 1, top + th + 1))
        backgrounds.append(np.array([[x, top], [x + tw + 2, top], [x + tw + 2, top + th + base + 2],
                                     [x, top + th + base + 2]], np.int32))
    if style.text_background:
        for color, rows in _group_by_color(colors):
            polys = [backgrounds[i] for i in rows if backgrounds[i] is not None]
            if polys:
                cv2.fillPoly(image, polys, color)
    # dark text on light label backgrounds (yellow, cyan ...) so it stays readable
    light = (colors.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)) > 160
    for origin, text, on_light in zip(origins, texts, light.tolist(), strict=True):
        if origin is not None:
            color = (0, 0, 0) if on_light and style.text_background else style.text_color
            cv2.putText(image, text, origin, font, style.font_scale, color, text_thickness, cv2.LINE_AA)
    return image


def apply_privacy(image: np.ndarray, xyxy: np.ndarray, mode: str = "blur", strength: int = 16) -> np.ndarray:
    """Blur, pixelate or fill the given boxes in place; pixels outside them are untouched."""
    corners = box_corners(xyxy, image.shape[1], image.shape[0])
    for (x1, y1), _, (x2, y2), _ in corners.tolist():
        region = image[y1:y2 + 1, x1:x2 + 1]
        if region.size == 0:
            continue
        if mode == "fill":
            region[:] = 0
        elif mode == "pixelate":
            h, w = region.shape[:2]
            small = cv2.resize(region, (max(1, w // strength), max(1, h // strength)), interpolation=cv2.INTER_AREA)
            region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        else:
            kernel = max(3, (min(region.shape[:2]) // 2) | 1, strength | 1)
            region[:] = cv2.blur(region, (kernel, kernel))
    return image


def draw_trails(image: np.ndarray, trails: Sequence[tuple[int, np.ndarray]], thickness: int = 2) -> np.ndarray:
    """Polylines through each track's recent points; colour follows the track id."""
    usable = [(track_id, np.rint(points).astype(np.int32)) for track_id, points in trails if len(points) > 1]
    if not usable:
        return image
    colors = PALETTE[np.array([track_id for track_id, _ in usable]) % len(PALETTE)]
    for color, rows in _group_by_color(colors):
        cv2.polylines(image, [usable[i][1] for i in rows], False, color, thickness, cv2.LINE_AA)
    return image


def draw_display(image: np.ndarray, displays: Sequence[DisplayMeta], font_scale: float = 0.5) -> np.ndarray:
    """Draw :class:`DisplayMeta` lines, polygons, rectangles and texts (analytics zones and lines)."""
    for display in displays:
        for (x1, y1), (x2, y2), color, thickness in display.lines:
            cv2.line(image, (round(x1), round(y1)), (round(x2), round(y2)), _rgb(color), int(thickness), cv2.LINE_AA)
        for points, color, thickness in display.polygons:
            pts = np.rint(np.asarray(points, dtype=np.float32)).astype(np.int32).reshape(-1, 2)
            cv2.polylines(image, [pts], True, _rgb(color), int(thickness), cv2.LINE_AA)
        for (x1, y1, x2, y2), color, thickness in display.rects:
            cv2.rectangle(image, (round(x1), round(y1)), (round(x2), round(y2)), _rgb(color), int(thickness))
        for (x, y), text, color in display.texts:
            cv2.putText(image, str(text), (round(x), round(y)), cv2.FONT_HERSHEY_SIMPLEX, font_scale,
                        _rgb(color), max(1, round(font_scale * 2)), cv2.LINE_AA)
    return image


def _rgb(color: Sequence[int]) -> Color:
    r, g, b = (int(v) for v in color[:3])
    return r, g, b


def draw_frame(image: np.ndarray, objects: Objects, displays: Sequence[DisplayMeta], style: DrawStyle,
               trails: Sequence[tuple[int, np.ndarray]] = ()) -> np.ndarray:
    """Draw everything ``osd`` draws on one RGB image, in place; returns the image.

    Order: privacy masking first (so nothing else is blurred), then display meta, trails, boxes and
    labels on top.
    """
    private = np.zeros(len(objects), dtype=bool)
    if len(objects) and len(style.privacy_classes):
        private = np.isin(objects.class_id, np.asarray(style.privacy_classes, dtype=np.int32))
        apply_privacy(image, objects.xyxy[private], style.privacy_mode, style.privacy_strength)
    if displays:
        draw_display(image, displays, style.font_scale)
    if trails:
        draw_trails(image, trails, style.trail_thickness)
    shown = objects.select(~private) if private.any() else objects
    if len(shown) == 0:
        return image
    colors = style.colors_for(shown.class_id)
    if style.show_boxes:
        draw_boxes(image, shown.xyxy, colors, style.border_width)
    if style.show_labels or style.show_confidence or style.show_track_id:
        draw_labels(image, shown.xyxy[:, :2], object_label_texts(shown, style), colors, style)
    return image
