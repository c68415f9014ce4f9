"""Frames and batches: the data that flows between elements.

Example:
    >>> import numpy as np
    >>> from vistream.core.buffer import Batch, Frame
    >>> frame = Frame.from_image(np.zeros((4, 6, 3), np.uint8), source_id=1, frame_num=0)
    >>> batch = Batch([frame])
    >>> (len(batch), batch.frames[0].width, batch.meta.frames[0].source_id)
    (1, 6, 1)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vistream.core.meta import BatchMeta, FrameMeta


@dataclass
class Frame:
    """One video frame and its metadata.

    ``image`` is a ``numpy.ndarray`` HxWx3 uint8 RGB on the CPU, or a ``torch.Tensor`` on a CUDA
    device (``memory == "cuda"``: NV12 [H*3/2, W] or RGB [3, H, W]).
    """

    image: Any
    meta: FrameMeta
    memory: str = "cpu"
    fps: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_image(
        cls,
        image: Any,
        source_id: int = 0,
        frame_num: int = 0,
        pts: int = 0,
        ingest_ns: int | None = None,
        fps: float = 0.0,
        memory: str = "cpu",
        source_name: str = "",
    ) -> Frame:
        """Wrap an image with fresh metadata (``ingest_ns`` defaults to now)."""
        height, width = image_size(image, memory)
        meta = FrameMeta(
            source_id=source_id,
            frame_num=frame_num,
            pts=pts,
            ingest_ns=time.time_ns() if ingest_ns is None else ingest_ns,
            width=width,
            height=height,
            source_name=source_name,
        )
        return cls(image=image, meta=meta, memory=memory, fps=fps)

    @property
    def source_id(self) -> int:
        return self.meta.source_id

    @property
    def frame_num(self) -> int:
        return self.meta.frame_num

    @property
    def pts(self) -> int:
        return self.meta.pts

    @property
    def ingest_ns(self) -> int:
        return self.meta.ingest_ns

    @property
    def width(self) -> int:
        return self.meta.width

    @property
    def height(self) -> int:
        return self.meta.height

    def set_image(self, image: Any, memory: str | None = None) -> None:
        """Replace the pixels (keeps metadata; width / height follow the new image)."""
        self.memory = memory or self.memory
        self.image = image
        self.meta.height, self.meta.width = image_size(image, self.memory)


def image_size(image: Any, memory: str = "cpu") -> tuple[int, int]:
    """(height, width) of a CPU HxWx3 array, a CUDA RGB 3xHxW tensor or an NV12 [H*3/2, W] tensor."""
    shape = tuple(image.shape)
    if memory == "cpu" or len(shape) == 3 and shape[-1] in (3, 4):
        return int(shape[0]), int(shape[1])
    if len(shape) == 3:  # CHW
        return int(shape[1]), int(shape[2])
    return int(shape[0] * 2 // 3), int(shape[1])  # NV12


@dataclass
class Batch:
    """The frames of one batch (from one or many sources) and their :class:`BatchMeta`.

    ``tensor`` may hold a batched tensor prepared by ``streammux`` or ``preprocess``.
    """

    frames: list[Frame]
    meta: BatchMeta = field(default_factory=BatchMeta)
    tensor: Any = None
    created_ns: int = field(default_factory=time.monotonic_ns)

    def __post_init__(self) -> None:
        if not self.meta.frames:
            self.meta.frames = [frame.meta for frame in self.frames]

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[Frame]:
        return iter(self.frames)

    @property
    def source_ids(self) -> list[int]:
        return [frame.source_id for frame in self.frames]

    def select(self, keep: list[int]) -> Batch:
        """A batch of the frames at the given positions (shares frames and frame metadata)."""
        frames = [self.frames[i] for i in keep]
        return Batch(frames, BatchMeta([f.meta for f in frames], list(self.meta.user)))
