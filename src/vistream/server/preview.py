"""Preview tap: keep the latest JPEG of every source seen on a pad, for MJPEG previews.

The tap is a probe (it runs in the element's thread and never holds a batch back); encoding is
rate-limited per source so previews cost little next to the pipeline's own work.

Example:
    >>> import numpy as np
    >>> from vistream.core.buffer import Batch, Frame
    >>> tap = PreviewTap(max_fps=0)
    >>> _ = tap(Batch([Frame.from_image(np.zeros((48, 64, 3), np.uint8), source_id=2)]))
    >>> tap.latest(2)[:2]  # a JPEG starts with FF D8
    b'\\xff\\xd8'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from vistream.core.buffer import Batch


def encode_jpeg(image: np.ndarray, max_width: int = 480, quality: int = 75) -> bytes:
    """RGB (H x W x 3 uint8) to JPEG bytes, scaled down to ``max_width`` when wider.

    Example:
        >>> len(encode_jpeg(np.zeros((10, 10, 3), np.uint8))) > 100
        True
    """
    height, width = image.shape[:2]
    if width > max_width > 0:
        image = cv2.resize(image, (max_width, max(1, round(height * max_width / width))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


class PreviewTap:
    """A pad probe that keeps the latest JPEG per ``source_id`` (``max_fps`` 0: every frame)."""

    def __init__(self, max_fps: float = 5.0, max_width: int = 480, quality: int = 75) -> None:
        self.max_fps = max_fps
        self.max_width = max_width
        self.quality = quality
        self._latest: dict[int, tuple[int, bytes]] = {}
        self._encoded_at: dict[int, float] = {}
        self._cond = threading.Condition()

    def __call__(self, batch: Any) -> None:
        if not isinstance(batch, Batch):
            return None
        now = time.monotonic()
        for frame in batch.frames:
            sid = frame.source_id
            if self.max_fps > 0 and now - self._encoded_at.get(sid, -1e9) < 1.0 / self.max_fps:
                continue
            image = frame.image
            if frame.memory != "cpu":
                image = image.cpu().numpy() if hasattr(image, "cpu") else np.asarray(image)
            if image is None or getattr(image, "ndim", 0) != 3:
                continue
            data = encode_jpeg(image, self.max_width, self.quality)
            self._encoded_at[sid] = now
            with self._cond:
                version = self._latest.get(sid, (0, b""))[0] + 1
                self._latest[sid] = (version, data)
                self._cond.notify_all()
        return None

    def latest(self, source_id: int) -> bytes | None:
        """The newest JPEG of ``source_id``, or None before its first frame."""
        with self._cond:
            entry = self._latest.get(source_id)
        return entry[1] if entry else None

    def forget(self, source_id: int) -> None:
        """Drop the preview of a removed source (its index may be reused)."""
        with self._cond:
            self._latest.pop(source_id, None)
            self._encoded_at.pop(source_id, None)

    def wait_newer(self, source_id: int, version: int, timeout: float) -> tuple[int, bytes] | None:
        """Block until a JPEG newer than ``version`` exists (or ``timeout``); returns (version, jpeg)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                entry = self._latest.get(source_id)
                if entry is not None and entry[0] != version:
                    return entry
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def mjpeg(self, source_id: int, stop: threading.Event, timeout: float = 1.0) -> Iterator[bytes]:
        """``multipart/x-mixed-replace`` parts, one per new JPEG, until ``stop`` is set."""
        version = -1
        while not stop.is_set():
            entry = self.wait_newer(source_id, version, timeout)
            if entry is None:
                continue
            version, data = entry
            yield (b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + str(len(data)).encode()
                   + b"\r\n\r\n" + data + b"\r\n")
