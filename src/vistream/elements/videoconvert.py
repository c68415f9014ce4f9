"""``videoconvert``: move frames between host and GPU memory, explicitly and counted.

GPU pipelines keep frames on the device (NVDEC NV12 or RGB ``[3, H, W]`` tensors); an element
that needs host pixels (a CPU encoder, JPEG snapshots, OpenCV drawing) gets them through
``videoconvert memory=cpu``, which converts NV12 to RGB on the GPU and copies once. The element
counts its copies (``host_to_device`` / ``device_to_host``) so a benchmark can report them.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch("testsrc num-buffers=2 ! videoconvert memory=cpu ! appsink name=out")
    >>> _ = p.run(timeout=10)
    >>> [f.memory for b in p["out"].batches for f in b.frames]
    ['cpu', 'cpu']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vistream.core.buffer import Batch, Frame
from vistream.core.element import ANY_SINK, Element, PadDirection, PadTemplate
from vistream.core.errors import ConfigError
from vistream.core.properties import Property
from vistream.core.registry import register_element


def to_host_rgb(image: Any) -> np.ndarray:
    """A frame tensor (NV12 ``[H*3/2, W]``, RGB ``[3, H, W]`` or ``[H, W, 3]``, any device) -> HxWx3 uint8 RGB.

    NV12 is converted to RGB where it lies (the GPU), so one copy of RGB pixels crosses the bus.
    """
    import torch

    from vistream.accel.cuda_preprocess import image_layout, to_rgb

    layout = image_layout(image)
    if layout == "hwc":
        return np.ascontiguousarray(image.cpu().numpy())
    work = torch.float16 if image.device.type == "cuda" else torch.float32
    rgb = image.unsqueeze(0) if layout == "chw" else to_rgb(image.unsqueeze(0), "nv12", work).clamp(0, 255).round()
    return rgb[0].permute(1, 2, 0).to(torch.uint8).contiguous().cpu().numpy()


def to_device_rgb(image: np.ndarray, device: Any) -> Any:
    """HxWx3 uint8 RGB (host) -> RGB ``[3, H, W]`` uint8 tensor on ``device`` (one copy)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1).contiguous()


@register_element("videoconvert")
class VideoConvert(Element):
    """Copy frames to host (``memory=cpu``: RGB numpy) or GPU (``memory=cuda``: RGB tensor) memory."""

    pad_templates = (ANY_SINK, PadTemplate("src", PadDirection.SRC, memory=("cpu", "cuda")))

    memory = Property(str, "cpu", "Where the frames go: cpu (HxWx3 RGB arrays) or cuda (RGB tensors)",
                      choices=("cpu", "cuda"))
    gpu_id = Property(int, 0, "GPU for memory=cuda", minimum=0)

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.host_to_device = 0
        self.device_to_host = 0

    def output_memory(self, input_memory: str | None) -> str:
        return self.memory

    def start(self) -> None:
        if self.memory == "cuda":
            try:
                import torch
            except ImportError:
                raise ConfigError(f"videoconvert '{self.name}': memory=cuda needs torch (pip install 'vistream[cuda]')") from None
            if not torch.cuda.is_available() or self.gpu_id >= torch.cuda.device_count():
                raise ConfigError(f"videoconvert '{self.name}': memory=cuda but GPU {self.gpu_id} is not available")
            self._device = torch.device("cuda", self.gpu_id)

    def convert(self, frame: Frame) -> Frame:
        """Move one frame's pixels (in place; metadata untouched)."""
        if frame.memory == self.memory:
            return frame
        if self.memory == "cpu":
            frame.set_image(to_host_rgb(frame.image), memory="cpu")
            self.device_to_host += 1
        else:
            frame.set_image(to_device_rgb(frame.image, self._device), memory="cuda")
            self.host_to_device += 1
        return frame

    def process(self, batch: Batch) -> Batch:
        for frame in batch.frames:
            if not frame.extra.get("tail"):
                self.convert(frame)
        return batch
