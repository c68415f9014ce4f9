"""``testsrc``: synthetic frames (patterns) and a scene mode with moving objects and exact ground truth.

Example:
    >>> import vistream
    >>> p = vistream.parse_launch("testsrc pattern=scene num-objects=2 num-buffers=2 ! appsink name=out")
    >>> _ = p.run(timeout=10)
    >>> truth = p["out"].batches[0].frames[0].meta.user_meta("ground-truth")[0]
    >>> len(truth)
    2
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from vistream.core.buffer import Frame
from vistream.core.element import Source
from vistream.core.properties import Property
from vistream.core.registry import register_element
from vistream.media.scene import Scene

PATTERNS = ("smpte", "ball", "black", "white", "noise", "gradient", "scene")


@register_element("testsrc")
class TestSource(Source):
    """Synthetic frames: colour bars, a moving ball, noise, or a scene with ground-truth objects."""

    __test__ = False  # not a pytest test class

    pattern = Property(str, "smpte", "What to draw", choices=PATTERNS)
    width = Property(int, 640, "Frame width", minimum=16, maximum=8192)
    height = Property(int, 480, "Frame height", minimum=16, maximum=8192)
    framerate = Property(float, 30.0, "Frames per second (also the pace when live)", minimum=0.1)
    num_buffers = Property(int, 100, "Frames to produce (-1: forever)", minimum=-1)
    num_objects = Property(int, 5, "Objects in scene mode", minimum=0)
    seed = Property(int, 0, "Random seed for noise and scene mode")

    def __init__(self, name: str | None = None, **properties: Any) -> None:
        super().__init__(name, **properties)
        self.scene: Scene | None = None

    def start(self) -> None:
        if self.pattern == "scene" and self.scene is None:
            self.scene = Scene.random(self.width, self.height, self.num_objects, seed=self.seed)

    def generate(self) -> Iterator[Frame]:
        rng = np.random.default_rng(self.seed)
        period = 1.0 / self.framerate
        started = time.monotonic()
        frame_num = 0
        base = self._base_image()
        while self.num_buffers < 0 or frame_num < self.num_buffers:
            if self.live:
                delay = started + frame_num * period - time.monotonic()
                if delay > 0 and self.wait(delay):
                    return
            truth = None
            if self.pattern == "scene":
                assert self.scene is not None
                image, truth = self.scene.render(frame_num)
            elif self.pattern == "noise":
                image = rng.integers(0, 256, size=(self.height, self.width, 3), dtype=np.uint8)
            elif self.pattern == "ball":
                image = base.copy()
                cx = int((frame_num * 7) % self.width)
                cy = int(self.height / 2 + self.height / 4 * np.sin(frame_num / 10))
                r = max(4, self.height // 16)
                image[max(cy - r, 0):cy + r, max(cx - r, 0):cx + r] = 255
            else:
                image = base.copy()
            frame = Frame.from_image(
                image, frame_num=frame_num, pts=int(frame_num * period * 1e9), fps=self.framerate,
                source_name=self.name,
            )
            if truth is not None:
                frame.meta.add_user_meta("ground-truth", truth)
            yield frame
            frame_num += 1

    def _base_image(self) -> np.ndarray:
        h, w = self.height, self.width
        if self.pattern == "white":
            return np.full((h, w, 3), 255, np.uint8)
        if self.pattern in ("black", "ball"):
            return np.zeros((h, w, 3), np.uint8)
        if self.pattern == "gradient":
            ramp = np.linspace(0, 255, w, dtype=np.uint8)
            return np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2)
        bars = np.array([[192, 192, 192], [192, 192, 0], [0, 192, 192], [0, 192, 0],
                         [192, 0, 192], [192, 0, 0], [0, 0, 192]], np.uint8)
        columns = (np.arange(w) * len(bars) // w)
        return np.repeat(bars[columns][None], h, axis=0)
