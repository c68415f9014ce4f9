"""GPU pre-processing for inference (torch): NV12 / RGB frames -> one normalised NCHW batch.

Same signature and semantics as :func:`vistream.accel.preprocess.preprocess_batch` (nvinfer's
``y = net_scale_factor * (x - offsets)``, letterbox with black padding, ROI crops, colour order),
for frames that are ``torch`` tensors: NV12 ``[H*3/2, W]`` (NVDEC), RGB ``[3, H, W]`` or
``[H, W, 3]``, uint8, on any device (CUDA in production; the CPU in tests).

Frames of one size without ROIs take the batched path: the Y and interleaved UV planes are
resized separately (resizing and the YUV->RGB matrix are both linear, so they commute) and the
colour matrix, clamping, normalisation and channel order run as one fused expression, writing into
the letterboxed output. ROI crops (secondary inference) use one ``grid_sample`` per frame for all
of its objects. Colour conversion is BT.601 limited range, what FFmpeg / OpenCV use by default.

Example:
    >>> import torch
    >>> nv12 = torch.full((6, 4), 128, dtype=torch.uint8); nv12[:4] = 235  # white 4x4 frame
    >>> batch, transforms = preprocess_batch([nv12], 8, 8, net_scale_factor=1 / 255,
    ...                                      maintain_aspect_ratio=True)
    >>> tuple(batch.shape), round(float(batch[0, 0, 0, 0]), 2), transforms[0].scale_x
    ((1, 3, 8, 8), 1.0, 2.0)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from vistream.accel.preprocess import COLOR_FORMATS, Transform, fit

#: torch interpolation modes for the CPU path's names (``area`` / ``lanczos`` fall back to bilinear)
MODES = {"nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic", "area": "bilinear", "lanczos": "bicubic"}

# BT.601 limited range, as rows R, G, B over (Y - 16, U - 128, V - 128)
_YUV_TO_RGB = ((1.164383, 0.0, 1.596027), (1.164383, -0.391762, -0.812968), (1.164383, 2.017232, 0.0))
_GRAY = (0.299, 0.587, 0.114)


@functools.lru_cache(maxsize=256)
def constant(values: Any, dtype: Any, device: Any, shape: tuple[int, ...] = (-1,)) -> Any:
    """A small constant tensor on ``device``, made once and reused (``values`` a tuple).

    Creating it per batch costs a host->device copy and a wait for the stream (and such a copy
    cannot be captured in a CUDA graph), while the values never change.
    """
    import torch

    return torch.tensor(values, dtype=dtype, device=device).view(shape)


def image_layout(image: Any) -> str:
    """``nv12``, ``chw`` or ``hwc`` from a uint8 tensor's shape."""
    if image.ndim == 2:
        return "nv12"
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        return "chw"
    if image.ndim == 3 and image.shape[-1] == 3:
        return "hwc"
    raise ValueError(f"frame tensor of shape {tuple(image.shape)}: expected NV12 [H*3/2, W], RGB [3, H, W] or [H, W, 3]")


def frame_size(image: Any) -> tuple[int, int]:
    """(height, width) of a frame tensor in any supported layout."""
    layout = image_layout(image)
    if layout == "nv12":
        return int(image.shape[0]) * 2 // 3, int(image.shape[1])
    if layout == "chw":
        return int(image.shape[1]), int(image.shape[2])
    return int(image.shape[0]), int(image.shape[1])


def to_rgb(images: Any, layout: str, work_dtype: Any) -> Any:
    """A stacked batch ``[B, ...]`` of one layout -> float RGB ``[B, 3, H, W]`` in 0..255 (unclamped for NV12)."""
    import torch

    if layout == "chw":
        return images.to(work_dtype)
    if layout == "hwc":
        return images.permute(0, 3, 1, 2).to(work_dtype)
    height = images.shape[1] * 2 // 3
    y = images[:, :height].unsqueeze(1).to(work_dtype)
    uv = images[:, height:].reshape(images.shape[0], height // 2, -1, 2).permute(0, 3, 1, 2).to(work_dtype)
    uv = torch.nn.functional.interpolate(uv, size=y.shape[-2:], mode="nearest")
    return yuv_to_rgb(torch.cat([y, uv], dim=1))


def yuv_to_rgb(yuv: Any) -> Any:
    """``[B, 3, H, W]`` float Y, U, V (0..255) -> RGB (not clamped)."""
    import torch

    matrix = constant(_YUV_TO_RGB, yuv.dtype, yuv.device, (3, 3))
    offset = constant((16.0, 128.0, 128.0), yuv.dtype, yuv.device, (1, 3, 1, 1))
    return torch.einsum("ij,bjhw->bihw", matrix, yuv - offset)


def _finish(rgb: Any, color_format: str, scale: float, offsets: Any) -> Any:
    """Clamp, order channels, normalise: ``scale * (x - offsets)``."""
    rgb = rgb.clamp(0.0, 255.0)
    if color_format == "BGR":
        rgb = rgb.flip(1)
    elif color_format == "GRAY":

        weights = constant(_GRAY, rgb.dtype, rgb.device, (1, 3, 1, 1))
        rgb = (rgb * weights).sum(dim=1, keepdim=True)
    return (rgb - offsets) * scale


@functools.lru_cache(maxsize=256)
def _taps(source: int, target: int, device: Any, dtype: Any) -> tuple[Any, Any, Any]:
    """Bilinear source indices and weights along one axis (half-pixel centres, as F.interpolate);
    made once per sizes, device and type."""
    import torch

    position = ((torch.arange(target, device=device, dtype=torch.float32) + 0.5) * (source / target) - 0.5).clamp(min=0)
    first = position.floor().long().clamp(max=source - 1)
    return first, (first + 1).clamp(max=source - 1), (position - first).to(dtype)


def resize_bilinear_u8(plane: Any, new_h: int, new_w: int, dtype: Any) -> Any:
    """Separable bilinear resize of a uint8 ``[B, C, H, W]`` plane, reading only the rows and columns
    it needs (the frames are large, the network input small); equals ``F.interpolate(bilinear)``."""
    rows0, rows1, wy = _taps(plane.shape[2], new_h, plane.device, dtype)
    top, bottom = plane.index_select(2, rows0).to(dtype), plane.index_select(2, rows1).to(dtype)
    rows = top + (bottom - top) * wy.view(1, 1, -1, 1)
    cols0, cols1, wx = _taps(plane.shape[3], new_w, plane.device, dtype)
    left, right = rows.index_select(3, cols0), rows.index_select(3, cols1)
    return left + (right - left) * wx.view(1, 1, 1, -1)


def _resize_nv12(images: Any, new_h: int, new_w: int, mode: str, work_dtype: Any) -> Any:
    """Resize the Y and UV planes of stacked NV12 frames to ``new_h x new_w``, then YUV -> RGB."""
    import torch
    import torch.nn.functional as F

    height = images.shape[1] * 2 // 3
    y = images[:, :height].unsqueeze(1)
    uv = images[:, height:].reshape(images.shape[0], height // 2, -1, 2).permute(0, 3, 1, 2)
    if mode == "bilinear":
        y, uv = resize_bilinear_u8(y, new_h, new_w, work_dtype), resize_bilinear_u8(uv, new_h, new_w, work_dtype)
    else:
        align = None if mode == "nearest" else False
        y = F.interpolate(y.to(work_dtype), size=(new_h, new_w), mode=mode, align_corners=align)
        uv = F.interpolate(uv.to(work_dtype), size=(new_h, new_w), mode=mode, align_corners=align)
    return yuv_to_rgb(torch.cat([y, uv], dim=1))


def preprocess_batch(
    images: Sequence[Any],
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
) -> tuple[Any, list[Transform]]:
    """Turn frame tensors into one NCHW network batch on their device, and per-image transforms.

    Args: as :func:`vistream.accel.preprocess.preprocess_batch`; ``images`` are uint8 torch tensors
    (NV12 ``[H*3/2, W]``, ``[3, H, W]`` or ``[H, W, 3]`` RGB), all on one device (NumPy ``HxWx3``
    arrays are taken as CPU tensors).

    Returns:
        ``(batch [N, C, height, width] torch tensor of dtype, transforms)``.
    """
    import torch
    import torch.nn.functional as F

    color_format = color_format.upper()
    if color_format not in COLOR_FORMATS:
        raise ValueError(f"color_format {color_format!r}; valid: {', '.join(COLOR_FORMATS)}")
    if interpolation not in MODES:
        raise ValueError(f"interpolation {interpolation!r}; valid: {', '.join(MODES)}")
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype {dtype!r}; valid: float32, float16")
    if not images:
        raise ValueError("preprocess_batch needs at least one image")
    images = [torch.from_numpy(image) if not isinstance(image, torch.Tensor) else image for image in images]
    devices = {image.device for image in images}
    if len(devices) > 1:  # frames decoded on several GPUs: pre-process each group where it lies
        return _per_device(images, width, height, dict(net_scale_factor=net_scale_factor, offsets=offsets,
                           color_format=color_format, maintain_aspect_ratio=maintain_aspect_ratio,
                           symmetric_padding=symmetric_padding, interpolation=interpolation, dtype=dtype), rois)
    device = images[0].device
    out_dtype = torch.float16 if dtype == "float16" else torch.float32
    # fp16 arithmetic on the GPU (exact enough for 8-bit pixels); float32 on the CPU
    work_dtype = out_dtype if device.type == "cuda" else torch.float32
    mode = MODES[interpolation]
    channels = 1 if color_format == "GRAY" else 3
    offsets_t = constant(tuple(float(v) for v in list(offsets)[:channels]) or (0.0,), work_dtype, device, (1, -1, 1, 1))
    if offsets_t.shape[1] != channels:
        offsets_t = offsets_t[:, :1].expand(1, channels, 1, 1)
    count = len(images)
    # Black padding before normalisation, as in nvinfer and the CPU path.
    out = torch.empty((count, channels, height, width), dtype=out_dtype, device=device)

    def pad() -> None:  # the value of black after normalisation, everywhere (the image is written over it)
        out.copy_((-offsets_t * net_scale_factor).to(out_dtype).expand_as(out))

    sizes = [frame_size(image) for image in images]
    layouts = [image_layout(image) for image in images]
    uniform = (rois is None or all(r is None for r in rois)) and len(set(sizes)) == 1 and len(set(layouts)) == 1
    transforms: list[Transform] = []
    if uniform:
        frame_h, frame_w = sizes[0]
        new_w, new_h, pad_x, pad_y = fit(frame_w, frame_h, width, height, maintain_aspect_ratio, symmetric_padding)
        stacked = torch.stack(list(images))
        if layouts[0] == "nv12":
            rgb = _resize_nv12(stacked, new_h, new_w, mode, work_dtype)
        else:
            rgb = to_rgb(stacked, layouts[0], work_dtype)
            if (new_h, new_w) != (frame_h, frame_w):
                rgb = F.interpolate(rgb, size=(new_h, new_w), mode=mode, align_corners=None if mode == "nearest" else False)
        if (new_h, new_w) != (height, width):  # letterbox bars
            pad()
        out[:, :, pad_y:pad_y + new_h, pad_x:pad_x + new_w] = _finish(rgb, color_format, net_scale_factor, offsets_t)
        transform = Transform(new_w / frame_w, new_h / frame_h, float(pad_x), float(pad_y), 0.0, 0.0, frame_w, frame_h)
        return out, [transform] * count

    # ROI crops / mixed sizes: one grid_sample per distinct frame for all of its crops.
    pad()
    groups: dict[int, list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(id(image), []).append(index)
    transforms_by_index: dict[int, Transform] = {}
    for indices in groups.values():
        image = images[indices[0]]
        frame_h, frame_w = sizes[indices[0]]
        source = to_rgb(image.unsqueeze(0), layouts[indices[0]], torch.float32 if mode == "bicubic" else work_dtype)
        for index in indices:
            roi = rois[index] if rois is not None else None
            x0, y0, x1, y1 = 0, 0, frame_w, frame_h
            if roi is not None:
                x0, y0 = max(0, int(float(roi[0]) // 1)), max(0, int(float(roi[1]) // 1))
                x1, y1 = min(frame_w, -int(-float(roi[2]) // 1)), min(frame_h, -int(-float(roi[3]) // 1))
                x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
            crop_w, crop_h = x1 - x0, y1 - y0
            new_w, new_h, pad_x, pad_y = fit(crop_w, crop_h, width, height, maintain_aspect_ratio, symmetric_padding)
            crop = source[:, :, y0:y1, x0:x1]
            if (new_h, new_w) != (crop_h, crop_w):
                crop = F.interpolate(crop, size=(new_h, new_w), mode=mode, align_corners=None if mode == "nearest" else False)
            finished = _finish(crop.to(work_dtype), color_format, net_scale_factor, offsets_t)
            out[index, :, pad_y:pad_y + new_h, pad_x:pad_x + new_w] = finished[0]
            transforms_by_index[index] = Transform(new_w / crop_w, new_h / crop_h, float(pad_x), float(pad_y),
                                                   float(x0), float(y0), frame_w, frame_h)
    transforms = [transforms_by_index[i] for i in range(count)]
    return out, transforms


def _per_device(images: Sequence[Any], width: int, height: int, options: dict, rois: Any) -> tuple[Any, list[Transform]]:
    """Pre-process the frames of each device separately; the small results meet on the first frame's device."""
    import torch

    groups: dict[Any, list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(image.device, []).append(index)
    target = images[0].device
    parts, transforms = [None] * len(images), [None] * len(images)
    for indices in groups.values():
        batch, group_transforms = preprocess_batch([images[i] for i in indices], width, height,
                                                   rois=[rois[i] for i in indices] if rois is not None else None, **options)
        for position, index in enumerate(indices):
            parts[index], transforms[index] = batch[position].to(target), group_transforms[position]
    return torch.stack(parts), transforms  # type: ignore[arg-type]


def rgb_to_nv12(rgb: Any) -> Any:
    """uint8 RGB ``[H, W, 3]`` (numpy or torch, CPU) -> NV12 ``[H*3/2, W]`` uint8 torch tensor (BT.601 limited).

    For tests and for uploading CPU frames in the layout NVDEC produces.
    """
    import numpy as np
    import torch

    array = np.asarray(rgb, dtype=np.float32)
    r, g, b = array[..., 0], array[..., 1], array[..., 2]
    y = 16 + 0.256788 * r + 0.504129 * g + 0.097906 * b
    u = 128 - 0.148223 * r - 0.290993 * g + 0.439216 * b
    v = 128 + 0.439216 * r - 0.367788 * g - 0.071427 * b
    height, width = y.shape
    u = u.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    v = v.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
    uv = np.stack([u, v], axis=-1).reshape(height // 2, width)
    nv12 = np.concatenate([y, uv], axis=0)
    return torch.from_numpy(np.clip(np.rint(nv12), 0, 255).astype(np.uint8))
